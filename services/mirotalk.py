"""MiroTalk SFU (self-hosted): stats, live meetings, meeting links, personal join links, tokens, ending a meeting.

Built to how a real v2.3.77 server answers (NOTES.md), where its swagger differs: `totalUsers` (the swagger says
`totalPeers`: both read), no `avatar` on peers, `403` both for a wrong secret and for an endpoint the server's
admin switched off (told apart by the text), and a `200` web page for a path an older server lacks.
The server does not URL-encode `room`, `roomPassword` or `duration` in the join links it builds, so those are
restricted here to characters that need no encoding.

Two things servers do that the swagger does not say:
- A token (from `/token`, or inside a `/join` link) names a `username`/`password` pair, and whoever opens a link
  with it is refused unless that pair is one of the server's own host users. So a token is only ever made for the
  host user Cohost is configured with (`HostUser`), never for a person's name; the person's name goes in the
  link's `name`. Without a host user, links carry no token and the first person in a room presents.
- `meetings`, `meetingEnd` and `token` ship switched off. Which are on is learned from the server with harmless
  probes (`switches()`), kept for ten minutes, and corrected by every answer a real call gets.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.clock import Clock, SystemClock
from services.errors import (
    InvalidInput,
    VendorAuthError,
    VendorBadRequest,
    VendorDisabled,
    VendorError,
    VendorNotFound,
)
from services.http import VendorHttp, VendorResponse
from services.mirotalk_switches import (
    EndpointSwitchedOff,
    MiroTalkSwitches,
    Switch,
    switch_phrases,
    switch_state,
)
from services.phrases import plural
from services.vendor_values import (
    Rows,
    VendorCount,
    VendorFlag,
    VendorId,
    VendorText,
    VendorTime,
    read_one,
    read_rows,
    rows_of,
)

log = logging.getLogger("cohost.mirotalk")

VENDOR = "MiroTalk"
ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PASSWORD = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
DURATION = re.compile(r"^(unlimited|\d{2}:[0-5]\d:[0-5]\d)$")
EXPIRY = re.compile(r"^\d+[smhdw]$")
#: `duration` is HH:MM:SS: the longest meeting a join link can carry, in whole minutes, is 99:59.
MAX_DURATION_MINUTES = 99 * 60 + 59

#: How long what was learned of the switches is trusted before it is learned again.
SWITCHES_MAX_AGE = timedelta(minutes=10)
#: After a failed attempt to learn them, how long the last known switches serve before the next attempt.
SWITCHES_RETRY_AFTER = timedelta(minutes=1)
#: The room the `meetingEnd` probe asks to end: a fresh random name each time, so no real room is ever hit.
_PROBE_ROOM_PREFIX = "cohost-switch-probe-"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Stats(_Model):
    """None where the server left a figure out or sent something that is not one (shown as unknown)."""

    timestamp: VendorTime = None
    total_rooms: VendorCount = Field(None, alias="totalRooms")
    total_users: VendorCount = Field(None, alias="totalUsers")


class Peer(_Model):
    """Someone in a room, as far as Cohost shows them: their name and whether they share a screen (the rest of what
    the server says of them, such as a raised hand or their browser, is not read)."""

    name: VendorText = None
    screen: VendorFlag = False


class Meeting(_Model):
    room: VendorId = Field(alias="roomId")
    peers: Annotated[list[Peer], BeforeValidator(rows_of(Peer))] = Field(default_factory=list)


class TokenRequest(_Model):
    """The token part of `/token` and `/join`: `username`/`password` are a host user's sign-in on the server (not a
    display name); the client fills them in from its `HostUser`."""

    username: str
    password: str
    presenter: bool = False
    expire: str = "1h"


@dataclass(frozen=True)
class HostUser:
    """A host user configured on the MiroTalk server (`MIROTALK_HOST_USERNAME`, `MIROTALK_HOST_PASSWORD`)."""

    username: str
    password: str = field(repr=False)


class JoinRequest(_Model):
    """Every field of `/join` but the token (`MiroTalk.join_link` adds it); falsy ones get the server's defaults."""

    room: str
    room_password: str | None = Field(None, alias="roomPassword")
    name: str | None = None
    audio: bool = False
    video: bool = False
    screen: bool = False
    chat: bool = False
    hide: bool = False
    notify: bool = False
    duration: str = "unlimited"


class InvalidMeetingInput(InvalidInput):
    """A room name, password, duration or expiry a join link could not carry intact."""


class PresenterLinksOff(VendorError):
    """No host user is configured, so no token could name anyone the server knows."""

    advice = (
        "An admin can set MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD to a host user configured on the "
        "MiroTalk server. Until then links carry no token, and the first person in a room presents."
    )

    def __init__(self) -> None:
        super().__init__(VENDOR, "Presenter links and tokens need a MiroTalk host user, and Cohost has none set")


def check_room(room: str) -> None:
    if not ROOM_NAME.match(room):
        raise InvalidMeetingInput("Room names are 1-64 letters, digits, `-` or `_` (so the join link never breaks).")


def check_join(request: JoinRequest) -> None:
    check_room(request.room)
    if request.room_password and not PASSWORD.match(request.room_password):
        raise InvalidMeetingInput("Passwords are 1-64 letters, digits, `.`, `_`, `~` or `-`.")
    if not DURATION.match(request.duration):
        raise InvalidMeetingInput("Duration is `unlimited` or HH:MM:SS, e.g. 01:30:00.")


def duration_of(minutes: int | None) -> str:
    """A join link's `duration` for a meeting of `minutes` (HH:MM:SS), or `unlimited` for one without a length."""
    if minutes is None:
        return "unlimited"
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidMeetingInput(
            f"A MiroTalk meeting lasts 1 to {MAX_DURATION_MINUTES:,} minutes (its join links carry HH:MM:SS)."
        )
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def check_expiry(expire: str) -> None:
    if not EXPIRY.match(expire):
        raise InvalidMeetingInput("Expiry is a number and a unit, e.g. `30m`, `1h`, `7d`.")


def classify(status: int, body: Any) -> VendorError | None:
    text = str(body.get("error") or body.get("message") or "") if isinstance(body, dict) else ""
    if status == 403:
        if "disabled" in text.lower():
            return VendorDisabled(VENDOR, "This MiroTalk endpoint is disabled by the server's admin", status=status)
        return VendorAuthError(VENDOR, "MiroTalk refused Cohost's API secret", status=status)
    if status == 404:
        return VendorNotFound(VENDOR, text or "No such room on the MiroTalk server", status=status)
    if status == 400:
        return VendorBadRequest(VENDOR, text or "MiroTalk refused the request", status=status)
    return None


class MiroTalk:
    vendor = VENDOR

    def __init__(
        self,
        http: VendorHttp,
        api_secret: str,
        *,
        host_user: HostUser | None = None,
        clock: Clock | None = None,
    ) -> None:
        # The raw secret, no `Bearer`; an unknown path answers with a web page, which means "no such call".
        auth = {"authorization": api_secret}
        self._http = replace(http, auth_headers=lambda: auth, classify=classify, page_means_unsupported=True)
        self._host_user = host_user
        self._clock: Clock = clock or SystemClock()
        self._switches: MiroTalkSwitches | None = None
        self._next_attempt: datetime | None = None
        self._learning = asyncio.Lock()

    # -- what the server lets Cohost do ------------------------------------------------------------------------

    @property
    def presenter_links_on(self) -> bool:
        """Whether links and tokens can carry a presenter token (a host user is configured)."""
        return self._host_user is not None

    async def switches(self) -> MiroTalkSwitches:
        """Which switchable endpoints the server has on: learned at most ten minutes ago, else learned now. When
        the server cannot be asked, the last known switches serve (for a minute before the next try); with none
        known, the failure is raised."""
        async with self._learning:
            now = self._clock.now()
            known = self._switches
            if known is not None and now - known.learned_at < SWITCHES_MAX_AGE:
                return known
            if known is not None and self._next_attempt is not None and now < self._next_attempt:
                return known
            try:
                learned = await self._learn(now)
            except VendorError as exc:
                if known is None:
                    raise
                log.warning("MiroTalk switches not re-learned (%s); the ones learned before still serve", exc.message)
                self._next_attempt = now + SWITCHES_RETRY_AFTER
                return known
            if known is None or known.by_switch() != learned.by_switch():
                log.info("MiroTalk switches: %s", learned)
            self._switches, self._next_attempt = learned, None
            return learned

    async def ending_on(self) -> bool:
        """Whether Cohost can end meetings on this server. When its switches cannot be learned, True: an End that
        then meets the switch switched off says so."""
        try:
            return (await self.switches()).meeting_end
        except VendorError:
            return True

    async def _learn(self, now: datetime) -> MiroTalkSwitches:
        """One harmless call per switch. The server checks a switch before the secret, so even a refused secret
        tells the switch is on."""
        probes = await asyncio.gather(
            self._probe("meetings", "GET", "meetings"),
            # A random room that cannot exist: on, the server answers 404 "Room not found".
            self._probe("meetingEnd", "DELETE", f"meeting/{_PROBE_ROOM_PREFIX}{uuid.uuid4().hex}", {}),
            # No body: on, the server answers `{"token": ""}` and makes no token.
            self._probe("token", "POST", "token"),
            return_exceptions=True,
        )
        for outcome in probes:
            if isinstance(outcome, BaseException):
                raise outcome
        meetings, meeting_end, token = (bool(on) for on in probes)
        return MiroTalkSwitches(meetings=meetings, meeting_end=meeting_end, token=token, learned_at=now)

    async def _probe(self, switch: Switch, method: str, path: str, json_body: Any = None) -> bool:
        try:
            await self._http.call(method, path, json_body=json_body, safe_to_repeat=True)
        except VendorError as exc:
            state = switch_state(switch, exc)
            if state is None:
                raise
            return state
        return True

    async def _call(self, switch: Switch, method: str, path: str, **kwargs: Any) -> VendorResponse:
        """A call to a switchable endpoint: its "disabled" answer becomes `EndpointSwitchedOff`, and what the
        answer shows of the switch corrects what was learned of it."""
        try:
            response = await self._http.call(method, path, **kwargs)
        except VendorError as exc:
            state = switch_state(switch, exc)
            if state is not None:
                self._saw(switch, state)
            if isinstance(exc, VendorDisabled):
                raise EndpointSwitchedOff(switch, status=exc.status) from None
            raise
        self._saw(switch, True)
        return response

    def _saw(self, switch: Switch, on: bool) -> None:
        known = self._switches
        if known is None or known.by_switch()[switch] == on:
            return
        log.info("MiroTalk switch %s is now %s", switch, "on" if on else "off")
        self._switches = known.seen(switch, on)

    def _token(self, *, presenter: bool, expire: str) -> TokenRequest:
        check_expiry(expire)
        if self._host_user is None:
            raise PresenterLinksOff
        return TokenRequest(
            username=self._host_user.username,
            password=self._host_user.password,
            presenter=presenter,
            expire=expire,
        )

    # -- the calls -------------------------------------------------------------------------------------------

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase (a typed `VendorError` when it does not), and
        which switchable endpoints are on."""
        stats = await self.stats()
        people = "people" if stats.total_users != 1 else "person"
        count = f"{stats.total_users} {people}" if stats.total_users is not None else "an unknown number of people"
        works = f"API secret accepted; {plural(stats.total_rooms, 'room')}, {count} in them"
        return "; ".join([works, *switch_phrases(await self.switches(), presenter_links_on=self.presenter_links_on)])

    async def stats(self) -> Stats:
        body = (await self._http.call("GET", "stats", safe_to_repeat=True)).body or {}
        # A real server says `totalUsers`; the swagger says `totalPeers`.
        if isinstance(body, dict) and "totalUsers" not in body and "totalPeers" in body:
            body = {**body, "totalUsers": body["totalPeers"]}
        return read_one(Stats, body, VENDOR, "stats")

    async def meetings(self) -> Rows[Meeting]:
        """The live meetings; one whose room cannot be read is counted in `unreadable`."""
        body = (await self._call("meetings", "GET", "meetings", safe_to_repeat=True)).body or {}
        return read_rows(Meeting, body.get("meetings") if isinstance(body, dict) else body)

    async def meeting_link(self) -> str:
        """A fresh meeting link (`/join/<uuid>`); the room exists once someone joins it."""
        body = (await self._http.call("POST", "meeting")).body or {}  # no body: the swagger allows none
        return _url(body, "meeting")

    async def new_room(self, room: str | None = None) -> tuple[str, str]:
        """A room and its shared link: `room` if given, else the fresh one the server names. The link comes from
        the server itself (it knows the address people reach it at, behind any proxy)."""
        if room is not None:
            check_room(room)
        link = await self.meeting_link()
        base, _, fresh = link.rpartition("/")
        if room is None and not ROOM_NAME.match(fresh):
            raise VendorError(VENDOR, "MiroTalk answered with a meeting link Cohost could not read")
        return (room, f"{base}/{room}") if room is not None else (fresh, link)

    async def join_link(self, request: JoinRequest, *, presenter_for: str | None = None) -> str:
        """A person's own link into a room. `presenter_for` (a lifetime such as `1d`) adds a presenter token for
        the configured host user (`PresenterLinksOff` without one); the link's `name` stays the person's."""
        check_join(request)
        # `/join` needs a JSON body, `{}` at least, or the server answers 500.
        payload = request.model_dump(by_alias=True, exclude_none=True)
        if presenter_for is not None:
            payload["token"] = self._token(presenter=True, expire=presenter_for).model_dump()
        body = (await self._http.call("POST", "join", json_body=payload)).body or {}
        return _url(body, "join")

    async def token(self, *, presenter: bool, expire: str) -> str:
        """A sign-in token for the configured host user (`PresenterLinksOff` without one)."""
        request = self._token(presenter=presenter, expire=expire)
        body = (await self._call("token", "POST", "token", json_body=request.model_dump())).body or {}
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorError(VENDOR, "MiroTalk answered without a token")
        return token

    async def end_meeting(self, room: str, *, redirect: str | None = None) -> None:
        """Ends the meeting for everyone in it; they are sent to `redirect` (or the server's home page)."""
        payload = {"redirect": redirect} if redirect else {}
        await self._call("meetingEnd", "DELETE", f"meeting/{quote(room, safe='')}", json_body=payload)


def _url(body: Any, key: str) -> str:
    url = body.get(key) if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise VendorError(VENDOR, f"MiroTalk answered without a {key} link")
    return url
