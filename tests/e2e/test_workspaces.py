"""Workspaces are walls: a request signed as Slack signs it but from another team does nothing at all, and
nothing one workspace stored is found from another (cards, digests, guests, uploads, handled request keys).

Everything here runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.slack import SignedRequest
from sandbox.world import Sims
from services.clock import FakeClock
from services.store import NewDigest
from tests.conftest import ANN, CHANNEL, Harness, sandbox_settings, start_bot
from tests.messages import actions_of, text_of

#: Another Slack workspace: this Cohost serves the stand-in's own (`bot.slack.team_id`) alone.
ELSEWHERE = "T0ELSEWHERE"
TABLES = ("cards", "jobs", "handled_requests", "digest_subscriptions", "meeting_guests", "uploads")


@pytest.fixture
def overrides(database_url: str) -> dict[str, Any]:
    return {"DATABASE_URL": database_url}


async def footprint(bot: Harness) -> dict[str, int]:
    """Everything a request could leave behind: Slack calls and private answers (Bolt's own `auth.test` aside),
    each vendor's calls, and the rows of every table."""
    slack = [c for c in bot.slack.calls if c.path != "/api/auth.test"]
    counts = {"slack": len(slack)}
    for sim in (bot.mirrortab, bot.samesurf, bot.mirotalk, bot.coviu, bot.mirrorace):
        counts[sim.name] = len(sim.calls)
    async with bot.runtime.store.engine.connect() as conn:
        for table in TABLES:
            counts[table] = int((await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one())
    return counts


async def card_settled(bot: Harness) -> dict[str, Any]:
    """The first card, once everything it sets off has happened: its creator's Home published (in the background)."""
    card = await bot.card()
    await bot.slack.wait_for(lambda: bot.slack.publishes_for(ANN) > 0, what="the creator's Home published")
    return card


async def left_no_trace(bot: Harness, request: SignedRequest, before: dict[str, int]) -> None:
    ack = await bot.send(request)
    assert (ack.status, ack.text) == (200, "")  # acknowledged, as Slack expects, and answered with nothing
    await asyncio.sleep(0.3)  # room for wrongly started work to show up
    assert await footprint(bot) == before


def forged_requests(bot: Harness, card: dict[str, Any], session_id: str) -> dict[str, SignedRequest]:
    """One of each kind Cohost answers, signed, from the right person, naming a real card, but from elsewhere."""
    shared = bot.slack.add_file("F0AWAY", "away.bin", 4096)
    return {
        "command": bot.slack.slash_command("/cobrowse", "new https://a.example", team_id=ELSEWHERE),
        "command with a typo": bot.slack.slash_command("/cobrowse", "nwe https://a.example", team_id=ELSEWHERE),
        "End click": bot.slack.block_action(
            "cobrowse_end", value=session_id, channel_id=card["channel"], message_ts=card["ts"], team_id=ELSEWHERE
        ),
        "form": bot.slack.view_submission(
            "cobrowse_new",
            {"urls": {"urls": {"type": "plain_text_input", "value": "https://a.example"}}},
            private_metadata=json.dumps({"channel_id": CHANNEL}),
            team_id=ELSEWHERE,
        ),
        "shortcut": bot.slack.message_shortcut(
            "mirror_file", message={"type": "message", "ts": "1.2", "files": [shared]}, team_id=ELSEWHERE
        ),
        "digest off": bot.slack.slash_command("/cobrowse", "digest off", team_id=ELSEWHERE),
        "global shortcut": bot.slack.global_shortcut("new_meeting", team_id=ELSEWHERE),
        "Home button": bot.slack.view_action("open_new_cobrowse", team_id=ELSEWHERE),
        "shortcut's form": bot.slack.view_submission(
            "meeting_new",
            {
                "channel": {"channel": {"type": "conversations_select", "selected_conversation": CHANNEL}},
                "provider": {"provider": {"type": "static_select", "selected_option": {"value": "coviu"}}},
            },
            private_metadata=json.dumps({"pick_channel": True}),
            team_id=ELSEWHERE,
        ),
    }


async def test_the_workspace_is_learned_from_slack_at_start(bot: Harness) -> None:
    assert bot.slack.api_calls("auth.test")  # before any request came
    assert bot.runtime.deps.home.team_id == bot.slack.team_id


@pytest.mark.parametrize(
    "kind",
    [
        "command",
        "command with a typo",
        "End click",
        "form",
        "shortcut",
        "digest off",
        "global shortcut",
        "Home button",
        "shortcut's form",
    ],
)
async def test_a_request_from_another_workspace_is_acked_and_does_nothing(
    bot: Harness, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.command("new https://a.example --name Demo")
    card = await card_settled(bot)
    (session_id,) = bot.mirrortab.sessions
    assert (await bot.command("digest daily 09:00")).status == 200
    await bot.private()
    before = await footprint(bot)

    await left_no_trace(bot, forged_requests(bot, card, session_id)[kind], before)

    assert session_id in bot.mirrortab.sessions
    assert f"from another Slack workspace ({ELSEWHERE})" in caplog.text
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "mirrortab", session_id)
    assert stored is not None and stored.state == "active"
    assert await bot.runtime.store.digest(bot.slack.team_id, CHANNEL, "cobrowse") is not None


async def test_the_same_end_click_from_the_cards_own_workspace_ends_it(bot: Harness) -> None:
    # The forged click above differs from this one in its team alone.
    await bot.command("new https://a.example --name Demo")
    card = await card_settled(bot)
    (session_id,) = bot.mirrortab.sessions
    await left_no_trace(
        bot,
        bot.slack.block_action(
            "cobrowse_end", value=session_id, channel_id=card["channel"], message_ts=card["ts"], team_id=ELSEWHERE
        ),
        await footprint(bot),
    )
    await bot.click("cobrowse_end", session_id, card=card)
    (ended,) = await bot.slack.wait_for_calls("chat.update")
    assert f"Ended by <@{ANN}>" in text_of(ended) and not actions_of(ended)
    assert not bot.mirrortab.sessions and len(bot.mirrortab.calls_to("/remove_session")) == 1


async def test_a_card_of_another_workspace_is_not_found_from_this_one(bot: Harness) -> None:
    await bot.command("new https://a.example --name Theirs")
    card = await bot.card()
    (session_id,) = bot.mirrortab.sessions
    async with bot.runtime.store.engine.begin() as conn:  # the card now belongs to the other workspace
        await conn.exec_driver_sql(f"UPDATE cards SET team_id = '{ELSEWHERE}'")
    await bot.click("cobrowse_end", session_id, card=card)
    answer = await bot.private()
    assert "Cohost did not start this session, so only a Cohost admin or a workspace admin" in answer
    assert session_id in bot.mirrortab.sessions and not bot.slack.api_calls("chat.update")
    theirs = await bot.runtime.store.find_card(ELSEWHERE, "mirrortab", session_id)
    assert theirs is not None and theirs.state == "active"


async def test_another_workspaces_digest_of_the_same_channel_id_is_neither_seen_nor_removed(bot: Harness) -> None:
    store, now = bot.runtime.store, bot.clock.now()
    theirs = NewDigest(ELSEWHERE, CHANNEL, "cobrowse", "weekly", 0, "10:00", "UTC", "U0THEM", now + timedelta(days=3))
    await store.set_digest(theirs)
    said = {
        "digest show": "This channel has no co-browsing digest",
        "digest off": "This channel had no co-browsing digest",
        "digest daily 09:00": "Daily at 09:00",
    }
    for count, (typed, answer) in enumerate(said.items(), start=1):
        assert (await bot.command(typed)).status == 200
        assert answer in await bot.private(count)
    ours = await store.digest(bot.slack.team_id, CHANNEL, "cobrowse")
    kept = await store.digest(ELSEWHERE, CHANNEL, "cobrowse")
    assert ours is not None and ours.created_by == ANN and ours.cadence == "daily"
    assert kept is not None and kept.created_by == "U0THEM" and kept.cadence == "weekly"


async def test_another_workspaces_request_key_does_not_block_the_same_key_here(bot: Harness) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example", trigger_id="1.2.same-trigger")
    assert await bot.runtime.store.claim_request(ELSEWHERE, "command:1.2.same-trigger", bot.clock.now())
    assert (await bot.send(request)).status == 200
    await bot.card()
    assert len(bot.mirrortab.sessions) == 1


# -- learning the workspace -----------------------------------------------------------------------------------------


@pytest.fixture
async def started_after_a_failed_auth_test(
    sims: Sims, clock: FakeClock, tmp_path: Path, overrides: dict[str, Any]
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    sims.slack.faults.inject("/api/auth.test", "500")
    runtime, runner, url = await start_bot(sandbox_settings(sims, tmp_path / "cohost.db", **overrides), clock)
    assert runtime.deps.home.team_id is None
    async with aiohttp.ClientSession() as http:
        yield url + "/slack/events", http
    await runner.cleanup()


async def test_when_slack_could_not_say_at_start_the_wall_holds_on_the_team_bolt_authorizes(
    sims: Sims, started_after_a_failed_auth_test: tuple[str, aiohttp.ClientSession], caplog: pytest.LogCaptureFixture
) -> None:
    events_url, http = started_after_a_failed_auth_test
    said = [r.getMessage() for r in caplog.get_records("setup") if r.name == "cohost.workspaces"]
    assert said == [
        "Slack auth.test did not say which workspace this is (Internal Server Error); check SLACK_BOT_TOKEN"
    ]
    forged = sims.slack.slash_command("/cobrowse", "new https://a.example", team_id=ELSEWHERE)
    assert (await sims.slack.send(http, events_url, forged))[:2] == (200, "")
    ours = sims.slack.slash_command("/cobrowse", "new https://b.example")
    assert (await sims.slack.send(http, events_url, ours))[0] == 200
    await sims.slack.wait_for_calls("chat.postMessage")
    await asyncio.sleep(0.3)  # room for the forged one to show up
    assert len(sims.mirrortab.sessions) == 1 and len(sims.slack.posted()) == 1
    assert f"from another Slack workspace ({ELSEWHERE})" in caplog.text
