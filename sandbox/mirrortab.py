"""MirrorTab, as its servers behave (doc + OpenAPI spec + NOTES.md): every call a POST with `api_key` in a JSON
body; 201 on create (the spec says 200: settable); 204 with no body for an empty list; `removed: "false"` with
`error_msg` on a failed remove; `401 {}` for a wrong key and field errors for a missing one."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from sandbox.server import SimServer, json_body

KillTimeStyle = Literal["ms", "s", "spec"]
PERMISSIONS = ("open", "gocode", "account")
_WORDS = ("cat", "coffee", "plum", "river", "violet", "maple", "otter", "comet")


@dataclass
class Session:
    session_id: str
    session_name: str
    go_url: str
    gocode: str
    kill_time: float
    permissions: str
    urls: list[str] = field(default_factory=list)


class MirrorTabSim(SimServer):
    name = "MirrorTab"

    def __init__(self, api_key: str = "mt-sandbox-key", *, clock: Callable[[], float] = time.time) -> None:
        self.api_key = api_key
        self.clock = clock
        self.create_status = 201
        self.kill_time_style: KillTimeStyle = "ms"
        self._sessions: dict[str, Session] = {}
        super().__init__()

    def variables(self) -> dict[str, str]:
        return {"MIRRORTAB_API_KEY": self.api_key, "MIRRORTAB_URL": self.url}

    def routes(self) -> None:
        self.app.router.add_post("/new_session", self._new)
        self.app.router.add_post("/list_sessions", self._list)
        self.app.router.add_post("/remove_session", self._remove)

    def reset(self) -> None:
        super().reset()
        self._sessions.clear()

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """The live sessions (past their kill time they are gone), as plain dicts; `.clear()` ends them all."""
        now = self.clock()
        for sid in [sid for sid, s in self._sessions.items() if s.kill_time <= now]:
            del self._sessions[sid]
        return _LiveView(self._sessions)

    def add_session(self, name: str = "Seeded", minutes: int = 45, permissions: str = "gocode") -> str:
        session = self._create(name, minutes, permissions, [])
        return session.session_id

    def _create(self, name: str, minutes: int, permissions: str, urls: list[str]) -> Session:
        session_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(30))
        gocode = f"{secrets.choice(_WORDS)}-{secrets.choice(_WORDS)}-{secrets.randbelow(900) + 100}"
        session = Session(
            session_id=session_id,
            session_name=name,
            go_url=f"{self.url}/go/{session_id}",
            gocode=gocode if permissions == "gocode" else "",
            kill_time=self.clock() + 60 * minutes,
            permissions=permissions,
            urls=urls,
        )
        self._sessions[session_id] = session
        return session

    async def _authorised(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body = await json_body(request)
        if body is None:
            return {}, web.json_response({"detail": "JSON parse error"}, status=400)
        if not body.get("api_key"):
            return body, web.json_response({"api_key": ["This field is required."]}, status=400)
        if body["api_key"] != self.api_key:
            return body, web.json_response({}, status=401)
        return body, None

    def _kill_time(self, session: Session, *, listing: bool) -> dict[str, Any]:
        if self.kill_time_style == "s":
            return {"kill_time_UTC": int(session.kill_time)}
        if self.kill_time_style == "spec" and not listing:
            return {"kill_time": str(int(session.kill_time))}
        return {"kill_time_UTC": int(session.kill_time * 1000)}

    async def _new(self, request: web.Request) -> web.Response:
        body, refused = await self._authorised(request)
        if refused is not None:
            return refused
        errors: dict[str, list[str]] = {}
        permissions = body.get("permissions")
        if permissions is None:
            errors["permissions"] = ["This field is required."]
        elif permissions not in PERMISSIONS:
            errors["permissions"] = [f'"{permissions}" is not a valid choice.']
        duration = body.get("duration_min")
        if duration is None:
            errors["duration_min"] = ["This field is required."]
        elif not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            errors["duration_min"] = ["A valid integer is required."]
        urls = body.get("urls", [])
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            errors["urls"] = ["Expected a list of items."]
        if errors or not isinstance(duration, int):
            return web.json_response(errors, status=400)
        session = self._create(str(body.get("session_name") or ""), duration, str(permissions), list(urls))
        answer = {
            "session_id": session.session_id,
            "session_name": session.session_name,
            "go_url": session.go_url,
            "gocode": session.gocode,
            **self._kill_time(session, listing=False),
        }
        return web.json_response(answer, status=self.create_status)

    async def _list(self, request: web.Request) -> web.Response:
        _, refused = await self._authorised(request)
        if refused is not None:
            return refused
        live = self.sessions
        if not live:
            return web.Response(status=204)
        return web.json_response(
            {
                s.session_id: {
                    "session_name": s.session_name,
                    "go_url": s.go_url,
                    "gocode": s.gocode,
                    **self._kill_time(s, listing=True),
                }
                for s in self._sessions.values()
            }
        )

    async def _remove(self, request: web.Request) -> web.Response:
        body, refused = await self._authorised(request)
        if refused is not None:
            return refused
        session_id = str(body.get("session_id") or "")
        if session_id not in self.sessions:
            return web.json_response({"removed": "false", "error_msg": "could not remove the session -e2"}, status=400)
        del self._sessions[session_id]
        return web.json_response({"removed": True})


class _LiveView(dict[str, dict[str, Any]]):
    """Sessions as dicts for tests; clearing it or deleting from it ends the sessions in the simulator."""

    def __init__(self, sessions: dict[str, Session]) -> None:
        super().__init__({sid: vars(s).copy() for sid, s in sessions.items()})
        self._sessions = sessions

    def clear(self) -> None:
        super().clear()
        self._sessions.clear()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        del self._sessions[key]
