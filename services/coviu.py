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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from services.errors import VendorAuthError, VendorBadRequest, VendorError
from services.http import VendorHttp
from services.vendor_values import (
    Rows,
    VendorId,
    VendorText,
    VendorTime,
    flag,
    read_one,
    read_rows,
    rows_of,
)

VENDOR = "Coviu"
Role = Literal["host", "guest"]
MAX_PAGE_SIZE = 200
#: Pages read at most (10,000 sessions): a server that always says `more` cannot keep Cohost asking forever.
MAX_PAGES = 50


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime sent to Coviu")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Participant(_Model):
    participant_id: VendorId
    session_id: VendorText = None
    display_name: VendorText = None
    role: VendorText = None
    state: VendorText = None
    picture: VendorText = None
    entry_url: VendorText = None
    client_id: VendorText = None
    coviu_user_id: VendorText = None
    deleted_at: VendorText = None

    @field_validator("role")
    @classmethod
    def _lowercase_role(cls, value: str | None) -> str | None:
        return value.lower() if value else value  # Coviu answers HOST / GUEST


def _texts(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


class Session(_Model):
    session_id: VendorId
    session_name: VendorText = None
    #: None where Coviu sent no time, or one out of range (shown as unknown).
    start_time: VendorTime = None
    end_time: VendorTime = None
    canceled_time: VendorText = None
    team_id: VendorText = None
    client_id: VendorText = None
    picture: VendorText = None
    feature_flags: Annotated[list[str], BeforeValidator(_texts)] = Field(default_factory=list)
    participants: Annotated[list[Participant], BeforeValidator(rows_of(Participant))] = Field(default_factory=list)


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
    ) -> Session:
        body: dict[str, Any] = {"start_time": iso(start), "end_time": iso(end)}
        if name:
            body["session_name"] = name
        if participants:
            body["participants"] = [p.body() for p in participants]
        if picture:
            body["picture"] = picture
        if feature_flags:
            body["feature_flags"] = list(feature_flags)
        return read_one(Session, await self._call("POST", "sessions", json_body=body), VENDOR, "a session")

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
    ) -> tuple[Rows[Session], bool]:
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
        body = await self._call("GET", "sessions", params=params, safe=True)
        if not isinstance(body, dict):
            return Rows(unreadable=1 if body else 0), False
        return read_rows(Session, body.get("content")), flag(body.get("more"))

    async def all_sessions(self, **filters: Any) -> Rows[Session]:
        """Every page (`more` says whether another follows), up to MAX_PAGES."""
        out: Rows[Session] = Rows()
        for page in range(MAX_PAGES):
            sessions, more = await self.sessions_page(page=page, **filters)
            out.extend(sessions)
            out.unreadable += sessions.unreadable
            if not more or not (sessions or sessions.unreadable):
                break
        return out

    async def get_session(self, session_id: str) -> Session:
        return read_one(Session, await self._call("GET", f"sessions/{session_id}", safe=True), VENDOR, "a session")

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
        data = await self._call("PUT", f"sessions/{session_id}", json_body=body)
        return read_one(Session, data, VENDOR, "a session")

    async def cancel_session(self, session_id: str) -> None:
        """Cancels a session that has not started (Coviu refuses this for a running one)."""
        await self._call("DELETE", f"sessions/{session_id}")

    async def end_session(self, session_id: str, now: datetime) -> Session:
        """Ends a running session for everyone: its end becomes now."""
        return await self.update_session(session_id, end=now)

    # -- participants ----------------------------------------------------------------------------------------

    async def add_participant(self, session_id: str, participant: NewParticipant) -> Participant:
        body = await self._call("POST", f"sessions/{session_id}/participants", json_body=participant.body())
        return read_one(Participant, body, VENDOR, "a participant")

    async def participants(self, session_id: str) -> list[Participant]:
        body = await self._call("GET", f"sessions/{session_id}/participants", safe=True)
        items = body.get("content") if isinstance(body, dict) else body
        return list(read_rows(Participant, items))

    async def get_participant(self, participant_id: str) -> Participant:
        data = await self._call("GET", f"participants/{participant_id}", safe=True)
        return read_one(Participant, data, VENDOR, "a participant")

    async def update_participant(
        self, participant_id: str, *, display_name: str | None = None, role: Role | None = None
    ) -> Participant:
        body: dict[str, Any] = {}
        if display_name:
            body["display_name"] = display_name
        if role:
            body["role"] = role.lower()
        data = await self._call("PUT", f"participants/{participant_id}", json_body=body)
        return read_one(Participant, data, VENDOR, "a participant")

    async def cancel_participant(self, participant_id: str) -> None:
        await self._call("DELETE", f"participants/{participant_id}")
