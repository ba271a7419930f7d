"""Scheduled work that fails gives up cleanly: tried again after 1, 2, 4, 8 and 15 minutes (six tries over half an
hour), then recorded failed and its person told once, privately; nothing is tried forever.

The scheduler of the running bot is paused and its due-work pass called directly, on the test's clock, so each try
is seen to come exactly when it is due and not a moment before. Vendors and Slack are the stand-ins, over HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from handlers import scheduled
from handlers.core.interaction import Deps
from handlers.core.retries import RETRY_DELAYS, TRIES
from handlers.digest import sending as digest
from services.store import JobKind
from tests.conftest import ANN, BOB, CAROL, CHANNEL, MIROTALK_ALL_ON, Harness
from tests.messages import actions_of, text_of

JUST_BEFORE = timedelta(seconds=1)


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    """Every test here runs on SQLite and on PostgreSQL."""
    return {"DATABASE_URL": database_url}


def paused(bot: Harness) -> Deps:
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.pause()
    return bot.runtime.deps


async def retried_exactly_on_time(bot: Harness, run: Callable[[], Awaitable[Any]], tries: Callable[[], int]) -> None:
    """After the first try, each retry comes after its delay and not a second sooner: six tries in all."""
    assert tries() == 1
    for delay in RETRY_DELAYS:
        before = tries()
        bot.clock.advance(delay - JUST_BEFORE)
        await run()
        assert tries() == before, f"tried again before {delay} had passed"
        bot.clock.advance(2 * JUST_BEFORE)
        await run()
        assert tries() == before + 1, f"not tried again after {delay}"
    assert tries() == TRIES


async def job_gives_up(bot: Harness, deps: Deps, tries: Callable[[], int]) -> str:
    """Six tries on time, then never another, and one direct message to the creator: its text."""
    await retried_exactly_on_time(bot, lambda: scheduled.run_due_jobs(deps), tries)
    bot.advance(7 * 24 * 60)
    assert await scheduled.run_due_jobs(deps) == 0
    assert tries() == TRIES
    assert len(told(bot)) == 1, told(bot)
    (message,) = told(bot)
    return message


def told(bot: Harness, user: str = ANN) -> list[str]:
    """The direct messages Cohost sent the person."""
    return [str(p.get("text", "")) for p in bot.slack.posted("D" + user)]


async def test_an_expiry_slack_keeps_refusing_to_show_is_tried_six_times_over_half_an_hour_then_told_once(
    bot: Harness,
) -> None:
    deps = paused(bot)
    await bot.command("new https://a.example --name Demo --minutes 10")
    card = await bot.card()
    (session_id,) = bot.mirrortab.sessions
    bot.advance(5)
    assert await scheduled.run_due_jobs(deps) == 1  # the warning, posted
    bot.slack.faults.inject("/api/chat.update", "500", times=100)
    bot.advance(5)
    assert await scheduled.run_due_jobs(deps) == 1  # the expiry's first try

    def tries() -> int:
        return len(bot.slack.calls_to("/api/chat.update"))

    message = await job_gives_up(bot, deps, tries)
    assert "I tried 6 times over half an hour" in message
    assert "MirrorTab session “Demo”" in message and session_id in message and f"<#{CHANNEL}>" in message
    assert "Slack answered `Internal Server Error`" in message  # what failed
    assert "has expired all the same" in message  # and what it means for them
    assert not bot.slack.api_calls("chat.update")  # Slack never took the edit
    stored = await deps.store.find_card(bot.slack.team_id, "mirrortab", session_id)
    assert stored is not None and stored.state == "expired" and stored.ts == card["ts"]
    (expiry,) = [job for job in await deps.store.jobs_of(stored.id) if job.kind == JobKind.EXPIRE.value]
    assert (expiry.outcome, expiry.attempts) == ("failed", TRIES)
    assert expiry.last_error == "Slack answered `Internal Server Error`"


async def meeting_expiring_while_mirotalk_fails(bot: Harness, *, times: int) -> tuple[Deps, dict[str, Any]]:
    """A ten-minute MiroTalk meeting "Review" with someone in it, run to its expiry's first try, which fails: the
    server answers 500 to its ending `times` times."""
    deps = paused(bot)
    assert (await bot.command("new review --minutes 10 --name Review", command="/meeting")).status == 200
    card = await bot.card()
    bot.mirotalk.add_peer("review", "Patient")
    bot.mirotalk.faults.inject("/api/v1/meeting/review", "500", times=times)
    bot.advance(10)
    assert await scheduled.run_due_jobs(deps) == 2  # the warning, and the expiry's first try
    return deps, card


@MIROTALK_ALL_ON
async def test_an_expiry_the_vendor_keeps_failing_leaves_the_meeting_open_and_tells_its_creator_what_to_do(
    bot: Harness,
) -> None:
    deps, card = await meeting_expiring_while_mirotalk_fails(bot, times=100)

    def tries() -> int:
        return len(bot.mirotalk.calls_to("/api/v1/meeting/review"))

    message = await job_gives_up(bot, deps, tries)
    assert "MiroTalk room “Review” (`review`)" in message
    assert "MiroTalk had an internal error (HTTP 500)" in message
    assert "It is still open: end it with the card's End button or `/meeting end review`" in message
    # Still open, as the message says: the card keeps its End button, and End works once MiroTalk does.
    assert not bot.slack.api_calls("chat.update")
    bot.mirotalk.faults.clear()
    end = next(a for a in actions_of(card) if a["action_id"] == "meeting_end")
    await bot.click("meeting_end", end["value"], card=card)
    (closed,) = await bot.slack.wait_for_calls("chat.update")
    assert "Ended by" in text_of(closed) and [e.room for e in bot.mirotalk.ended] == ["review"]


@MIROTALK_ALL_ON
async def test_an_expiry_that_fails_twice_then_succeeds_ends_the_meeting_once_and_tells_no_one(bot: Harness) -> None:
    deps, card = await meeting_expiring_while_mirotalk_fails(bot, times=2)
    bot.advance(1)
    assert await scheduled.run_due_jobs(deps) == 1  # the second try, a minute later: fails again
    bot.clock.advance(RETRY_DELAYS[1] - JUST_BEFORE)
    assert await scheduled.run_due_jobs(deps) == 0
    bot.clock.advance(JUST_BEFORE)
    assert await scheduled.run_due_jobs(deps) == 1  # the third, two minutes later: it works
    bot.advance(60)
    assert await scheduled.run_due_jobs(deps) == 0
    assert len(bot.mirotalk.calls_to("/api/v1/meeting/review")) == 3
    assert [e.room for e in bot.mirotalk.ended] == ["review"]
    (expired,) = bot.slack.api_calls("chat.update")
    assert expired["ts"] == card["ts"] and "Expired" in text_of(expired)
    assert not told(bot)


async def test_a_job_whose_tries_never_finish_is_given_up_without_another_try(bot: Harness) -> None:
    deps = paused(bot)
    await bot.command("new https://a.example --name Doomed --minutes 10")
    await bot.card()
    bot.advance(5)
    assert await scheduled.run_due_jobs(deps) == 1  # the warning
    bot.advance(5)
    for _ in range(TRIES):  # a scheduler claims the expiry, then dies before its lease runs out: again and again
        assert len(await deps.store.claim_jobs(bot.clock.now(), lease=scheduled.JOB_LEASE)) == 1
        bot.clock.advance(scheduled.JOB_LEASE + JUST_BEFORE)
    assert await scheduled.run_due_jobs(deps) == 1
    assert not bot.slack.api_calls("chat.update")
    assert len(told(bot)) == 1, told(bot)
    (message,) = told(bot)
    assert "I tried 6 times" in message and "each try stopped before it finished" in message
    bot.advance(60)
    assert await scheduled.run_due_jobs(deps) == 0


async def test_a_digest_slack_keeps_refusing_is_skipped_for_the_day_and_its_subscriber_told_once(
    bot: Harness,
) -> None:
    deps = paused(bot)
    # Slack's pace of a message a second per channel is waited in real time: not what is tried here.
    digest._PACES[deps.client] = digest.ChannelPace(interval_s=0)
    assert (await bot.command("digest daily 13:00 --tz UTC", command="/meeting")).status == 200
    await bot.private()
    bot.slack.faults.inject("/api/chat.postMessage", "500", times=TRIES)

    def tries() -> int:
        return sum(
            bot.slack.payload(call).get("channel") == CHANNEL for call in bot.slack.calls_to("/api/chat.postMessage")
        )

    bot.advance(60)
    assert await digest.send_due_digests(deps) == 0
    await retried_exactly_on_time(bot, lambda: digest.send_due_digests(deps), tries)
    assert not bot.slack.posted(CHANNEL)
    assert len(told(bot)) == 1, told(bot)
    (message,) = told(bot)
    assert f"I tried 6 times over half an hour to post your meetings digest in <#{CHANNEL}>" in message
    assert "Slack answered `Internal Server Error`" in message
    assert "This one is skipped; the next comes <!date^" in message and "`/meeting digest off`" in message
    subscription = await deps.store.digest(bot.slack.team_id, CHANNEL, "meeting")
    assert subscription is not None and subscription.failures == 0
    # The next day's goes out as usual.
    bot.clock.advance(subscription.next_run_at - bot.clock.now())
    assert await digest.send_due_digests(deps) == 1
    (posted,) = bot.slack.posted(CHANNEL)
    assert "Meetings digest · daily" in text_of(posted)


async def test_a_reminder_that_failed_part_way_tells_no_one_twice_on_its_next_try(bot: Harness) -> None:
    deps = paused(bot)
    command = f"schedule in 2h --minutes 30 --name Case <@{BOB}|bob> <@{CAROL}|carol>"
    assert (await bot.command(command, command="/meeting")).status == 200
    card = await bot.card()
    await bot.slack.wait_for(lambda: bool(told(bot, BOB) and told(bot, CAROL)), what="the invitations")
    carol = next(p for p in bot.coviu.participants.values() if p["display_name"] == "carol")
    # Carol's participant cannot be read (more 500s than the client's own retries): the first try fails there,
    # after the thread and ann (the host, the first guest) were reminded.
    bot.coviu.faults.inject(f"/participants/{carol['participant_id']}", "500", times=10)
    bot.advance(115)
    assert await scheduled.run_due_jobs(deps) == 1

    def reminders() -> list[dict[str, Any]]:
        return [p for p in bot.slack.posted(CHANNEL) if p.get("thread_ts") == card["ts"]]

    assert len(reminders()) == 1 and len(told(bot, ANN)) == 1 and len(told(bot, CAROL)) == 1
    bot.coviu.faults.clear()
    bot.clock.advance(RETRY_DELAYS[0])
    assert await scheduled.run_due_jobs(deps) == 1  # the next try: only what the first could not do
    assert len(reminders()) == 1 and "Case" in text_of(reminders()[0])
    assert (len(told(bot, ANN)), len(told(bot, BOB)), len(told(bot, CAROL))) == (1, 2, 2)
    assert carol["entry_url"] in told(bot, CAROL)[1]
    bot.advance(60)
    assert await scheduled.run_due_jobs(deps) == 2  # its warning and its expiry: the reminder is not tried again
    assert len(told(bot, BOB)) == 2
