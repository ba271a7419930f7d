"""The install page in a real browser: Debian's chromium, driven by Playwright through its executable path (no
browser is downloaded). The page renders, its "Add to Slack" button leads to Slack's authorize page, and "Allow"
there brings the browser back to a workspace installed."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from sandbox.world import Sims
from services.clock import FakeClock
from tests.oauth import ACME, OAuthBot, start_oauth_bot

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="Debian's chromium is not installed (scripts/test installs it)"
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def oauth(sims: Sims, clock: FakeClock, tmp_path: Path) -> AsyncIterator[OAuthBot]:
    async for bot in start_oauth_bot(sims, clock, tmp_path / "cohost.db"):
        yield bot


async def test_the_install_page_in_a_browser_leads_to_slack_and_back_installed(
    browser: Browser, oauth: OAuthBot, tmp_path: Path
) -> None:
    page = await browser.new_page()
    answered: list[str] = []
    page.on("response", lambda response: answered.append(response.url))
    response = await page.goto(oauth.url + "/slack/install")
    assert response is not None and response.status == 200
    assert await page.title() == "Add Cohost to Slack"
    button = page.get_by_role("link", name="Add to Slack")
    assert await button.is_visible()
    href = await button.get_attribute("href")
    assert href is not None and href.startswith(oauth.slack.url + "/oauth/v2/authorize?")
    assert "client_id=1111.2222" in href and "scope=commands,chat:write," in href
    await page.screenshot(path=str(tmp_path / "install.png"))
    # Nothing on the page comes from anywhere but Cohost itself.
    assert {url.split("/slack/")[0] for url in answered} == {oauth.url}

    await button.click()
    await page.wait_for_url(oauth.slack.url + "/oauth/v2/authorize?**")
    await page.select_option("select[name=team]", ACME)
    await page.click("#allow")
    await page.wait_for_url(oauth.url + "/slack/oauth_redirect?**")
    assert "Cohost is installed in Acme" in await page.inner_text("h1")
    assert oauth.slack.bot_tokens(ACME)
