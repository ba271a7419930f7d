"""A person installing the app through the pages, as a browser would (keeping cookies): the app's install page,
its "Add to Slack" button, Slack's authorize page (the stand-in's), "Allow", and back to the app. For tests and
benchmarks."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import aiohttp
from yarl import URL


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


async def install(http: aiohttp.ClientSession, bot_url: str, slack_url: str, team: str) -> InstallRun:
    """A person installs Cohost into `team`: the install page, its button, Slack's authorize page, Allow."""
    async with http.get(bot_url + "/slack/install") as resp:
        assert resp.status == 200, await resp.text()
        install_page = await resp.text()
    authorize_url = link_of(install_page, "add-to-slack")
    async with http.get(authorize_url) as resp:
        assert resp.status == 200, await resp.text()
        authorize_page = await resp.text()
    form = {**form_of(authorize_page), "team": team, "decision": "allow"}
    async with http.post(slack_url + "/oauth/v2/authorize", data=form) as resp:
        return InstallRun(install_page, authorize_url, authorize_page, str(resp.url), resp.status, await resp.text())
