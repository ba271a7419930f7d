"""MiroTalk SFU v2.3.77, as a real server answers (NOTES.md): the raw secret in `authorization`, two kinds of
403 (wrong secret; endpoint disabled by the admin, checked before the secret), a 200 web page for any path it
lacks (also under /api/v1, e.g. `DELETE /meeting/:room` on an older server), join links built from the Host
header without encoding `room`, `roomPassword` or `duration`, and `totalUsers` where its swagger says
`totalPeers`.

Its defaults are a server's as shipped (NOTES.md, "the default `.env`"): `meetings`, `meetingEnd` and `token`
switched off, and one host user, `username` / `password`. What the server does with a link someone opens is
`check_join`: a `token=` must be one it signed, unexpired, for one of its host users, else "unauthorized"; a
link without a token gets in (host protection off: the first person in presents).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jwt
from aiohttp import web

from sandbox.server import SimServer

ENDPOINTS = ("stats", "meetings", "meeting", "meetingEnd", "join", "token")
#: The endpoints a server ships with switched off (`API_ALLOW_MEETINGS`, `_MEETING_END`, `_TOKEN` false).
SWITCHABLE = ("meetings", "meetingEnd", "token")
#: The host user of a server's default config.
DEFAULT_HOST_USERS = {"username": "password"}
DISABLED_TEXT = "This endpoint has been disabled. Please contact the administrator for further information."
#: What `check_join` answers for a link that gets its person in.
JOIN_OK = "ok"
_JOIN_FIELDS = frozenset(
    [
        "room",
        "roomPassword",
        "name",
        "avatar",
        "audio",
        "video",
        "screen",
        "chat",
        "hide",
        "notify",
        "duration",
        "token",
    ]
)
_DURATION = re.compile(r"^(unlimited|\d{2}:[0-5]\d:[0-5]\d)$")
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


@dataclass(frozen=True)
class IssuedToken:
    """What a token the server signed stands for (a real server encrypts it inside the JWT; kept here instead)."""

    username: str
    password: str
    presenter: bool
    expires_at: float


class MiroTalkSim(SimServer):
    name = "MiroTalk"

    def __init__(
        self,
        api_secret: str = "mirotalk-sandbox-secret-0123456789abcdef",
        *,
        switched_on: Iterable[str] = (),
        host_users: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_secret = api_secret
        #: The server's own key for tokens (its config's JWT key), not the API secret.
        self.jwt_key = "mirotalk-sandbox-jwt-key-" + uuid.uuid4().hex
        self.clock = clock
        unknown = set(switched_on) - set(SWITCHABLE)
        if unknown:
            raise ValueError(f"not a switchable endpoint: {', '.join(sorted(unknown))}")
        self._shipped_disabled = set(SWITCHABLE) - set(switched_on)
        self._shipped_host_users = dict(DEFAULT_HOST_USERS if host_users is None else host_users)
        #: Endpoints switched off by the server's admin.
        self.disabled: set[str] = set(self._shipped_disabled)
        #: The host users of the server's config (username -> password).
        self.host_users: dict[str, str] = dict(self._shipped_host_users)
        #: An older server: no `DELETE /meeting/:room`.
        self.legacy = False
        #: `totalUsers` as a real server says, or `totalPeers` as the swagger says.
        self.users_key = "totalUsers"
        self.rooms: dict[str, list[PeerState]] = {}
        self.ended: list[Ended] = []
        self._issued: dict[str, IssuedToken] = {}
        super().__init__()

    def variables(self) -> dict[str, str]:
        """Cohost without a host user of its own, as MiroTalk's settings are when only the two required are set
        (`host_variables` adds one)."""
        return {"MIROTALK_URL": self.url, "MIROTALK_API_SECRET": self.api_secret}

    def host_variables(self, username: str) -> dict[str, str]:
        """The settings that give Cohost `username`, one of this server's host users, for presenter links."""
        return {"MIROTALK_HOST_USERNAME": username, "MIROTALK_HOST_PASSWORD": self.host_users[username]}

    def switch_on(self, *endpoints: str) -> None:
        self.disabled.difference_update(endpoints)

    def switch_off(self, *endpoints: str) -> None:
        self.disabled.update(endpoints)

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
        self.app.router.add_post("/_sandbox/switches", self._set_switches)
        self.app.router.add_route("*", "/{tail:.*}", self._home_page)

    def reset(self) -> None:
        """Back to the server as it was started: its switches and host users, no rooms."""
        super().reset()
        self.disabled = set(self._shipped_disabled)
        self.host_users = dict(self._shipped_host_users)
        self.legacy = False
        self.rooms.clear()
        self.ended.clear()
        self._issued.clear()

    def add_peer(self, room: str, name: str, **flags: Any) -> None:
        """Someone joined `room` (a room exists on the server once someone is in it)."""
        self.rooms.setdefault(room, []).append(PeerState(name, **flags))

    async def _seed_peer(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.add_peer(str(data["room"]), str(data["name"]))
        return web.json_response({"ok": True})

    async def _set_switches(self, request: web.Request) -> web.Response:
        """`{"on": [...], "off": [...]}`: the server's admin changing its `API_ALLOW_*` settings."""
        data = await request.json()
        self.switch_on(*data.get("on", ()))
        self.switch_off(*data.get("off", ()))
        return web.json_response({"disabled": sorted(self.disabled)})

    # -- what happens when someone opens a link --------------------------------------------------------------

    def read_token(self, token: str) -> IssuedToken | None:
        """The token as the server reads it when someone opens a link carrying it: None unless this server signed
        it and it has not expired."""
        try:
            claims = jwt.decode(token, self.jwt_key, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.PyJWTError:
            return None
        issued = self._issued.get(str(claims.get("data")))
        if issued is None or issued.expires_at <= self.clock():
            return None
        return issued

    def check_join(self, url: str) -> str:
        """What the server does with someone opening `url`: `JOIN_OK`, or why they do not get in."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.url:
            return "not a link to this server"
        if parts.path.startswith("/join/") and not parts.query:
            room = unquote(parts.path.removeprefix("/join/"))
            return JOIN_OK if room and "/" not in room else "no room in the link"
        if parts.path != "/join":
            return "not a join link"
        fields: dict[str, str] = {}
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            if key not in _JOIN_FIELDS or key in fields:
                # The server does not encode `room`, `roomPassword` or `duration`: a `&` in one breaks the link.
                return f"broken link (unexpected `{key}`)"
            fields[key] = unquote(value)
        if not fields.get("room"):
            return "no room in the link"
        if not _DURATION.match(fields.get("duration", "unlimited")):
            return "invalid duration"
        if "token" in fields:
            issued = self.read_token(fields["token"])
            if issued is None or self.host_users.get(issued.username) != issued.password:
                return "unauthorized"
        return JOIN_OK

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _guard(self, endpoint: str, handler: Any) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            if endpoint == "meetingEnd" and self.legacy:
                return await self._home_page(request)
            # The switch first, then the secret: a wrong secret also gets the "disabled" answer there.
            if endpoint in self.disabled:
                return web.json_response({"error": DISABLED_TEXT, "success": False}, status=403)
            if request.headers.get("authorization") != self.api_secret:
                return web.json_response({"error": "Unauthorized!"}, status=403)
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
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())),
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
        """A token for whatever pair was sent (the server checks it only when the link is opened); missing fields
        take the server's defaults, the password included."""
        match = _EXPIRE.match(str(data.get("expire") or "1h"))
        if not match:
            return None
        lifetime = int(match.group(1)) * _SECONDS[match.group(2)]
        presenter = data.get("presenter", True)
        issued = IssuedToken(
            username=str(data.get("username") or "username"),
            password=str(data.get("password") or "password"),
            presenter=presenter is True or str(presenter).lower() == "true",
            expires_at=self.clock() + lifetime,
        )
        token_id = uuid.uuid4().hex
        self._issued[token_id] = issued
        return jwt.encode({"data": token_id, "exp": int(issued.expires_at)}, self.jwt_key, algorithm="HS256")

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
