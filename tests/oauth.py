"""OAuth mode's harness: Cohost with SLACK_CLIENT_ID/SECRET, workspaces installed through the pages, as a person
installs them, with a cookie-keeping client."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from yarl import URL

from bot.app import Runtime
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
    return sandbox_settings(
        sims,
        db,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_AUTHORIZE_URL=sims.slack.url + "/oauth/v2/authorize",
        COHOST_SECRET_KEY=Fernet.generate_key().decode(),
        **overrides,
    )


def add_workspaces(slack: SlackStandIn) -> None:
    for team in (ACME, GLOBEX):
        slack.add_workspace(team, NAMES[team])
        slack.add_user(PEOPLE[team], PEOPLE[team][2:].lower(), team_id=team)
        slack.add_channel(CHANNELS[team], team)


def cookie_keeping_client(bot_url: str) -> aiohttp.ClientSession:
    # Bolt sets its state cookie `Secure`, as it should be on the https a real install runs on; a browser treats
    # a loopback origin as secure, and so is this client told to.
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[URL(bot_url)])
    return aiohttp.ClientSession(cookie_jar=jar)


def link_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page) or re.search(
        rf'href="([^"]+)"[^>]*id="{element_id}"', page
    )
    assert found, f"no link {element_id} in the page"
    return html.unescape(found.group(1))


def form_of(page: str) -> dict[str, str]:
    """The hidden fields of the authorize page's form."""
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


@dataclass
class InstallRun:
    install_page: str
    authorize_url: str
    authorize_page: str
    #: Where "Allow" sent the browser back (the bot's redirect URL with code and state), and what it answered.
    redirect_url: str
    status: int
    page: str


async def install(http: aiohttp.ClientSession, bot_url: str, slack: SlackStandIn, team: str) -> InstallRun:
    """A person installs Cohost into `team`: the install page, its button, Slack's authorize page, Allow."""
    async with http.get(bot_url + "/slack/install") as resp:
        assert resp.status == 200, await resp.text()
        install_page = await resp.text()
    authorize_url = link_of(install_page, "add-to-slack")
    async with http.get(authorize_url) as resp:
        assert resp.status == 200, await resp.text()
        authorize_page = await resp.text()
    form = {**form_of(authorize_page), "team": team, "decision": "allow"}
    async with http.post(slack.url + "/oauth/v2/authorize", data=form) as resp:
        return InstallRun(
            install_page, authorize_url, authorize_page, str(resp.url), resp.status, await resp.text()
        )


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
            return await install(browser, self.url, self.slack, team)

    async def send(self, request: Any) -> tuple[int, str]:
        status, text, _ = await self.slack.send(self.http, self.events_url, request)
        return status, text

    async def command(self, team: str, text: str, *, command: str = "/cobrowse", **kwargs: Any) -> tuple[int, str]:
        request = self.slack.slash_command(
            command, text, team_id=team, user_id=PEOPLE[team], channel_id=CHANNELS[team], **kwargs
        )
        return await self.send(request)


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
