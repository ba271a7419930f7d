"""The co-browsing family's adapters: MirrorTab sessions and SameSurf rooms behind one shape, so `/cobrowse`
starts, lists and ends either without asking which it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from services.errors import VendorBadRequest, VendorUnsupported
from services.mirrortab import DEFAULT_DURATION_MIN, DEFAULT_PERMISSIONS, MirrorTab, MirrorTabSession, Permissions
from services.samesurf import Bookmark, RunningRoom, SameSurf
from services.sessions import Ending, LiveSession, SessionAdapter
from services.vendor_values import Rows

#: The options of a new session, and the vendors that take them (any other vendor refuses them).
MINUTES, ACCESS, DISABLE = "minutes", "access", "disable"
_PERMISSIONS: dict[str, Permissions] = {"open": "open", "gocode": "gocode", "account": "account"}


@dataclass(frozen=True)
class NewCobrowse:
    """A co-browsing session to start: the pages it opens, its name, and the options its vendor takes."""

    name: str
    urls: list[str] = field(default_factory=list)
    minutes: int | None = None
    access: str | None = None
    disable: list[str] = field(default_factory=list)
    #: Put into the session's name (services/markers.py), so it can be found after a crash or a lost answer.
    marker: str | None = None


@dataclass(frozen=True)
class StartedCobrowse:
    vendor_id: str
    #: The link anyone may use to join (posted on the card).
    join_url: str | None
    code: str | None = None
    expires_at: datetime | None = None
    #: True where the vendor has an end time and did not say it.
    end_unknown: bool = False
    #: A privileged link for the creator alone (a SameSurf leader link), never posted.
    leader_link: str | None = None


@dataclass(frozen=True)
class MarkedCobrowse:
    """A live session whose name carries the marker Cohost put into it: one Cohost started."""

    marker: str
    name: str | None
    started: StartedCobrowse


class CobrowseAdapter(SessionAdapter, Protocol):
    #: Which of the new-session options (`MINUTES`, `ACCESS`, `DISABLE`) this vendor takes.
    options: frozenset[str]

    async def start(self, request: NewCobrowse) -> StartedCobrowse: ...

    async def marked(self) -> list[MarkedCobrowse]:
        """The live sessions Cohost started (told apart by their markers)."""
        ...


class _NoGuests:
    async def knows(self, vendor_id: str) -> bool:
        return False

    async def guest_link(self, guest_id: str) -> str | None:
        return None

    async def expire(self, vendor_id: str) -> None:
        return None  # the vendor closes it on its own


def _mirrortab_started(session: MirrorTabSession) -> StartedCobrowse:
    return StartedCobrowse(
        session.session_id,
        session.go_url,
        code=session.gocode,
        expires_at=session.kill_time,
        end_unknown=session.kill_time is None,
    )


def _mirrortab_live(session: MirrorTabSession) -> LiveSession:
    return LiveSession(
        vendor_id=session.session_id,
        name=session.session_name,
        join_url=session.go_url,
        code=session.gocode,
        ends_at=session.kill_time,
        unknown_times=None if session.kill_time else "end",
    )


class MirrorTabSessions(_NoGuests):
    options = frozenset({MINUTES, ACCESS})

    def __init__(self, client: MirrorTab) -> None:
        self._client = client

    async def start(self, request: NewCobrowse) -> StartedCobrowse:
        session = await self._client.new_session(
            name=request.name,
            permissions=_PERMISSIONS.get(request.access or "", DEFAULT_PERMISSIONS),
            duration_min=request.minutes or DEFAULT_DURATION_MIN,
            urls=request.urls,
            marker=request.marker,
        )
        return _mirrortab_started(session)

    async def marked(self) -> list[MarkedCobrowse]:
        return [
            MarkedCobrowse(s.marker, s.session_name, _mirrortab_started(s))
            for s in await self._client.list_sessions()
            if s.marker
        ]

    async def live(self, now: datetime) -> Rows[LiveSession]:
        return (await self._client.list_sessions()).map(_mirrortab_live)

    async def end(self, vendor_id: str, *, now: datetime, redirect: str | None = None) -> Ending:
        """Removes the session; OVER when MirrorTab had already dropped it (it refuses to remove a timed-out one)."""
        try:
            await self._client.remove_session(vendor_id)
        except VendorBadRequest:
            if vendor_id in {s.session_id for s in await self._client.list_sessions()}:
                raise
            return Ending.OVER
        return Ending.ENDED

    async def can_end(self) -> bool:
        return True


def _samesurf_live(room: RunningRoom) -> LiveSession:
    # Only the follower link: a leader link is for the room's creator alone.
    return LiveSession(vendor_id=room.room, name=room.title, join_url=room.publicinvitation, started_at=room.starttime)


class SameSurfRooms(_NoGuests):
    options = frozenset({DISABLE})

    def __init__(self, client: SameSurf) -> None:
        self._client = client

    async def start(self, request: NewCobrowse) -> StartedCobrowse:
        # Every URL given becomes a bookmark, so the room can get back to any of them.
        bookmarks = (
            [Bookmark(name=urlsplit(u).netloc or u, link=u) for u in request.urls] if len(request.urls) > 1 else []
        )
        room = await self._client.create_room(
            starturl=request.urls[0] if request.urls else None,
            title=request.name,
            bookmarks=bookmarks,
            disabledfeatures=request.disable,
            marker=request.marker,
        )
        return StartedCobrowse(room.room, room.publicinvitation, leader_link=room.privateinvitation)

    async def marked(self) -> list[MarkedCobrowse]:
        return [
            MarkedCobrowse(
                r.marker, r.title, StartedCobrowse(r.room, r.publicinvitation, leader_link=r.privateinvitation)
            )
            for r in await self._client.all_running_rooms()
            if r.marker
        ]

    async def live(self, now: datetime) -> Rows[LiveSession]:
        return (await self._client.all_running_rooms()).map(_samesurf_live)

    async def end(self, vendor_id: str, *, now: datetime, redirect: str | None = None) -> Ending:
        raise VendorUnsupported("SameSurf", "SameSurf has no way to end a room: a room ends when everyone leaves")

    async def can_end(self) -> bool:
        return False
