"""Coviu: telehealth sessions and their participants, behind an OAuth2 client-credentials token.

The token comes from `$COVIU_URL/auth/token` (HTTP Basic with the API key and secret, form body), is refreshed
at half its life with the refresh token (one refresh shared by every caller waiting on it), falls back to a new
grant when a refresh is refused, and a call answered 401 is retried once with a fresh token. Times go to Coviu
as ISO-8601 UTC with `Z`; roles go lowercase and are read in any case.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services import markers
from services.errors import VendorAuthError, VendorBadRequest, VendorError
from services.http import VendorHttp

VENDOR = "Coviu"
Role = Literal["host", "guest"]
MAX_PAGE_SIZE = 200


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime sent to Coviu")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Participant(_Model):
    participant_id: str
    session_id: str | None = None
    display_name: str | None = None
    role: str | None = None
    state: str | None = None
    picture: str | None = None
    entry_url: str | None = None
    client_id: str | None = None
    coviu_user_id: str | None = None
    deleted_at: str | None = None

    @field_validator("role")
    @classmethod
    def _lowercase_role(cls, value: str | None) -> str | None:
        return value.lower() if value else value  # Coviu answers HOST / GUEST


class Session(_Model):
    session_id: str
    session_name: str | None = None
    start_time: datetime
    end_time: datetime
    canceled_time: str | None = None
    team_id: str | None = None
    client_id: str | None = None
    picture: str | None = None
    feature_flags: list[str] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    #: The marker Cohost put into the name when it created the session (`services.markers`), taken off the name.
    marker: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unmark(cls, data: Any) -> Any:
        return markers.lift(data, "session_name")


@dataclass(frozen=True)
class NewParticipant:
    display_name: str
    role: Role = "guest"
    picture: str | None = None
    state: str | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"display_name": self.display_name, "role": self.role.lower()}
        if self.picture:
            out["picture"] = self.picture
        if self.state:
            out["state"] = self.state
        return out


@dataclass
class _Token:
    access: str
    refresh: str | None
    obtained: float
    lifetime: float

    def due_for_refresh(self, now: float) -> bool:
        return now - self.obtained >= self.lifetime / 2


class TokenSource:
    """The client-credentials token, shared by every call of this process."""

    def __init__(
        self, http: VendorHttp, api_key: str, api_secret: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._http = http
        basic = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        self._clock = clock
        self._token: _Token | None = None
        self._pending: asyncio.Task[_Token] | None = None
        self.grants = 0
        self.refreshes = 0

    async def access_token(self) -> str:
        token = self._token
        if token is not None and not token.due_for_refresh(self._clock()):
            return token.access
        # One refresh (or grant) in flight; everyone who needs a token meanwhile waits on the same one.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._renew(token))
        return (await asyncio.shield(self._pending)).access

    def invalidate(self, access: str) -> None:
        """A call was refused with this token: the next call gets a new one."""
        if self._token is not None and self._token.access == access:
            self._token = None

    async def _renew(self, old: _Token | None) -> _Token:
        if old is not None and old.refresh:
            try:
                self.refreshes += 1
                self._token = await self._ask({"grant_type": "refresh_token", "refresh_token": old.refresh})
                return self._token
            except (VendorAuthError, VendorBadRequest):
                pass  # refresh refused (`invalid_grant`: expired or revoked): start over with a new grant
        self.grants += 1
        self._token = await self._ask({"grant_type": "client_credentials"})
        return self._token

    async def _ask(self, form: dict[str, str]) -> _Token:
        resp = await self._http.call("POST", "auth/token", form=form, headers=self._headers)
        body = resp.body if isinstance(resp.body, dict) else {}
        if not body.get("access_token"):
            raise VendorError(VENDOR, "Coviu answered the token request without a token")
        return _Token(
            access=str(body["access_token"]),
            refresh=body.get("refresh_token"),
            obtained=self._clock(),
            lifetime=float(body.get("expires_in") or 3600),
        )


def error_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("message", "error_description", "error", "detail"):
        if body.get(key):
            return str(body[key])
    return None


class Coviu:
    vendor = VENDOR

    def __init__(self, http: VendorHttp, tokens: TokenSource) -> None:
        self._http = http
        http.error_text = error_text
        self.tokens = tokens

    async def _call(self, method: str, path: str, *, safe: bool = False, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            token = await self.tokens.access_token()
            try:
                resp = await self._http.call(
                    method, path, headers={"Authorization": f"Bearer {token}"}, safe_to_repeat=safe, **kwargs
                )
                return resp.body
            except VendorAuthError as exc:
                # A 401 was refused before anything happened: retry once with a fresh token.
                if exc.status != 401 or attempt == 2:
                    raise
                self.tokens.invalidate(token)
        raise AssertionError("unreachable")

    # -- sessions ----------------------------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        start: datetime,
        end: datetime,
        name: str | None = None,
        participants: list[NewParticipant] | None = None,
        picture: str | None = None,
        feature_flags: list[str] | None = None,
        marker: str | None = None,
    ) -> Session:
        """`marker`: put into the session's name, so the session can be told apart in the sessions list even if
        this call's answer is never read."""
        body: dict[str, Any] = {"start_time": iso(start), "end_time": iso(end)}
        if name or marker:
            body["session_name"] = markers.mark(name or "", marker).strip()
        if participants:
            body["participants"] = [p.body() for p in participants]
        if picture:
            body["picture"] = picture
        if feature_flags:
            body["feature_flags"] = list(feature_flags)
        return Session.model_validate(await self._call("POST", "sessions", json_body=body))

    async def sessions_page(
        self,
        *,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        include_canceled: bool | None = None,
        state: str | None = None,
        order: str | None = None,
    ) -> tuple[list[Session], bool]:
        params: dict[str, str] = {"page": str(page), "page_size": str(min(page_size, MAX_PAGE_SIZE))}
        if start_time:
            params["start_time"] = iso(start_time)
        if end_time:
            params["end_time"] = iso(end_time)
        if include_canceled is not None:
            params["include_canceled"] = str(include_canceled).lower()
        if state:
            params["state"] = state
        if order:
            params["order"] = order
        body = await self._call("GET", "sessions", params=params, safe=True) or {}
        return [Session.model_validate(s) for s in body.get("content") or []], bool(body.get("more"))

    async def all_sessions(self, **filters: Any) -> list[Session]:
        """Every page (`more` says whether another follows)."""
        out: list[Session] = []
        page = 0
        while True:
            sessions, more = await self.sessions_page(page=page, **filters)
            out.extend(sessions)
            if not more or not sessions:
                return out
            page += 1

    async def get_session(self, session_id: str) -> Session:
        return Session.model_validate(await self._call("GET", f"sessions/{session_id}", safe=True))

    async def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        picture: str | None = None,
    ) -> Session:
        body: dict[str, Any] = {}
        if name:
            body["session_name"] = name
        if start:
            body["start_time"] = iso(start)
        if end:
            body["end_time"] = iso(end)
        if picture:
            body["picture"] = picture
        return Session.model_validate(await self._call("PUT", f"sessions/{session_id}", json_body=body))

    async def cancel_session(self, session_id: str) -> None:
        """Cancels a session that has not started (Coviu refuses this for a running one)."""
        await self._call("DELETE", f"sessions/{session_id}")

    async def end_session(self, session_id: str, now: datetime) -> Session:
        """Ends a running session for everyone: its end becomes now."""
        return await self.update_session(session_id, end=now)

    # -- participants ----------------------------------------------------------------------------------------

    async def add_participant(self, session_id: str, participant: NewParticipant) -> Participant:
        body = await self._call("POST", f"sessions/{session_id}/participants", json_body=participant.body())
        return Participant.model_validate(body)

    async def participants(self, session_id: str) -> list[Participant]:
        body = await self._call("GET", f"sessions/{session_id}/participants", safe=True)
        items = body.get("content") if isinstance(body, dict) else body
        return [Participant.model_validate(p) for p in items or []]

    async def get_participant(self, participant_id: str) -> Participant:
        return Participant.model_validate(await self._call("GET", f"participants/{participant_id}", safe=True))

    async def update_participant(
        self, participant_id: str, *, display_name: str | None = None, role: Role | None = None
    ) -> Participant:
        body: dict[str, Any] = {}
        if display_name:
            body["display_name"] = display_name
        if role:
            body["role"] = role.lower()
        return Participant.model_validate(await self._call("PUT", f"participants/{participant_id}", json_body=body))

    async def cancel_participant(self, participant_id: str) -> None:
        await self._call("DELETE", f"participants/{participant_id}")
