"""Coviu: telehealth sessions and their participants, behind an OAuth2 client-credentials token.

The token comes from `$COVIU_URL/auth/token` (HTTP Basic with the API key and secret, form body), is refreshed
at half its life with the refresh token (one refresh shared by every caller waiting on it), falls back to a new
grant when a refresh is refused, and a call answered 401 is retried once with a fresh token. Times go to Coviu
as ISO-8601 UTC with `Z`; roles go lowercase and are read in any case.

A session has no status: whether it is running, upcoming, finished or canceled follows from its `start_time`,
`end_time` and `canceled_time` against the current time (NOTES.md). `GET /sessions?state=` filters by the
participants' own free-form `state`, not by that, and its `start_time` / `end_time` parameters bound when a session
*starts* (the swagger), not when it overlaps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from services import markers
from services.client_credentials import TokenSource, oauth_error_text
from services.errors import VendorAccessLimited, VendorAuthError
from services.http import VendorHttp
from services.markers import MarkedSession
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
#: The longest session Cohost makes or stretches (`--minutes` is at most 10,080: a week). Coviu filters pages by
#: when sessions *start*, so a session still running now started at most this long ago: lists of live sessions
#: reach back this far and keep those whose end is still to come. A session made elsewhere that runs longer than a
#: week and started over a week ago is not seen (Cohost has no card for it).
LONGEST_SESSION = timedelta(minutes=10_080)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime sent to Coviu")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _given(**values: Any) -> dict[str, Any]:
    """The values the caller gave: Coviu is sent nothing for what was left out (None, or empty)."""
    return {name: value for name, value in values.items() if value}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Participant(_Model):
    """What Cohost reads of a participant (Coviu says more: its free-form state, picture, client and user)."""

    participant_id: VendorId
    session_id: VendorText = None
    display_name: VendorText = None
    role: VendorText = None
    entry_url: VendorText = None
    #: Set once the participant was canceled (by Cohost or elsewhere): its entry link no longer lets anyone in.
    deleted_at: VendorText = None

    @property
    def deleted(self) -> bool:
        return bool(self.deleted_at)

    @field_validator("role")
    @classmethod
    def _lowercase_role(cls, value: str | None) -> str | None:
        return value.lower() if value else value  # Coviu answers HOST / GUEST


class Session(MarkedSession):
    """What Cohost reads of a session (Coviu says more: its team, client, picture and feature flags)."""

    #: None where Coviu sent no time, or one out of range (shown as unknown).
    start_time: VendorTime = None
    end_time: VendorTime = None
    canceled_time: VendorText = None
    participants: Annotated[list[Participant], BeforeValidator(rows_of(Participant))] = Field(default_factory=list)

    @property
    def canceled(self) -> bool:
        return bool(self.canceled_time)

    # A time Coviu did not give (or gave out of range) rules nothing out: Coviu listed the session among those
    # starting in the range asked for, so it stays in (shown with its times unknown), and no card is closed for it.

    def running(self, now: datetime) -> bool:
        return (
            not self.canceled
            and (self.start_time is None or self.start_time <= now)
            and (self.end_time is None or now < self.end_time)
        )

    def upcoming(self, now: datetime) -> bool:
        return not self.canceled and (self.start_time is None or now < self.start_time)

    def live(self, now: datetime) -> bool:
        """Running or upcoming: not canceled, and its end still to come."""
        return not self.canceled and (self.end_time is None or now < self.end_time)

    def during(self, start: datetime, end: datetime) -> bool:
        """Ran at some time in [start, end): not canceled, started before `end` and ended after `start`."""
        return (
            not self.canceled
            and (self.start_time is None or self.start_time < end)
            and (self.end_time is None or self.end_time > start)
        )


@dataclass(frozen=True)
class NewParticipant:
    display_name: str
    role: Role = "guest"
    picture: str | None = None
    state: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "role": self.role.lower(),
            **_given(picture=self.picture, state=self.state),
        }


#: Coviu's error bodies are those of its token endpoint.
error_text = oauth_error_text


def _kept(sessions: Rows[Session], keep: Callable[[Session], bool]) -> Rows[Session]:
    """The sessions `keep` keeps, earliest start first (those whose start is unknown last); the unreadable rows
    still counted."""
    kept = sorted((s for s in sessions if keep(s)), key=lambda s: (s.start_time is None, s.start_time or _EPOCH))
    return Rows(kept, sessions.unreadable)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Coviu:
    vendor = VENDOR

    def __init__(self, http: VendorHttp, tokens: TokenSource) -> None:
        self._http = replace(http, error_text=error_text)
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

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase (a typed `VendorError` when it does not)."""
        await self.tokens.access_token()  # the grant on its own: a refusal here is the key and secret
        try:
            await self.sessions_page(page_size=1)
        except VendorAuthError as exc:
            raise VendorAccessLimited(
                VENDOR,
                f"token granted, but the sessions page was refused: {exc.message.rstrip('.')}",
                advice="give the API client of COVIU_API_KEY access to sessions in Coviu",
            ) from None
        return "token granted; sessions readable"

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
        body = {"start_time": iso(start), "end_time": iso(end)} | _given(
            session_name=markers.mark(name or "", marker).strip(),
            participants=[p.body() for p in participants or ()],
            picture=picture,
            feature_flags=list(feature_flags or ()),
        )
        return read_one(Session, await self._call("POST", "sessions", json_body=body), VENDOR, "a session")

    async def sessions_page(
        self,
        *,
        page: int = 0,
        page_size: int = MAX_PAGE_SIZE,
        starting_from: datetime | None = None,
        starting_until: datetime | None = None,
        include_canceled: bool = False,
        participant_state: str | None = None,
    ) -> tuple[Rows[Session], bool]:
        """One page of sessions. `starting_from` / `starting_until` (Coviu's `start_time` / `end_time`) bound when
        a session starts, both inclusive; `participant_state` (Coviu's `state`) keeps sessions with a participant in
        that free-form state. Canceled sessions are left out unless asked for (sent explicitly either way)."""
        params = {
            "page": str(page),
            "page_size": str(min(page_size, MAX_PAGE_SIZE)),
            "include_canceled": "true" if include_canceled else "false",
        } | _given(start_time=_iso(starting_from), end_time=_iso(starting_until), state=participant_state)
        body = await self._call("GET", "sessions", params=params, safe=True)
        if not isinstance(body, dict):
            return Rows(unreadable=1 if body else 0), False
        return read_rows(Session, body.get("content")), flag(body.get("more"))

    async def all_sessions(
        self,
        *,
        starting_from: datetime | None = None,
        starting_until: datetime | None = None,
        include_canceled: bool = False,
        participant_state: str | None = None,
    ) -> Rows[Session]:
        """Every page (`more` says whether another follows), up to MAX_PAGES."""
        out: Rows[Session] = Rows()
        for page in range(MAX_PAGES):
            sessions, more = await self.sessions_page(
                page=page,
                starting_from=starting_from,
                starting_until=starting_until,
                include_canceled=include_canceled,
                participant_state=participant_state,
            )
            out.extend(sessions)
            out.unreadable += sessions.unreadable
            if not more or not (sessions or sessions.unreadable):
                break
        return out

    async def live_sessions(self, now: datetime) -> Rows[Session]:
        """The sessions running or still to come at `now`, earliest start first: every session that starts at or
        after `now - LONGEST_SESSION` (all pages), kept when it is not canceled and its end is after `now`."""
        return _kept(await self.all_sessions(starting_from=now - LONGEST_SESSION), lambda s: s.live(now))

    async def upcoming_sessions(self, now: datetime) -> Rows[Session]:
        """The sessions that start after `now`, earliest first."""
        return _kept(await self.all_sessions(starting_from=now), lambda s: s.upcoming(now))

    async def sessions_during(self, start: datetime, end: datetime) -> Rows[Session]:
        """The sessions that ran at some time in [start, end) (not canceled), earliest start first: those that
        start up to `end`, reaching back `LONGEST_SESSION` before `start` for one that began before it."""
        sessions = await self.all_sessions(starting_from=start - LONGEST_SESSION, starting_until=end)
        return _kept(sessions, lambda s: s.during(start, end))

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
        body = _given(session_name=name, start_time=_iso(start), end_time=_iso(end), picture=picture)
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
        body = _given(display_name=display_name, role=role and role.lower())
        data = await self._call("PUT", f"participants/{participant_id}", json_body=body)
        return read_one(Participant, data, VENDOR, "a participant")

    async def cancel_participant(self, participant_id: str) -> None:
        await self._call("DELETE", f"participants/{participant_id}")
