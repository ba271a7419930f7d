"""Socket Mode (`SLACK_APP_TOKEN` set) in a real process: `/healthz` answers 200 only while the socket to Slack is
up, and there is no `/slack/events` route (tests/e2e/test_socket_mode.py has the bot in process)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.server import SimServer, wait_until_healthy
from sandbox.slack import SlackStandIn
from sandbox.world import process_env, sqlite_url
from tests.prism import free_port
from tests.process.test_process import run_bot

APP_TOKEN = "xapp-1-A0COHOST-1-sandbox"


class SocketModeSlack(SimServer):
    """Slack's side of Socket Mode, as its docs describe it: `apps.connections.open` (POST, the app-level token in
    the Authorization header) answers a WebSocket URL, and on that socket Slack first sends a `hello`. `refuse()`
    plays Slack unreachable: the socket is dropped and neither the method nor the socket takes anyone back."""

    name = "Slack (Socket Mode)"

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.refusing = False
        super().__init__()

    def routes(self) -> None:
        self.app.router.add_post("/api/apps.connections.open", self._open)
        self.app.router.add_post("/api/auth.test", self._auth_test)
        self.app.router.add_get("/link/", self._link)

    async def _open(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.refusing:
            return web.json_response({"ok": False, "error": "service_unavailable"})
        return web.json_response({"ok": True, "url": "ws" + self.url.removeprefix("http") + "/link/?ticket=t1"})

    async def _auth_test(self, request: web.Request) -> web.Response:
        # The bot asks, at start, which workspace its bot token serves (as Slack's auth.test answers it).
        if request.headers.get("Authorization") != "Bearer xoxb-sandbox":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "team_id": "T0SOCKET", "user_id": "U0COHOST", "bot_id": "B0COHOST"})

    async def _link(self, request: web.Request) -> web.StreamResponse:
        if self.refusing or request.query.get("ticket") != "t1":
            return web.Response(status=403)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0COHOST"}}
        await socket.send_str(json.dumps(hello))
        async for _message in socket:  # Cohost acknowledges envelopes; none are sent here
            pass
        return socket

    async def refuse(self) -> None:
        self.refusing = True
        for socket in self.sockets:
            await socket.close()


@pytest.fixture
async def socket_slack() -> AsyncIterator[SocketModeSlack]:
    slack = SocketModeSlack()
    await slack.start()
    yield slack
    await slack.stop()


async def test_a_socket_mode_process_is_healthy_only_while_its_socket_is_up(
    tmp_path: Path, socket_slack: SocketModeSlack
) -> None:
    port = free_port()
    env = process_env(
        {
            "PORT": str(port),
            "SLACK_BOT_TOKEN": "xoxb-sandbox",
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": socket_slack.url + "/api/",
            "DATABASE_URL": sqlite_url(tmp_path / "cohost.db"),
        }
    )
    process = await run_bot(env, tmp_path, output=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, base)  # the socket is up
            assert len(socket_slack.sockets) == 1
            request = SlackStandIn().slash_command("/cobrowse", "new https://a.example")
            async with http.post(base + "/slack/events", data=request.body, headers=request.headers) as resp:
                assert resp.status == 404

            await socket_slack.refuse()
            deadline = asyncio.get_running_loop().time() + 5
            while True:
                async with http.get(base + "/healthz") as resp:
                    if resp.status == 503:
                        break
                assert asyncio.get_running_loop().time() < deadline, "still healthy 5 s after the socket dropped"
                await asyncio.sleep(0.1)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
