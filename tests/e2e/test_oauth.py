"""Any number of workspaces (OAuth mode), over real HTTP: two workspaces install Cohost through the pages, each is
served with its own token (requests and the scheduler alike), neither ever reaches the other's cards, clicks or
lists, a forged or replayed state installs nothing, an uninstalled workspace gets no call at all, and no token
is readable in the database file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import select
from yarl import URL

from bot.install_pages import BOT_SCOPES
from handlers import scheduled
from handlers.digest.sending import send_due_digests
from sandbox.installer import cookie_keeping_client, form_of, link_of
from sandbox.world import Sims
from services.clock import FakeClock
from services.installations import InstallationRow
from tests.messages import text_of
from tests.oauth import (
    ACME,
    CHANNELS,
    GLOBEX,
    PEOPLE,
    OAuthBot,
    both_installed,
    card_in,
    digest_in,
    start_oauth_bot,
)


@pytest.fixture
async def oauth(sims: Sims, clock: FakeClock, tmp_path: Path) -> AsyncIterator[OAuthBot]:
    async for bot in start_oauth_bot(sims, clock, tmp_path / "cohost.db"):
        yield bot


async def installed_teams(bot: OAuthBot) -> list[str]:
    async with bot.runtime.store.engine.connect() as conn:
        return list((await conn.execute(select(InstallationRow.team_id).order_by(InstallationRow.team_id))).scalars())


# -- installing ------------------------------------------------------------------------------------------------------


async def test_two_workspaces_install_cohost_through_the_pages(oauth: OAuthBot) -> None:
    acme = await oauth.install(ACME)
    # The install page's button goes to Slack's authorize page, for Cohost, with its scopes and a state.
    asked = parse_qs(urlsplit(acme.authorize_url).query)
    assert acme.authorize_url.startswith(oauth.slack.url + "/oauth/v2/authorize?")
    assert asked["client_id"] == ["1111.2222"] and asked["scope"] == [",".join(s for s, _ in BOT_SCOPES)]
    assert asked["state"][0] and form_of(acme.authorize_page)["state"] == asked["state"][0]
    # "Allow" sent the browser back to Cohost with a code and the same state, and Cohost installed.
    back = urlsplit(acme.redirect_url)
    assert (back.path, parse_qs(back.query)["state"]) == ("/slack/oauth_redirect", asked["state"])
    assert acme.status == 200 and "Cohost is installed in Acme" in acme.page
    globex = await oauth.install(GLOBEX)
    assert globex.status == 200 and "Cohost is installed in Globex" in globex.page
    assert parse_qs(urlsplit(globex.authorize_url).query)["state"] != asked["state"]  # a new one for each install

    assert await installed_teams(oauth) == [ACME, GLOBEX]
    acme_token, globex_token = oauth.slack.bot_tokens(ACME)[0], oauth.slack.bot_tokens(GLOBEX)[0]
    assert acme_token != globex_token
    # Each is served with its own token.
    for team in (ACME, GLOBEX):
        card = await card_in(oauth, team)
        assert "Demo" in text_of(card)
    assert [team for team, _ in oauth.slack.teams_of("chat.postMessage")] == [ACME, GLOBEX]
    assert oauth.slack.wrong_token_calls == []


async def test_a_forged_or_replayed_state_installs_nothing(oauth: OAuthBot) -> None:
    redirect = oauth.url + "/slack/oauth_redirect"
    async with cookie_keeping_client(oauth.url) as browser:
        # A state Cohost never issued, even with a matching cookie (a forger controls their own browser).
        browser.cookie_jar.update_cookies({"slack-app-oauth-state": "forged"}, response_url=URL(oauth.url))
        async with browser.get(redirect, params={"code": "123.abc", "state": "forged"}) as resp:
            assert resp.status == 401 and "already used or has expired" in await resp.text()
    async with aiohttp.ClientSession() as stranger:  # a real state, but not this browser's (no cookie)
        async with oauth.http.get(oauth.url + "/slack/install") as resp:
            state = parse_qs(urlsplit(link_of(await resp.text(), "add-to-slack")).query)["state"][0]
        async with stranger.get(redirect, params={"code": "123.abc", "state": state}) as resp:
            assert resp.status == 400 and "started in another browser" in await resp.text()

    # A completed install's redirect replayed from the same browser, its state cookie put back.
    run = await oauth.install(ACME)
    replayed = parse_qs(urlsplit(run.redirect_url).query)
    async with cookie_keeping_client(oauth.url) as browser:
        browser.cookie_jar.update_cookies({"slack-app-oauth-state": replayed["state"][0]}, response_url=URL(oauth.url))
        async with browser.get(run.redirect_url) as resp:
            assert resp.status == 401
    # Only the one real install reached Slack's oauth.v2.access; nothing else was installed.
    assert len(oauth.slack.api_calls("oauth.v2.access")) == 1
    assert await installed_teams(oauth) == [ACME]


async def test_cancelling_on_slacks_page_installs_nothing(oauth: OAuthBot) -> None:
    async with cookie_keeping_client(oauth.url) as browser:
        async with browser.get(oauth.url + "/slack/install") as resp:
            authorize_url = link_of(await resp.text(), "add-to-slack")
        async with browser.get(authorize_url) as resp:
            form = {**form_of(await resp.text()), "team": ACME, "decision": "deny"}
        async with browser.post(oauth.slack.url + "/oauth/v2/authorize", data=form) as resp:
            assert "The install was cancelled in Slack" in await resp.text()
    assert await installed_teams(oauth) == []


async def test_a_workspace_that_has_not_installed_cohost_is_not_served(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    request = oauth.slack.slash_command("/cobrowse", "new https://a.example", response_url=None)  # the sandbox's own
    status, _ = await oauth.send(request)
    assert status == 200
    (told,) = await oauth.slack.wait_for_responses()
    assert "Cohost is not installed in this workspace" in told.body["text"]
    await asyncio.sleep(0.3)
    assert not oauth.sims.mirrortab.sessions and not oauth.slack.posted()


# -- walls ------------------------------------------------------------------------------------------------------------


async def test_cards_clicks_and_lists_of_one_workspace_are_never_reachable_from_the_other(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    card = await card_in(oauth, ACME, "new https://a.example --name Acme-demo")
    (session_id,) = oauth.sims.mirrortab.sessions
    # Globex clicks End on Acme's card (its payload naming Acme's channel and message) as a Globex person.
    click = oauth.slack.block_action(
        "cobrowse_end",
        value=session_id,
        user_id=PEOPLE[GLOBEX],
        channel_id=CHANNELS[ACME],
        message_ts=card["ts"],
        team_id=GLOBEX,
    )
    assert (await oauth.send(click))[0] == 200
    told = await oauth.slack.wait_for_responses()
    assert "This workspace did not start this session" in told[-1].body["text"]
    assert session_id in oauth.sims.mirrortab.sessions and not oauth.slack.api_calls("chat.update")
    # Globex's list shows none of Acme's sessions, though they share the MirrorTab account; Acme's shows its own.
    for team, expected in ((GLOBEX, False), (ACME, True)):
        before = len(oauth.slack.responses)
        await oauth.command(team, "list")
        answer = (await oauth.slack.wait_for_responses(before + 1))[before].body
        assert (session_id in json.dumps(answer)) is expected
    assert oauth.slack.wrong_token_calls == []


# -- the scheduler -----------------------------------------------------------------------------------------------------


async def test_the_scheduler_warns_each_workspace_with_its_own_token(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    cards = {team: await card_in(oauth, team) for team in (ACME, GLOBEX)}
    oauth.clock.advance(timedelta(minutes=25))  # five minutes before the expiry
    await scheduled.run_due_jobs(oauth.runtime.deps)

    def warnings() -> list[tuple[str | None, dict[str, Any]]]:
        return [(team, p) for team, p in oauth.slack.teams_of("chat.postMessage") if p.get("thread_ts")]

    await oauth.slack.wait_for(lambda: len(warnings()) == 2, what="both warnings")
    by_channel = {p["channel"]: team for team, p in warnings()}
    assert by_channel == {CHANNELS[ACME]: ACME, CHANNELS[GLOBEX]: GLOBEX}
    assert {p["thread_ts"] for _, p in warnings()} == {c["ts"] for c in cards.values()}
    assert oauth.slack.wrong_token_calls == []


async def test_after_app_uninstalled_no_call_is_made_with_that_workspaces_token(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    for team in (ACME, GLOBEX):
        await card_in(oauth, team)
        await digest_in(oauth, team)

    assert await oauth.slack.uninstall(ACME) == [200, 200]  # app_uninstalled, tokens_revoked
    await oauth.slack.wait_for(lambda: True)
    for _ in range(50):
        if await installed_teams(oauth) == [GLOBEX]:
            break
        await asyncio.sleep(0.05)
    assert await installed_teams(oauth) == [GLOBEX]
    async with oauth.runtime.store.engine.connect() as conn:
        outcomes = (await conn.exec_driver_sql("SELECT team_id, outcome FROM jobs ORDER BY team_id")).all()
        digests = (await conn.exec_driver_sql("SELECT team_id FROM digest_subscriptions")).scalars().all()
    assert {tuple(row) for row in outcomes} == {(ACME, "uninstalled"), (GLOBEX, None)}
    assert digests == [GLOBEX]

    calls_before = len(oauth.slack.calls_with_token_of(ACME))
    oauth.clock.advance(timedelta(days=1))  # every warning, expiry and digest due
    await scheduled.run_due_jobs(oauth.runtime.deps)
    await send_due_digests(oauth.runtime.deps)
    await scheduled.reconcile(oauth.runtime.deps)
    status, _ = await oauth.command(ACME, "list")  # Slack would not send it; if it did, it is not served
    assert status == 200
    await oauth.slack.wait_for(
        lambda: any("digest" in str(p.get("text")) for p in oauth.slack.posted(CHANNELS[GLOBEX])), what="Globex's"
    )
    assert oauth.slack.calls_with_token_of(ACME)[calls_before:] == []
    assert oauth.slack.wrong_token_calls == []


async def test_a_revoked_token_on_a_scheduled_post_stops_that_workspace_instead_of_retrying(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    await card_in(oauth, GLOBEX)
    await digest_in(oauth, GLOBEX)
    oauth.slack.revoke(GLOBEX)  # no event: Slack's answer to the next post is all Cohost hears
    oauth.clock.advance(timedelta(minutes=25))
    await scheduled.run_due_jobs(oauth.runtime.deps)
    refused = [c for c in oauth.slack.calls_with_token_of(GLOBEX) if c == "chat.postMessage"]
    assert await installed_teams(oauth) == [ACME]
    async with oauth.runtime.store.engine.connect() as conn:
        pending = (await conn.exec_driver_sql("SELECT count(*) FROM jobs WHERE done_at IS NULL")).scalar_one()
        retry = (await conn.exec_driver_sql("SELECT count(*) FROM jobs WHERE retry_at IS NOT NULL")).scalar_one()
        digests = (await conn.exec_driver_sql("SELECT count(*) FROM digest_subscriptions")).scalar_one()
    assert (pending, retry, digests) == (0, 0, 0)
    oauth.clock.advance(timedelta(hours=2))
    await scheduled.run_due_jobs(oauth.runtime.deps)
    await send_due_digests(oauth.runtime.deps)
    assert [c for c in oauth.slack.calls_with_token_of(GLOBEX) if c == "chat.postMessage"] == refused  # no retry


# -- tokens at rest and in turn ----------------------------------------------------------------------------------------


async def test_tokens_are_not_readable_in_the_database_file(oauth: OAuthBot) -> None:
    await both_installed(oauth)
    tokens = oauth.slack.bot_tokens(ACME) + oauth.slack.bot_tokens(GLOBEX)
    assert len(tokens) == 2
    written = b"".join(path.read_bytes() for path in oauth.db.parent.glob(oauth.db.name + "*"))  # the WAL too
    assert b"T1ACME" in written  # the file is the one the installs went to
    for token in tokens:
        assert token.encode() not in written
        assert token.split("-")[-1].encode() not in written


async def test_a_rotating_token_is_refreshed_before_it_expires(sims: Sims, clock: FakeClock, tmp_path: Path) -> None:
    # Slack's rotating tokens last 12 hours; one issued for an hour is inside Cohost's two hours of margin at once.
    async for oauth in start_oauth_bot(sims, clock, tmp_path / "cohost.db", rotate_tokens=True, token_lifetime_s=3600):
        await oauth.install(ACME)
        (first,) = oauth.slack.bot_tokens(ACME)
        await card_in(oauth, ACME)  # the request's authorization refreshes it first
        refreshed = [c for c in oauth.slack.api_calls("oauth.v2.access") if c.get("grant_type") == "refresh_token"]
        assert len(refreshed) == 1
        (_, current) = oauth.slack.bot_tokens(ACME)
        (team, _), *_ = oauth.slack.teams_of("chat.postMessage")
        assert team == ACME
        posted_with = [c for c in oauth.slack._api if c.method == "chat.postMessage"]
        assert [c.token for c in posted_with] == [current] and current != first


# -- with one workspace (SLACK_BOT_TOKEN) ----------------------------------------------------------------------------


async def test_with_one_workspace_app_uninstalled_is_only_said(bot: Any, caplog: pytest.LogCaptureFixture) -> None:
    await bot.command("new https://a.example --name Demo --minutes 30")
    await bot.card()
    ack = await bot.send(bot.slack.event_callback(bot.slack.team_id, {"type": "app_uninstalled"}))
    assert ack.status == 200
    for _ in range(50):
        if "replace SLACK_BOT_TOKEN" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "Slack says the bot token no longer works (Cohost was uninstalled): replace SLACK_BOT_TOKEN" in caplog.text
    async with bot.runtime.store.engine.connect() as conn:
        pending = (await conn.exec_driver_sql("SELECT count(*) FROM jobs WHERE done_at IS NULL")).scalar_one()
    assert pending == 2  # the card's warning and expiry are still to come
