"""OAuth mode's harness: Cohost with SLACK_CLIENT_ID/SECRET, workspaces installed through the pages, as a person
installs them, with a cookie-keeping client."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bot.app import Runtime
from sandbox.installer import InstallRun, cookie_keeping_client, install
from sandbox.slack import SlackStandIn
from sandbox.world import Sims
from services.clock import FakeClock
from tests.conftest import sandbox_settings, start_bot

CLIENT_ID, CLIENT_SECRET = "1111.2222", "sandbox-client-secret"
#: Two workspaces installing Cohost, each with its own person and channel.
ACME, GLOBEX = "T1ACME", "T2GLOBEX"
PEOPLE = {ACME: "U1ANN", GLOBEX: "U2BOB"}
CHANNELS = {ACME: "C1GENERAL", GLOBEX: "C2GENERAL"}
NAMES = {ACME: "Acme", GLOBEX: "Globex"}


def oauth_settings_for(sims: Sims, db: Path, **overrides: Any) -> Any:
    oauth = sims.slack.oauth_variables(CLIENT_ID, CLIENT_SECRET)
    return sandbox_settings(sims, db, **oauth, COHOST_SECRET_KEY=Fernet.generate_key().decode(), **overrides)


def add_workspaces(slack: SlackStandIn) -> None:
    for team in (ACME, GLOBEX):
        slack.add_workspace(team, NAMES[team])
        slack.add_user(PEOPLE[team], PEOPLE[team][2:].lower(), team_id=team)
        slack.add_channel(CHANNELS[team], team)


@dataclass
class OAuthBot:
    sims: Sims
    slack: SlackStandIn
    runtime: Runtime
    clock: FakeClock
    url: str
    http: aiohttp.ClientSession
    db: Path

    @property
    def events_url(self) -> str:
        return self.url + "/slack/events"

    async def install(self, team: str) -> InstallRun:
        async with cookie_keeping_client(self.url) as browser:
            return await install(browser, self.url, self.slack.url, team)

    async def send(self, request: Any) -> tuple[int, str]:
        status, text, _ = await self.slack.send(self.http, self.events_url, request)
        return status, text

    async def command(self, team: str, text: str, *, command: str = "/cobrowse", **kwargs: Any) -> tuple[int, str]:
        request = self.slack.slash_command(
            command, text, team_id=team, user_id=PEOPLE[team], channel_id=CHANNELS[team], **kwargs
        )
        return await self.send(request)


async def both_installed(bot: OAuthBot) -> None:
    for team in (ACME, GLOBEX):
        run = await bot.install(team)
        assert run.status == 200, run.page


DEMO = "new https://a.example --name Demo --minutes 30"


async def card_in(bot: OAuthBot, team: str, text: str = DEMO, *, command: str = "/cobrowse") -> dict[str, Any]:
    """Starts a session from `team`'s channel and returns its card (the chat.postMessage payload plus its ts)."""
    channel = CHANNELS[team]
    before = len(bot.slack.posted(channel))
    status, _ = await bot.command(team, text, command=command)
    assert status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.posted(channel)) > before, what=f"a card in {channel}")
    return bot.slack.posted(channel)[before]


async def private_answer(bot: OAuthBot, team: str, text: str, *, command: str = "/cobrowse") -> dict[str, Any]:
    """The private answer to `team`'s command (through its own response_url, whatever else is answered meanwhile)."""
    key = uuid.uuid4().hex
    status, _ = await bot.command(team, text, command=command, response_url=bot.slack.response_url(key))
    assert status == 200

    def answered() -> dict[str, Any] | None:
        return next((r.body for r in bot.slack.responses if r.key == key), None)

    await bot.slack.wait_for(lambda: answered() is not None, what=f"the answer to {command} {text}")
    body = answered()
    assert body is not None and body.get("response_type", "ephemeral") == "ephemeral"
    return body


async def digest_in(oauth: OAuthBot, team: str, at: str = "09:00", *, command: str = "/cobrowse") -> None:
    """Subscribes `team`'s channel to the family's daily digest at `at` UTC."""
    assert (
        f"Daily at {at}" in (await private_answer(oauth, team, f"digest daily {at} --tz UTC", command=command))["text"]
    )


async def start_oauth_bot(
    sims: Sims,
    clock: FakeClock,
    db: Path,
    *,
    rotate_tokens: bool = False,
    token_lifetime_s: int = 43200,
    **overrides: Any,
) -> AsyncIterator[OAuthBot]:
    add_workspaces(sims.slack)
    runtime, runner, url = await start_bot(oauth_settings_for(sims, db, **overrides), clock)
    sims.slack.oauth_app(
        CLIENT_ID,
        CLIENT_SECRET,
        [url + "/slack/oauth_redirect"],
        events_url=url + "/slack/events",
        rotate_tokens=rotate_tokens,
        token_lifetime_s=token_lifetime_s,
    )
    async with aiohttp.ClientSession() as http:
        yield OAuthBot(sims, sims.slack, runtime, clock, url, http, db)
    await runner.cleanup()
