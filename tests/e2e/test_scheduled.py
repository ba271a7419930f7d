"""The scheduler inside the running bot: warnings, reminders, expiries and reconciliation, on the test's clock.

The scheduler ticks in real time (every second) and reads the test's clock, so moving the clock on makes work due
and the test sees it posted within a tick or two, without sleeping through minutes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Runtime
from handlers import scheduled
from sandbox.world import Sims
from services import markers
from tests.conftest import ANN, BOB, CHANNEL, MIROTALK_ALL_ON, Harness, sandbox_settings, start_bot
from tests.messages import actions_of, text_of

#: A due job is posted within this many real seconds (the issue asks for 5).
WITHIN_S = 5.0


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    """Every test here runs on SQLite and on PostgreSQL."""
    return {"DATABASE_URL": database_url}


async def meeting(bot: Harness, text: str, *, user: str = ANN) -> None:
    assert (await bot.command(text, command="/meeting", user=user)).status == 200


def replies(bot: Harness, ts: str) -> list[dict[str, Any]]:
    return [p for p in bot.slack.posted(CHANNEL) if p.get("thread_ts") == ts]


async def runs_finished(bot: Harness) -> None:
    """Every claimed job recorded done. The test's clock jumps minutes at once: moved on while a run is still
    recording its job done, it would outrun that job's lease (60 s), which real time never does within a run."""

    async def in_flight() -> int:
        async with bot.runtime.store.engine.connect() as conn:
            result = await conn.exec_driver_sql(
                "SELECT count(*) FROM jobs WHERE done_at IS NULL AND lease_until IS NOT NULL"
            )
            return int(result.scalar_one())

    for _ in range(100):
        if not await in_flight():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("scheduled runs did not finish")


async def nothing_more_within_a_tick(bot: Harness) -> None:
    await asyncio.sleep(1.5)  # a scheduler tick, for anything wrongly due to show up


@pytest.mark.slow
async def test_a_warning_in_the_cards_thread_then_the_card_expires(bot: Harness) -> None:
    await bot.command("new https://a.example --name Demo --minutes 30")
    card = await bot.card()
    (session_id,) = bot.mirrortab.sessions
    bot.advance(24)
    await nothing_more_within_a_tick(bot)
    assert not replies(bot, card["ts"])
    bot.advance(1)  # five minutes before the kill time
    await bot.slack.wait_for(lambda: bool(replies(bot, card["ts"])), WITHIN_S, "the warning")
    (warning,) = replies(bot, card["ts"])
    assert f"<@{ANN}>" in text_of(warning) and "<!date^" in text_of(warning)
    (end_now,) = actions_of(warning)
    assert (end_now["action_id"], end_now["value"]) == ("cobrowse_end", session_id)
    bot.advance(5)
    (expired,) = await bot.slack.wait_for_calls("chat.update", within=WITHIN_S)
    assert expired["ts"] == card["ts"] and "Expired" in text_of(expired) and not actions_of(expired)
    await nothing_more_within_a_tick(bot)
    assert len(replies(bot, card["ts"])) == 1 and len(bot.slack.api_calls("chat.update")) == 1


async def mirotalk_meeting_warned(bot: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ten-minute MiroTalk meeting `review` with someone in it, five minutes on: its card and the warning."""
    await meeting(bot, "new review --minutes 10")
    card = await bot.card()
    bot.mirotalk.add_peer("review", "Patient")
    bot.advance(5)
    await bot.slack.wait_for(lambda: bool(replies(bot, card["ts"])), WITHIN_S, "the warning")
    (warning,) = replies(bot, card["ts"])
    return card, warning


@MIROTALK_ALL_ON
async def test_a_mirotalk_meeting_given_a_length_is_ended_on_the_server_when_it_runs_out(bot: Harness) -> None:
    _, warning = await mirotalk_meeting_warned(bot)
    (end_now,) = actions_of(warning)
    assert (end_now["action_id"], end_now["value"]) == ("meeting_end", "mirotalk:review")
    bot.advance(5)
    (expired,) = await bot.slack.wait_for_calls("chat.update", within=WITHIN_S)
    assert "Expired" in text_of(expired)
    assert [e.room for e in bot.mirotalk.ended] == ["review"]


async def test_a_scheduled_coviu_session_is_announced_and_each_participant_gets_their_link(bot: Harness) -> None:
    await meeting(bot, f"schedule in 2h --minutes 30 --name Case <@{BOB}|bob>")
    card = await bot.card()
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("D" + BOB)), what="bob's invitation")
    bot.advance(115)  # five minutes before the start
    await bot.slack.wait_for(lambda: bool(replies(bot, card["ts"])), WITHIN_S, "the reminder")
    (reminder,) = replies(bot, card["ts"])
    assert "Case" in text_of(reminder) and [a["action_id"] for a in actions_of(reminder)] == ["meeting_my_link"]
    await bot.slack.wait_for(lambda: len(bot.slack.posted("D" + BOB)) == 2, WITHIN_S, "bob's reminder")
    await bot.slack.wait_for(lambda: len(bot.slack.posted("D" + ANN)) == 1, WITHIN_S, "ann's reminder")
    people = {p["display_name"]: p["entry_url"] for p in bot.coviu.participants.values()}
    assert people["bob"] in bot.slack.posted("D" + BOB)[1]["text"]
    assert people["ann"] in bot.slack.posted("D" + ANN)[0]["text"]
    assert people["bob"] not in text_of(reminder)


async def test_a_coviu_participant_canceled_elsewhere_is_not_sent_its_dead_link_again(bot: Harness) -> None:
    await meeting(bot, f"schedule in 2h --minutes 30 --name Case <@{BOB}|bob>")
    card = await bot.card()
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("D" + BOB)), what="bob's invitation")
    bob = next(p for p in bot.coviu.participants.values() if p["display_name"] == "bob")
    bot.coviu.cancel_participant_elsewhere(bob["participant_id"])  # in Coviu's own console
    bot.advance(115)
    await bot.slack.wait_for(lambda: bool(replies(bot, card["ts"])), WITHIN_S, "the reminder")
    await bot.slack.wait_for(lambda: len(bot.slack.posted("D" + ANN)) == 1, WITHIN_S, "ann's reminder")
    await runs_finished(bot)
    assert len(bot.slack.posted("D" + BOB)) == 1  # the invitation, and no reminder with the dead link


async def test_a_card_ended_early_gets_no_warning_and_no_expiry(bot: Harness) -> None:
    await bot.command("new https://a.example --minutes 10")
    card = await bot.card()
    await bot.click("cobrowse_end", actions_of(card)[1]["value"], card=card)
    await bot.slack.wait_for_calls("chat.update")
    bot.advance(30)
    await nothing_more_within_a_tick(bot)
    assert not replies(bot, card["ts"]) and len(bot.slack.api_calls("chat.update")) == 1


@pytest.mark.slow
async def test_work_due_while_the_scheduler_was_down_is_done_late_but_once(bot: Harness) -> None:
    assert bot.runtime.scheduler is not None
    await bot.command("new https://a.example --minutes 10")
    card = await bot.card()
    bot.runtime.scheduler.pause()
    bot.advance(20)  # both the warning and the expiry fall due while nothing runs
    await nothing_more_within_a_tick(bot)
    assert not replies(bot, card["ts"])
    bot.runtime.scheduler.resume()
    await bot.slack.wait_for_calls("chat.update", within=WITHIN_S)
    await nothing_more_within_a_tick(bot)
    assert len(bot.slack.api_calls("chat.update")) == 1
    # The warning came too late to be of use but is still posted once, before the expiry it warned of.
    assert len(replies(bot, card["ts"])) <= 1


@pytest.fixture
async def second_scheduler(sims: Sims, bot: Harness, tmp_path: Path) -> AsyncIterator[Runtime]:
    """Another scheduler on the same database, started by mistake."""
    settings = sandbox_settings(sims, tmp_path / "unused.db", DATABASE_URL=bot.runtime.settings.DATABASE_URL)
    runtime, runner, _url = await start_bot(settings, bot.clock)
    yield runtime
    await runner.cleanup()


@pytest.mark.slow
async def test_two_schedulers_at_once_double_nothing(bot: Harness, second_scheduler: Runtime) -> None:
    for n in range(12):
        await bot.command(f"new https://a.example --name S{n} --minutes 10")
    await bot.slack.wait_for_calls("chat.postMessage", count=12)
    bot.advance(5)
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) == 24, WITHIN_S, "12 warnings")
    await runs_finished(bot)
    bot.advance(5)
    await bot.slack.wait_for_calls("chat.update", count=12, within=WITHIN_S)
    await nothing_more_within_a_tick(bot)
    assert len(bot.slack.posted()) == 24 and len(bot.slack.api_calls("chat.update")) == 12


@MIROTALK_ALL_ON
async def test_reconciliation_closes_cards_whose_sessions_ended_elsewhere(bot: Harness) -> None:
    await bot.command("new https://a.example --name Gone")
    gone = await bot.card()
    await meeting(bot, "new review")
    room = await bot.card(2)
    deps = bot.runtime.deps
    assert await scheduled.reconcile(deps) == 0  # nobody has joined the room yet: that is not an ending
    bot.mirotalk.add_peer("review", "Patient")
    bot.mirrortab.sessions.clear()  # ended in MirrorTab's own console
    assert await scheduled.reconcile(deps) == 1
    (closed,) = await bot.slack.wait_for_calls("chat.update")
    assert closed["ts"] == gone["ts"] and "Ended · " in text_of(closed)
    bot.mirotalk.rooms.clear()  # everyone left
    assert await scheduled.reconcile(deps) == 1
    closed = (await bot.slack.wait_for_calls("chat.update", count=2))[1]
    assert closed["ts"] == room["ts"] and not actions_of(closed)
    bot.coviu.faults.inject("*", "500", times=50)
    await meeting(bot, "new --provider coviu")
    assert await scheduled.reconcile(deps) == 0  # a vendor that cannot be asked closes nothing


async def test_reconciliation_keeps_coviu_cards_of_running_and_upcoming_sessions_and_closes_the_others(
    bot: Harness,
) -> None:
    await meeting(bot, "new --provider coviu --minutes 10000 --name Marathon")
    posted = {"Marathon": (await bot.card())["ts"]}
    bot.advance(6 * 24 * 60)  # six days on, it is still running: found although it started long ago
    for n, (name, command) in enumerate(
        (("Later", "schedule in 2h"), ("Gone", "new --provider coviu"), ("Over", "new --provider coviu")), 2
    ):
        await meeting(bot, f"{command} --name {name}")
        posted[name] = (await bot.card(n))["ts"]
    # The names as given: Cohost's marker (services/markers.py) taken off.
    by_name = {markers.split(s["session_name"])[0]: sid for sid, s in bot.coviu.sessions.items()}
    bot.advance(2)  # Gone and Over have started
    now = bot.clock.now()
    bot.coviu.sessions[by_name["Gone"]]["canceled_time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")  # in Coviu's console
    bot.coviu.sessions[by_name["Over"]]["end"] = now  # ended there
    # Other sessions of the account, and participants in states that name what their sessions are not.
    bot.coviu.seed_session("Old", now - timedelta(hours=3), now - timedelta(hours=2), participant_states=("running",))
    bot.coviu.seed_session("Soon", now + timedelta(hours=1), now + timedelta(hours=2), participant_states=("upcoming",))
    for participant in bot.coviu.participants.values():
        participant["state"] = "finished"
    assert await scheduled.reconcile(bot.runtime.deps) == 2
    updates = await bot.slack.wait_for_calls("chat.update", count=2)
    assert {update["ts"] for update in updates} == {posted["Gone"], posted["Over"]}
    assert {card.name for card in await bot.runtime.store.active_cards()} == {"Marathon", "Later"}
    assert await scheduled.reconcile(bot.runtime.deps) == 0


async def test_the_scheduler_looks_for_due_work_every_second_digests_every_five_and_reconciles_every_three_minutes(
    bot: Harness,
) -> None:
    assert bot.runtime.scheduler is not None
    jobs = {job.id: job for job in bot.runtime.scheduler.get_jobs()}
    assert jobs["due_work"].trigger.interval.total_seconds() == 1
    assert jobs["reconcile"].trigger.interval.total_seconds() == 180
    assert jobs["digests"].trigger.interval.total_seconds() == 5
    async with aiohttp.ClientSession() as http, http.get(bot.url + "/healthz") as resp:
        assert resp.status == 200


@pytest.mark.slow
async def test_a_subscribed_digest_is_posted_by_the_running_scheduler_once(bot: Harness) -> None:
    assert (await bot.command("digest daily 13:00 --tz UTC", command="/meeting")).status == 200
    await bot.private()
    bot.advance(59)
    await nothing_more_within_a_tick(bot)
    assert not bot.slack.posted(CHANNEL)
    bot.advance(1)
    await bot.slack.wait_for(lambda: bool(bot.slack.posted(CHANNEL)), 5 + WITHIN_S, "the digest")
    (posted,) = bot.slack.posted(CHANNEL)
    assert "Meetings digest · daily" in text_of(posted)
    await asyncio.sleep(6)  # another digest tick: nothing again for the same day
    assert len(bot.slack.posted(CHANNEL)) == 1
