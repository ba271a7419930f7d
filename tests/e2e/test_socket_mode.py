"""Socket Mode (`SLACK_APP_TOKEN` set): Slack's requests come through the socket only. There is no
`/slack/events` route to impersonate anyone through (Bolt does not verify signatures in Socket Mode), and
`/healthz` fails while the socket is down (tests/process/test_socket_mode.py: as a real process, the socket up)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from sandbox.world import Sims
from services.clock import FakeClock
from tests.conftest import CAROL, calls_after_start, sandbox_settings, start_bot

#: An app-level token: with one set, the bot runs in Socket Mode (Slack's stand-in offers it no socket here).
APP_TOKEN = "xapp-1-A0COHOST-1-sandbox"


async def test_socket_mode_serves_no_slack_route_and_is_unhealthy_until_the_socket_is_up(
    sims: Sims, clock: FakeClock, tmp_path: Path
) -> None:
    settings = sandbox_settings(sims, tmp_path / "cohost.db", SLACK_APP_TOKEN=APP_TOKEN)
    runtime, runner, url = await start_bot(settings, clock)
    try:
        assert {resource.canonical for resource in runtime.web.router.resources()} == {"/healthz"}
        async with aiohttp.ClientSession() as http:
            # What impersonated an admin before: a request to the HTTP route, signed or not.
            for request in (
                sims.slack.slash_command("/cobrowse", "reseller create Acme", user_id=CAROL),
                sims.slack.slash_command("/cobrowse", "new https://a.example"),
            ):
                for headers in (request.headers, {"Content-Type": "application/x-www-form-urlencoded"}):
                    async with http.post(url + "/slack/events", data=request.body, headers=headers) as resp:
                        assert resp.status == 404
            async with http.get(url + "/healthz") as resp:
                assert resp.status == 503  # no socket yet: this process cannot hear Slack
        assert not sims.mirrortab.sessions
        assert not calls_after_start(sims.slack)
    finally:
        await runner.cleanup()
