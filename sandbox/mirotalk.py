"""MiroTalk SFU v2.3.77, as a real server answers (NOTES.md): the raw secret in `authorization`, two kinds of
403 (wrong secret; endpoint disabled by the admin), a 200 web page for any path it lacks (also under /api/v1,
e.g. `DELETE /meeting/:room` on an older server), join links built from the Host header without encoding
`room`, `roomPassword` or `duration`, and `totalUsers` where its swagger says `totalPeers`."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jwt
from aiohttp import web

from sandbox.server import SimServer

ENDPOINTS = ("stats", "meetings", "meeting", "meetingEnd", "join", "token")
DISABLED_TEXT = "This endpoint has been disabled. Please contact the administrator for further information."
HOME_PAGE = "<!DOCTYPE html><html><head><title>MiroTalk SFU</title></head><body>Landing</body></html>"
_EXPIRE = re.compile(r"^(\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class PeerState:
    name: str
    presenter: bool = False
    video: bool = False
    audio: bool = False
    screen: bool = False
    hand: bool = False
    os: str = "Linux"
    browser: str = "Firefox"


@dataclass
class Ended:
    room: str
    redirect: str | None
    peers: list[PeerState] = field(default_factory=list)


class MiroTalkSim(SimServer):
    name = "MiroTalk"

    def __init__(self, api_secret: str = "mirotalk-sandbox-secret-0123456789abcdef") -> None:
        self.api_secret = api_secret
        #: Endpoints switched off by the server's admin (a real server ships with meetings, meetingEnd, token off).
        self.disabled: set[str] = set()
        #: An older server: no `DELETE /meeting/:room`.
        self.legacy = False
        #: `totalUsers` as a real server says, or `totalPeers` as the swagger says.
        self.users_key = "totalUsers"
        self.rooms: dict[str, list[PeerState]] = {}
        self.ended: list[Ended] = []
        super().__init__()

    def routes(self) -> None:
        api = "/api/v1"
        self.app.router.add_get(f"{api}/stats", self._guard("stats", self._stats))
        self.app.router.add_get(f"{api}/meetings", self._guard("meetings", self._meetings))
        self.app.router.add_post(f"{api}/meeting", self._guard("meeting", self._meeting))
        self.app.router.add_delete(f"{api}/meeting/{{room}}", self._guard("meetingEnd", self._end))
        self.app.router.add_post(f"{api}/join", self._guard("join", self._join))
        self.app.router.add_post(f"{api}/token", self._guard("token", self._token))
        # Seeding from another process (contract tests run the simulator behind Prism).
        self.app.router.add_post("/_sandbox/peer", self._seed_peer)
        self.app.router.add_route("*", "/{tail:.*}", self._home_page)

    def reset(self) -> None:
        super().reset()
        self.disabled.clear()
        self.legacy = False
        self.rooms.clear()
        self.ended.clear()

    def add_peer(self, room: str, name: str, **flags: Any) -> None:
        """Someone joined `room` (a room exists on the server once someone is in it)."""
        self.rooms.setdefault(room, []).append(PeerState(name, **flags))

    async def _seed_peer(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.add_peer(str(data["room"]), str(data["name"]))
        return web.json_response({"ok": True})

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _guard(self, endpoint: str, handler: Any) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            if endpoint == "meetingEnd" and self.legacy:
                return await self._home_page(request)
            if request.headers.get("authorization") != self.api_secret:
                return web.json_response({"error": "Unauthorized!"}, status=403)
            if endpoint in self.disabled:
                return web.json_response({"error": DISABLED_TEXT, "success": False}, status=403)
            return await handler(request)  # type: ignore[no-any-return]

        return serve

    async def _home_page(self, request: web.Request) -> web.Response:
        return web.Response(text=HOME_PAGE, content_type="text/html")

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.headers.get('Host', request.host)}"

    async def _json(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        raw = await request.read()
        if "application/json" not in request.headers.get("Content-Type", ""):
            # Express leaves the body unparsed and the handler reads fields of undefined.
            return None, web.json_response(
                {"status": 500, "message": "Cannot read properties of undefined"}, status=500
            )
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return None, web.json_response({"status": 404, "message": "Unexpected token in JSON"}, status=400)
        if not isinstance(data, dict):
            return None, web.json_response({"status": 404, "message": "Unexpected JSON"}, status=400)
        return data, None

    # -- endpoints -------------------------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "success": True,
                "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                "totalRooms": len(self.rooms),
                self.users_key: sum(len(peers) for peers in self.rooms.values()),
            }
        )

    async def _meetings(self, request: web.Request) -> web.Response:
        meetings = [{"roomId": room, "peers": [vars(peer) for peer in peers]} for room, peers in self.rooms.items()]
        return web.json_response({"meetings": meetings})

    async def _meeting(self, request: web.Request) -> web.Response:
        return web.json_response({"meeting": f"{self._base(request)}/join/{uuid.uuid4()}"})

    async def _join(self, request: web.Request) -> web.Response:
        data, refusal = await self._json(request)
        if refusal is not None or data is None:
            return refusal or web.Response(status=500)
        # Falsy fields take the server's defaults; room, roomPassword and duration go in unencoded.
        parts = [
            f"room={data.get('room') or 'test'}",
            f"roomPassword={data.get('roomPassword') or False}".replace("False", "false"),
            f"name={quote(str(data.get('name') or 'mirotalksfu'))}",
            *(
                f"{flag}={str(bool(data.get(flag))).lower()}"
                for flag in ("audio", "video", "screen", "chat", "hide", "notify")
            ),
            f"duration={data.get('duration') or 'unlimited'}",
        ]
        token = data.get("token")
        if isinstance(token, dict) and token:
            signed = self._sign(token)
            if signed is None:
                return web.json_response({"status": 500, "message": "Invalid expire"}, status=500)
            parts.append(f"token={signed}")
        return web.json_response({"join": f"{self._base(request)}/join?{'&'.join(parts)}"})

    async def _token(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not raw.strip():
            return web.json_response({"token": ""})
        data, refusal = await self._json(request)
        if refusal is not None or data is None:
            return refusal or web.Response(status=500)
        signed = self._sign(data)
        if signed is None:
            return web.json_response({"status": 500, "message": "Invalid expire"}, status=500)
        return web.json_response({"token": signed})

    def _sign(self, data: dict[str, Any]) -> str | None:
        match = _EXPIRE.match(str(data.get("expire", "1h")))
        if not match:
            return None
        lifetime = int(match.group(1)) * _SECONDS[match.group(2)]
        claims = {
            "username": data.get("username", "username"),
            "password": data.get("password", "password"),
            "presenter": bool(data.get("presenter", True)),
            "exp": int(dt.datetime.now(dt.UTC).timestamp()) + lifetime,
        }
        return jwt.encode(claims, self.api_secret, algorithm="HS256")

    async def _end(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        if room not in self.rooms:
            return web.json_response({"success": False, "error": "Room not found"}, status=404)
        data, refusal = await self._json(request) if await request.read() else ({}, None)
        if refusal is not None:
            return refusal
        redirect = (data or {}).get("redirect") or None
        self.ended.append(Ended(room, redirect, self.rooms.pop(room)))
        return web.json_response({"success": True, "message": "Meeting ended", "room": room})
