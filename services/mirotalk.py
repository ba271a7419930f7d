"""MiroTalk SFU (self-hosted): stats, live meetings, meeting links, personal join links, tokens, ending a meeting.

Built to how a real v2.3.77 server answers (NOTES.md), where its swagger differs: `totalUsers` (the swagger says
`totalPeers`: both read), no `avatar` on peers, `403` both for a wrong secret and for an endpoint the server's
admin switched off (told apart by the text), and a `200` web page for a path an older server lacks.
The server does not URL-encode `room`, `roomPassword` or `duration` in the join links it builds, so those are
restricted here to characters that need no encoding.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.errors import (
    InvalidInput,
    VendorAuthError,
    VendorBadRequest,
    VendorDisabled,
    VendorError,
    VendorNotFound,
)
from services.http import VendorHttp
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

VENDOR = "MiroTalk"
ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PASSWORD = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")
DURATION = re.compile(r"^(unlimited|\d{2}:[0-5]\d:[0-5]\d)$")
EXPIRY = re.compile(r"^\d+[smhdw]$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Stats(_Model):
    """None where the server left a figure out or sent something that is not one (shown as unknown)."""

    timestamp: VendorTime = None
    total_rooms: VendorCount = Field(None, alias="totalRooms")
    total_users: VendorCount = Field(None, alias="totalUsers")


class Peer(_Model):
    name: VendorText = None
    presenter: VendorFlag = False
    video: VendorFlag = False
    audio: VendorFlag = False
    screen: VendorFlag = False
    hand: VendorFlag = False
    os: VendorText = None
    browser: VendorText = None


class Meeting(_Model):
    room: VendorId = Field(alias="roomId")
    peers: Annotated[list[Peer], BeforeValidator(rows_of(Peer))] = Field(default_factory=list)


class TokenRequest(_Model):
    username: str | None = None
    password: str | None = None
    presenter: bool = False
    expire: str = "1h"


class JoinRequest(_Model):
    """Every field of `/join`; falsy ones get the server's defaults."""

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
    token: TokenRequest | None = None


class InvalidMeetingInput(InvalidInput):
    """A room name, password, duration or expiry a join link could not carry intact."""


def check_room(room: str) -> None:
    if not ROOM_NAME.match(room):
        raise InvalidMeetingInput("Room names are 1-64 letters, digits, `-` or `_` (so the join link never breaks).")


def check_join(request: JoinRequest) -> None:
    check_room(request.room)
    if request.room_password and not PASSWORD.match(request.room_password):
        raise InvalidMeetingInput("Passwords are 1-64 letters, digits, `.`, `_`, `~` or `-`.")
    if not DURATION.match(request.duration):
        raise InvalidMeetingInput("Duration is `unlimited` or HH:MM:SS, e.g. 01:30:00.")
    if request.token is not None:
        check_expiry(request.token.expire)


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

    def __init__(self, http: VendorHttp, api_secret: str) -> None:
        self._http = http
        http.auth_headers = lambda: {"authorization": api_secret}  # the raw secret, no `Bearer`
        http.classify = classify
        http.page_means_unsupported = True

    async def stats(self) -> Stats:
        body = (await self._http.call("GET", "stats", safe_to_repeat=True)).body or {}
        # A real server says `totalUsers`; the swagger says `totalPeers`.
        if isinstance(body, dict) and "totalUsers" not in body and "totalPeers" in body:
            body = {**body, "totalUsers": body["totalPeers"]}
        return read_one(Stats, body, VENDOR, "stats")

    async def meetings(self) -> Rows[Meeting]:
        """The live meetings; one whose room cannot be read is counted in `unreadable`."""
        body = (await self._http.call("GET", "meetings", safe_to_repeat=True)).body or {}
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

    async def join_link(self, request: JoinRequest) -> str:
        check_join(request)
        # `/join` needs a JSON body, `{}` at least, or the server answers 500.
        payload = request.model_dump(by_alias=True, exclude_none=True)
        body = (await self._http.call("POST", "join", json_body=payload)).body or {}
        return _url(body, "join")

    async def token(self, request: TokenRequest) -> str:
        check_expiry(request.expire)
        body = (await self._http.call("POST", "token", json_body=request.model_dump(exclude_none=True))).body or {}
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise VendorError(VENDOR, "MiroTalk answered without a token")
        return token

    async def end_meeting(self, room: str, *, redirect: str | None = None) -> None:
        """Ends the meeting for everyone in it; they are sent to `redirect` (or the server's home page)."""
        payload = {"redirect": redirect} if redirect else {}
        await self._http.call("DELETE", f"meeting/{quote(room, safe='')}", json_body=payload)


def _url(body: Any, key: str) -> str:
    url = body.get(key) if isinstance(body, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise VendorError(VENDOR, f"MiroTalk answered without a {key} link")
    return url
