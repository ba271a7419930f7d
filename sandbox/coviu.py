"""Coviu's API (coviu-swagger.json + NOTES.md): client-credentials tokens with refresh and a settable lifetime;
sessions whose start must lie in the future and end after their start; cancel (DELETE) only before the start, a
running session ended by setting its end; participants with their own `entry_url`, roles answered uppercase;
pages of at most 200 (200 by default).

`GET /sessions` filters as the swagger says: `start_time` / `end_time` keep the sessions that *start* at or after /
up to and including them; `state` keeps the sessions with a participant in that free-form state (the participants'
own field, not a session status: a session has none); canceled sessions only with `include_canceled=true`; removed
participants only with `deleted_participants=true`. Without a time filter the pages are in creation order, with one
by start time; `order` reverses either (`reverse` / `backwards`, as the swagger words it). A value that does not
parse is answered 400, as the swagger lists.

A canceled participant is kept with its `deleted_at` (the swagger's Participant has the field, and the lists return
removed participants on request): `GET /participants/{id}` still answers it. Being canceled is final, so changing
or canceling it again is refused (strict: the swagger says only that it "may not be uncanceled"), and so is
canceling one after its session has finished (the swagger).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
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

    def variables(self) -> dict[str, str]:
        return {"COVIU_API_KEY": self.api_key, "COVIU_API_SECRET": self.api_secret, "COVIU_URL": self.url}

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

    def _people(self, session: dict[str, Any], deleted: bool = False) -> list[dict[str, Any]]:
        """The session's participants; the canceled ones only when `deleted`."""
        return [
            p
            for p in self.participants.values()
            if p["session_id"] == session["session_id"] and (deleted or not p.get("deleted_at"))
        ]

    def _view(self, session: dict[str, Any], deleted: bool = False) -> dict[str, Any]:
        return {
            **{k: v for k, v in session.items() if k not in ("start", "end") and v is not None},
            "start_time": _iso(session["start"]),
            "end_time": _iso(session["end"]),
            "participants": [self._participant_view(p) for p in self._people(session, deleted)],
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
            "state": body.get("state"),  # the integrator's own free-form value, if any
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

    def _status(self, session: dict[str, Any]) -> str:
        """Where the session stands now, for Coviu's rules (what may change); Coviu answers no such field."""
        now = self.now()
        if session["canceled_time"]:
            return "canceled"
        return "upcoming" if now < session["start"] else ("running" if now < session["end"] else "finished")

    async def _list_sessions(self, request: web.Request) -> web.Response:
        query = request.query
        page, size = _int_param(query, "page", 0), _int_param(query, "page_size", 200)
        if size > 200 or size < 1 or page < 0:
            return _bad("page_size is 1 to 200, page at least 0")
        starting_from, starting_until = _time_param(query, "start_time"), _time_param(query, "end_time")
        include_canceled = _bool_param(query, "include_canceled")
        deleted = _bool_param(query, "deleted_participants")
        order = query.get("order")
        if order is not None and order not in _ORDERS:
            return _bad("Invalid `order`")
        state = query.get("state")
        chosen = [
            s
            for s in self.sessions.values()  # in creation order
            if (include_canceled or not s["canceled_time"])
            and (starting_from is None or s["start"] >= starting_from)
            and (starting_until is None or s["start"] <= starting_until)
            and (state is None or any(p["state"] == state for p in self._people(s, deleted)))
        ]
        if starting_from is not None or starting_until is not None:
            chosen.sort(key=lambda s: s["start"])
        if order in ("reverse", "backwards"):
            chosen.reverse()
        content = chosen[page * size : (page + 1) * size]
        return web.json_response(
            {
                "content": [self._view(s, deleted) for s in content],
                "more": (page + 1) * size < len(chosen),
                "page": page,
                "page_size": size,
                "page_count": max(1, -(-len(chosen) // size)),
            }
        )

    async def _get_session(self, request: web.Request) -> web.Response:
        deleted = _bool_param(request.query, "deleted_participants")
        return web.json_response(self._view(self._session(request), deleted))

    async def _update_session(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if self._status(session) in ("finished", "canceled"):
            return _bad("A finished session cannot be changed")
        body = await json_body(request) or {}
        if "start_time" in body and self._status(session) != "upcoming":
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
        if self._status(session) != "upcoming":
            return _bad("Only a session that has not started can be cancelled; end a running one with end_time")
        session["canceled_time"] = _iso(self.now())
        return web.json_response({"ok": True})

    # -- participants ----------------------------------------------------------------------------------------

    async def _add_participant(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if self._status(session) in ("finished", "canceled"):
            return _bad("A finished session cannot be changed")
        participant = self._new_participant(session["session_id"], await json_body(request) or {})
        return web.json_response(self._participant_view(participant))

    async def _list_participants(self, request: web.Request) -> web.Response:
        session = self._session(request)
        deleted = _bool_param(request.query, "deleted_participants")
        people = [self._participant_view(p) for p in self._people(session, deleted)]
        return web.json_response(
            {"content": people, "more": False, "page": 0, "page_size": len(people) or 1, "page_count": 1}
        )

    def _participant(self, request: web.Request) -> dict[str, Any]:
        participant = self.participants.get(request.match_info["pid"])
        if participant is None:
            raise web.HTTPNotFound(text='{"message": "Participant not found"}', content_type="application/json")
        return participant

    def _live_participant(self, request: web.Request) -> dict[str, Any]:
        participant = self._participant(request)
        if participant.get("deleted_at"):
            raise web.HTTPBadRequest(
                text='{"message": "The participant has been canceled"}', content_type="application/json"
            )
        return participant

    async def _get_participant(self, request: web.Request) -> web.Response:
        return web.json_response(self._participant_view(self._participant(request)))

    async def _update_participant(self, request: web.Request) -> web.Response:
        participant = self._live_participant(request)
        body = await json_body(request) or {}
        if body.get("role") and body["role"] not in ("host", "guest"):
            return _bad("role is host or guest")
        participant.update({k: v for k, v in body.items() if k in ("display_name", "role", "state", "picture")})
        return web.json_response(self._participant_view(participant))

    async def _cancel_participant(self, request: web.Request) -> web.Response:
        participant = self._live_participant(request)
        if self._status(self.sessions[participant["session_id"]]) == "finished":
            return _bad("A participant may not be canceled after the session has finished")
        participant["deleted_at"] = _iso(self.now())
        return web.json_response({"ok": True})

    # -- for tests ---------------------------------------------------------------------------------------------

    def seed_session(
        self,
        name: str,
        start: datetime,
        end: datetime,
        *,
        participant_states: tuple[str, ...] = (),
        canceled: bool = False,
    ) -> str:
        """A session made elsewhere (outside Coviu's rule that a start lies in the future, so that one can have
        started long ago), with a participant in each of `participant_states`; returns its id."""
        sid = secrets.token_hex(8)
        self.sessions[sid] = {
            "session_id": sid,
            "session_name": name,
            "start": start,
            "end": end,
            "picture": None,
            "feature_flags": [],
            "canceled_time": _iso(min(start, self.now())) if canceled else None,
            "team_id": "team-sandbox",
            "client_id": "client-sandbox",
        }
        for n, state in enumerate(participant_states):
            self._new_participant(sid, {"display_name": f"{name} {n + 1}", "state": state})
        return sid

    def cancel_participant_elsewhere(self, participant_id: str) -> None:
        """The participant is canceled outside Cohost (in Coviu's console, or by another integration)."""
        self.participants[participant_id]["deleted_at"] = _iso(self.now())


_ORDERS = ("forward", "backwards", "reverse")


def _invalid(name: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f'{{"message": "Invalid `{name}`"}}', content_type="application/json")


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        return int(query[name])
    except ValueError:
        raise _invalid(name) from None


def _bool_param(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise _invalid(name)
    return value == "true"


def _time_param(query: Mapping[str, str], name: str) -> datetime | None:
    if name not in query:
        return None
    try:
        moment = datetime.fromisoformat(query[name].replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name) from None
    if moment.tzinfo is None:
        raise _invalid(name)
    return moment
