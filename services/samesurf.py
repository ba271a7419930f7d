"""SameSurf: co-browsing rooms, limited-use invitations, analytics and reseller subscriptions (API v3).

Every call is a POST with a JSON body and a fresh JWT (`{"iat", "sub": API key}` signed with the API secret):
the server checks `iat`, so a token is never reused. `"success": false` is a failure whatever the status.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from services import markers
from services.errors import (
    VendorAuthError,
    VendorBadRequest,
    VendorError,
    VendorNotFound,
)
from services.http import VendorHttp
from services.phrases import plural
from services.vendor_values import (
    Rows,
    VendorAmount,
    VendorCount,
    VendorFlag,
    VendorId,
    VendorText,
    VendorTime,
    count_or_none,
    read_one,
    read_rows,
    rows_of,
)

VENDOR = "SameSurf"
#: Pages of running rooms read at most (10,000 rooms): a server that always says there are more cannot keep
#: Cohost asking forever.
MAX_PAGES = 100
#: The account's room history (analytics) is read newest first, a page of this many rooms at a time, up to this many
#: pages where Cohost looks through it (a digest's period, a workspace's own rooms).
HISTORY_PAGE, HISTORY_PAGES = 100, 5
#: The page a room opens on when no URL is given. The doc calls `starturl` optional, yet SameSurf lists error 105
#: "starturl required" (NOTES.md) and every create example sends one: so one is always sent. SameSurf's own home
#: page (the doc's examples' own start page) is neutral (nothing of any customer's) and surely loads in its browser.
DEFAULT_START_URL = "https://www.samesurf.com"

FEATURES = (
    "MODE_DOCUMENT_SHARE",
    "MODE_VIDEO_SHARE",
    "MODE_SCREEN_SHARE",
    "MODE_LOGOUT",
    "TOOLS_SCREEN_RECORDING",
    "TOOLS_VIDEO_CHAT",
    "TOOLS_AUDIO_CHAT",
    "TOOLS_12MANY_VIDEO",
    "TOOLS_MOUSE_TRACKING",
    "TOOLS_DISCONNECT_USER",
)
OVERRIDE_KEYS = (
    "communications_active",
    "default_logout_url",
    "demotimer_active",
    "demotimer_logout_url",
    "disable_urlbar_all",
    "disable_urlbar_follower",
    "hide_bookmark_add",
    "hide_bookmark_header",
    "hide_bookmarks",
    "hide_modes_menu",
    "inroomchat_active",
    "invitations_active",
    "passcontrol_active",
    "preload_host_invitations",
    "social_changename_active",
    "suppress_beforeunload",
    "welcome_active",
)

# errorcode -> the kind of failure it is (the rest are bad input, shown with SameSurf's own text).
_AUTH_CODES = {101, 116, 117, 119}
_NOT_FOUND_CODES = {102, 112, 118}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Bookmark(_Model):
    name: str
    link: str


class Cookie(_Model):
    domain: str
    path: str = "/"
    name: str
    value: str
    secure: bool = True
    httponly: bool = True


class StorageItem(_Model):
    domain: str
    name: str
    value: str


class SessionData(_Model):
    cookies: list[Cookie] = Field(default_factory=list)
    storage: list[StorageItem] = Field(default_factory=list)


class Schedule(_Model):
    """When a scheduled room starts: a wall-clock time in `timezone` (an IANA name) or in UTC."""

    eventtime: datetime
    timezone: str | None = None
    lengthinminutes: int | None = None
    invitees: list[str] = Field(default_factory=list)
    invitemessage: str | None = None


class Room(_Model):
    room: str
    token: str | None = None
    leadertoken: str | None = None
    #: The follower link, for everyone.
    publicinvitation: str
    #: The leader link (built on `leadertoken`): privileged, for the creator alone.
    privateinvitation: str | None = None


class _Titled(_Model):
    """A room as SameSurf lists it: the marker Cohost put into its title (`services.markers`) taken off."""

    title: VendorText = None
    marker: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unmark(cls, data: Any) -> Any:
        return markers.lift(data, "title")


class RunningRoom(_Titled):
    room: VendorId
    starttime: VendorTime = None
    publicinvitation: VendorText = None
    privateinvitation: VendorText = None


class Invitation(_Model):
    token: str
    link: str


class Overview(_Model):
    """Every figure None where SameSurf left it out or sent something that is not one (shown as unknown)."""

    url_latest: VendorText = None
    url_most_popular: VendorText = None
    rooms_total: VendorCount = None
    rooms_today: VendorCount = None
    rooms_thisweek: VendorCount = None
    rooms_thismonth: VendorCount = None
    averageduration_alltime: VendorAmount = None
    averageduration_today: VendorAmount = None
    averageduration_thisweek: VendorAmount = None
    averageduration_thismonth: VendorAmount = None


class AnalyticsRoom(_Titled):
    room: VendorId
    date: VendorTime = None
    #: Seconds.
    duration: VendorCount = None
    screenrecordings: VendorCount = None


class AnalyticsRooms(_Model):
    total_rooms: VendorCount = None
    rooms: list[AnalyticsRoom] = Field(default_factory=list)
    #: Rooms on the page that could not be read.
    unreadable: int = 0


class RoomEvent(_Model):
    type: VendorText = None
    date: VendorTime = None
    data: VendorText = None


class RoomUser(_Model):
    """A person in a room's report. SameSurf also sends their IP address: it is not read, so it is never kept or
    shown (a report says who came, not where from exactly)."""

    host: VendorFlag = False
    joinedat: VendorTime = None
    leftat: VendorTime = None
    name: VendorText = None
    city: VendorText = None
    country: VendorText = None


class RoomAnalytics(_Titled):
    events: Annotated[list[RoomEvent], BeforeValidator(rows_of(RoomEvent))] = Field(default_factory=list)
    users: Annotated[list[RoomUser], BeforeValidator(rows_of(RoomUser))] = Field(default_factory=list)


class ApiKey(_Model):
    apikey: str
    apisecret: SecretStr


def classify(status: int, body: Any) -> VendorError | None:
    if not isinstance(body, dict):
        return (
            None if 200 <= status < 300 else VendorBadRequest(VENDOR, f"SameSurf refused the request (HTTP {status})")
        )
    if body.get("success") is not False and 200 <= status < 300:
        return None
    text = str(body.get("error") or f"SameSurf refused the request (HTTP {status})")
    code = body.get("errorcode")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    if code in _AUTH_CODES or status in (401, 403):
        return VendorAuthError(VENDOR, text, status=status)
    if code in _NOT_FOUND_CODES or status == 404:
        return VendorNotFound(VENDOR, text, status=status)
    return VendorBadRequest(VENDOR, text, status=status, code=code)


def _dumps(items: list[_Model]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


class SameSurf:
    vendor = VENDOR
    page_size = 100

    def __init__(self, http: VendorHttp, api_key: str, api_secret: str, alg: str = "HS256") -> None:
        self._http = replace(http, auth_headers=self._auth_header, classify=classify)
        self._api_key = api_key
        self._api_secret = api_secret
        self._alg = alg

    def _auth_header(self) -> dict[str, str]:
        # PyJWT loads `cryptography` with it (some 9 MB): a process pays for it only once it speaks to SameSurf.
        import jwt

        claims = {"iat": int(time.time()), "sub": self._api_key}
        if self._alg == "none":
            token = jwt.encode(claims, "", algorithm="none")  # PyJWT takes an empty key as no key for "none"
        else:
            token = jwt.encode(claims, self._api_secret, algorithm=self._alg, headers={"typ": "JWT"})
        return {"Authorization": f"Bearer {token}"}

    async def _post(self, path: str, body: dict[str, Any] | None = None, *, safe: bool = False) -> dict[str, Any]:
        resp = await self._http.call("POST", path, json_body=body if body is not None else {}, safe_to_repeat=safe)
        return resp.body if isinstance(resp.body, dict) else {}

    async def create_room(
        self,
        *,
        starturl: str | None = None,
        title: str | None = None,
        bookmarks: list[Bookmark] | None = None,
        session: SessionData | None = None,
        disabledfeatures: list[str] | None = None,
        schedule: Schedule | None = None,
        marker: str | None = None,
    ) -> Room:
        """`marker`: put into the room's title, so the room can be told apart in `runningrooms` even if this
        call's answer is never read."""
        body: dict[str, Any] = {"starturl": starturl or DEFAULT_START_URL}
        if title or marker:
            body["title"] = markers.mark(title or "", marker).strip()
        if bookmarks:
            body["bookmarks"] = _dumps(list(bookmarks))
        if session is not None and (session.cookies or session.storage):
            body["session"] = session.model_dump()
        if disabledfeatures:
            body["disabledfeatures"] = list(disabledfeatures)
        if schedule is not None:
            body.update(_schedule_fields(schedule))
        return read_one(Room, await self._post("create", body), VENDOR, "a room")

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase (a typed `VendorError` when it does not)."""
        _rooms, total = await self.running_rooms(limit=1)
        return f"API key and secret accepted; {plural(total, 'running room')}"

    async def running_rooms(self, *, skip: int = 0, limit: int | None = None) -> tuple[Rows[RunningRoom], int]:
        """A page of running rooms, and how many rooms run in all (as SameSurf counts them)."""
        body: dict[str, Any] = {"skip": skip}
        if limit is not None:
            body["limit"] = limit
        data = await self._post("runningrooms", body, safe=True)
        rooms = read_rows(RunningRoom, data.get("rooms"))
        total = count_or_none(data.get("totalrooms"))
        return rooms, total if total is not None else len(rooms) + rooms.unreadable

    async def all_running_rooms(self) -> Rows[RunningRoom]:
        rooms: Rows[RunningRoom] = Rows()
        for _ in range(MAX_PAGES):
            page, total = await self.running_rooms(skip=len(rooms) + rooms.unreadable, limit=self.page_size)
            rooms.extend(page)
            rooms.unreadable += page.unreadable
            if (not page and not page.unreadable) or len(rooms) + rooms.unreadable >= total:
                break
        return rooms

    async def create_invitation(
        self, room: str, *, usagelimit: int = 1, isleader: bool = False, usersname: str | None = None
    ) -> Invitation:
        body: dict[str, Any] = {"room": room, "usagelimit": usagelimit, "isleader": isleader}
        if usersname:
            body["usersname"] = usersname
        return read_one(Invitation, await self._post("createlimitedusetoken", body), VENDOR, "an invitation")

    async def delete_invitation(self, token: str) -> None:
        await self._post("deletelimitedusetoken", {"token": token})

    async def analytics_overview(self) -> Overview:
        return read_one(Overview, await self._post("analyticsoverview", safe=True), VENDOR, "an overview")

    async def analytics_rooms(self, *, skip: int = 0, take: int = 20) -> AnalyticsRooms:
        data = await self._post("analyticsrooms", {"skip": skip, "take": take}, safe=True)
        rooms = read_rows(AnalyticsRoom, data.get("rooms"))
        return AnalyticsRooms(total_rooms=data.get("total_rooms"), rooms=rooms, unreadable=rooms.unreadable)

    async def newest_rooms(self) -> AsyncGenerator[AnalyticsRooms, None]:
        """The account's rooms, newest first, a page at a time, until the list ends or `HISTORY_PAGES` were read."""
        for page_no in range(HISTORY_PAGES):
            page = await self.analytics_rooms(skip=page_no * HISTORY_PAGE, take=HISTORY_PAGE)
            yield page
            seen = (page_no + 1) * HISTORY_PAGE
            if len(page.rooms) + page.unreadable < HISTORY_PAGE or (
                page.total_rooms is not None and seen >= page.total_rooms
            ):
                return

    async def room_analytics(self, room: str, *, version: int = 0) -> RoomAnalytics:
        data = await self._post("roomanalytics", {"room": room, "version": version}, safe=True)
        return read_one(RoomAnalytics, data, VENDOR, "room analytics")

    async def create_subscription(
        self,
        name: str,
        *,
        licensecount: int,
        overrides: dict[str, str] | None = None,
        bookmarks: list[Bookmark] | None = None,
        disabledfeatures: list[str] | None = None,
    ) -> None:
        body: dict[str, Any] = {"name": name, "licensecount": licensecount}
        if overrides:
            body["configuration_overrides"] = [{"key": key, "value": value} for key, value in overrides.items()]
        if bookmarks:
            body["bookmarks"] = _dumps(list(bookmarks))
        if disabledfeatures:
            # The parameter list says `disabledfeatures`, the example `disabled_features`: send both spellings.
            body["disabledfeatures"] = list(disabledfeatures)
            body["disabled_features"] = list(disabledfeatures)
        await self._post("reseller/createsubscription", body)

    async def delete_subscription(self, name: str, *, force: bool = False) -> None:
        # `force` is not in the doc's parameter list, but the server asks for it (errorcode 120) when needed.
        body: dict[str, Any] = {"name": name}
        if force:
            body["force"] = True
        await self._post("reseller/deletesubscription", body)

    async def create_api_key(self, subscription: str) -> ApiKey:
        data = await self._post("reseller/createapikey", {"subscription": subscription})
        return read_one(ApiKey, data, VENDOR, "API credentials")


def _schedule_fields(schedule: Schedule) -> dict[str, Any]:
    when = schedule.eventtime.replace(microsecond=0)
    zone = schedule.timezone if schedule.timezone and schedule.timezone != "UTC" else None
    if when.tzinfo is not None:
        # The wall clock sent is the zone's (or UTC's), whatever zone the moment came in; a zone name that is not
        # one is sent as it is, for SameSurf to refuse in its own words (106/107).
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            when = when.astimezone(ZoneInfo(zone) if zone else UTC)
    fields: dict[str, Any] = {}
    if zone:
        # A wall-clock time plus its IANA zone, as in SameSurf's example.
        fields["eventtime"] = when.replace(tzinfo=None).isoformat()
        fields["timezone"] = zone
    else:
        fields["eventtime"] = when.replace(tzinfo=None).isoformat() + "Z"
    if schedule.lengthinminutes:
        fields["lengthinminutes"] = schedule.lengthinminutes
    if schedule.invitees:
        fields["invitees"] = ",".join(schedule.invitees)
    if schedule.invitemessage:
        fields["invitemessage"] = schedule.invitemessage
    return fields
