"""Coviu's API (coviu-swagger.json + NOTES.md): client-credentials tokens with refresh and a settable lifetime;
sessions whose start must lie in the future and end after their start; cancel (DELETE) only before the start, a
running session ended by setting its end; participants with their own `entry_url`, roles answered uppercase;
pages of at most 200."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.server import SimServer, json_body

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"message": message}, status=status)


class CoviuSim(SimServer):
    name = "Coviu"

    def __init__(
        self,
        api_key: str = "coviu-sandbox-key",
        api_secret: str = "coviu-sandbox-secret",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.clock = clock
        self.token_lifetime_s = 3600
        self.access_tokens: dict[str, float] = {}  # token -> expiry (epoch s)
        self.refresh_tokens: set[str] = set()
        self.refuse_refresh = False
        self.sessions: dict[str, dict[str, Any]] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.grants = 0
        self.refreshes = 0
        super().__init__()

    def routes(self) -> None:
        router = self.app.router
        router.add_post("/auth/token", self._token)
        router.add_post("/sessions", self._auth(self._create_session))
        router.add_get("/sessions", self._auth(self._list_sessions))
        router.add_get("/sessions/{sid}", self._auth(self._get_session))
        router.add_put("/sessions/{sid}", self._auth(self._update_session))
        router.add_delete("/sessions/{sid}", self._auth(self._cancel_session))
        router.add_post("/sessions/{sid}/participants", self._auth(self._add_participant))
        router.add_get("/sessions/{sid}/participants", self._auth(self._list_participants))
        router.add_get("/participants/{pid}", self._auth(self._get_participant))
        router.add_put("/participants/{pid}", self._auth(self._update_participant))
        router.add_delete("/participants/{pid}", self._auth(self._cancel_participant))

    def revoke_tokens(self) -> None:
        """The access tokens stop working (as after their expiry): the next call is answered 401."""
        self.access_tokens.clear()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- tokens ------------------------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        form = dict(parse_qsl((await request.read()).decode()))
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if self.refuse_refresh or form.get("refresh_token") not in self.refresh_tokens:
                return web.json_response({"error": "invalid_grant"}, status=400)
            self.refresh_tokens.discard(form["refresh_token"])
            self.refreshes += 1
        elif grant == "client_credentials":
            self.grants += 1
        else:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens[access] = self.clock() + self.token_lifetime_s
        self.refresh_tokens.add(refresh)
        return web.json_response(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": self.token_lifetime_s,
                "token_type": "Bearer",
                "scope": "sessions",
            }
        )

    def _auth(self, handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            expiry = self.access_tokens.get(token)
            if expiry is None or expiry <= self.clock():
                return web.json_response({"message": "Unauthorized"}, status=401)
            return await handler(request)

        return serve

    # -- sessions ----------------------------------------------------------------------------------------------

    def _view(self, session: dict[str, Any], deleted: bool = False) -> dict[str, Any]:
        people = [
            self._participant_view(p)
            for p in self.participants.values()
            if p["session_id"] == session["session_id"] and (deleted or not p.get("deleted_at"))
        ]
        return {
            **{k: v for k, v in session.items() if k not in ("start", "end") and v is not None},
            "start_time": _iso(session["start"]),
            "end_time": _iso(session["end"]),
            "participants": people,
        }

    def _participant_view(self, participant: dict[str, Any]) -> dict[str, Any]:
        # Absent fields are left out, never null: the swagger types them as strings.
        fields = {k: v for k, v in participant.items() if v is not None}
        return {**fields, "role": str(participant["role"]).upper()}

    def _times(self, body: dict[str, Any], start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
        try:
            if "start_time" in body:
                start = datetime.fromisoformat(str(body["start_time"]).replace("Z", "+00:00"))
            if "end_time" in body:
                end = datetime.fromisoformat(str(body["end_time"]).replace("Z", "+00:00"))
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"message": "Times are ISO-8601"}', content_type="application/json"
            ) from None
        if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
            raise web.HTTPBadRequest(
                text='{"message": "start_time and end_time are required, in UTC"}', content_type="application/json"
            )
        if end <= start:
            raise web.HTTPBadRequest(
                text='{"message": "end_time must be after start_time"}', content_type="application/json"
            )
        return start, end

    def _new_participant(self, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
        role = str(body.get("role") or "guest")
        if role not in ("host", "guest"):
            raise web.HTTPBadRequest(text='{"message": "role is host or guest"}', content_type="application/json")
        pid = secrets.token_hex(8)
        participant = {
            "participant_id": pid,
            "session_id": session_id,
            "display_name": body.get("display_name"),
            "role": role,
            "state": body.get("state") or "test-ok",
            "picture": body.get("picture"),
            "entry_url": f"{self.url}/session/{session_id}?p={secrets.token_urlsafe(12)}",
            "deleted_at": None,
        }
        self.participants[pid] = participant
        return participant

    async def _create_session(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if body is None:
            return _bad("A JSON body is required")
        start, end = self._times(body, None, None)
        if start <= self.now():
            return _bad("start_time must be in the future")
        sid = secrets.token_hex(8)
        self.sessions[sid] = {
            "session_id": sid,
            "session_name": body.get("session_name"),
            "start": start,
            "end": end,
            "picture": body.get("picture"),
            "feature_flags": body.get("feature_flags") or [],
            "canceled_time": None,
            "team_id": "team-sandbox",
            "client_id": "client-sandbox",
        }
        for person in body.get("participants") or []:
            self._new_participant(sid, person)
        return web.json_response(self._view(self.sessions[sid]))

    def _session(self, request: web.Request) -> dict[str, Any]:
        session = self.sessions.get(request.match_info["sid"])
        if session is None:
            raise web.HTTPNotFound(text='{"message": "Session not found"}', content_type="application/json")
        return session

    def _state(self, session: dict[str, Any]) -> str:
        now = self.now()
        if session["canceled_time"]:
            return "canceled"
        return "upcoming" if now < session["start"] else ("running" if now < session["end"] else "finished")

    async def _list_sessions(self, request: web.Request) -> web.Response:
        query = request.query
        page, size = int(query.get("page", 0)), int(query.get("page_size", 50))
        if size > 200 or size < 1:
            return _bad("page_size is 1 to 200")
        chosen = [
            s
            for s in self.sessions.values()
            if (query.get("include_canceled") == "true" or not s["canceled_time"])
            and (not query.get("state") or self._state(s) == query["state"])
        ]
        if query.get("start_time"):
            after = datetime.fromisoformat(query["start_time"].replace("Z", "+00:00"))
            chosen = [s for s in chosen if s["end"] >= after]
        if query.get("end_time"):
            before = datetime.fromisoformat(query["end_time"].replace("Z", "+00:00"))
            chosen = [s for s in chosen if s["start"] <= before]
        chosen.sort(key=lambda s: s["start"], reverse=query.get("order") == "desc")
        content = chosen[page * size : (page + 1) * size]
        return web.json_response(
            {
                "content": [self._view(s) for s in content],
                "more": (page + 1) * size < len(chosen),
                "page": page,
                "page_size": size,
                "page_count": max(1, -(-len(chosen) // size)),
            }
        )

    async def _get_session(self, request: web.Request) -> web.Response:
        return web.json_response(
            self._view(self._session(request), request.query.get("deleted_participants") == "true")
        )

    async def _update_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if self._state(session) in ("finished", "canceled"):
            return _bad("A finished session cannot be changed")
        body = await json_body(request) or {}
        if "start_time" in body and self._state(session) != "upcoming":
            return _bad("The session has started: its start cannot move")
        start, end = self._times(body, session["start"], session["end"])
        if "start_time" in body and start <= self.now():
            return _bad("start_time must be in the future")
        session.update(
            start=start,
            end=end,
            session_name=body.get("session_name", session["session_name"]),
            picture=body.get("picture", session["picture"]),
        )
        return web.json_response(self._view(session))

    async def _cancel_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if self._state(session) != "upcoming":
            return _bad("Only a session that has not started can be cancelled; end a running one with end_time")
        session["canceled_time"] = _iso(self.now())
        return web.json_response({"ok": True})

    # -- participants ----------------------------------------------------------------------------------------

    async def _add_participant(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if self._state(session) in ("finished", "canceled"):
            return _bad("A finished session cannot be changed")
        participant = self._new_participant(session["session_id"], await json_body(request) or {})
        return web.json_response(self._participant_view(participant))

    async def _list_participants(self, request: web.Request) -> web.Response:
        session = self._session(request)
        people = [
            self._participant_view(p)
            for p in self.participants.values()
            if p["session_id"] == session["session_id"] and not p.get("deleted_at")
        ]
        return web.json_response(
            {"content": people, "more": False, "page": 0, "page_size": len(people) or 1, "page_count": 1}
        )

    def _participant(self, request: web.Request) -> dict[str, Any]:
        participant = self.participants.get(request.match_info["pid"])
        if participant is None or participant.get("deleted_at"):
            raise web.HTTPNotFound(text='{"message": "Participant not found"}', content_type="application/json")
        return participant

    async def _get_participant(self, request: web.Request) -> web.Response:
        return web.json_response(self._participant_view(self._participant(request)))

    async def _update_participant(self, request: web.Request) -> web.Response:
        participant = self._participant(request)
        body = await json_body(request) or {}
        if body.get("role") and body["role"] not in ("host", "guest"):
            return _bad("role is host or guest")
        participant.update({k: v for k, v in body.items() if k in ("display_name", "role", "state", "picture")})
        return web.json_response(self._participant_view(participant))

    async def _cancel_participant(self, request: web.Request) -> web.Response:
        self._participant(request)["deleted_at"] = _iso(self.now())
        return web.json_response({"ok": True})
