"""The meeting family's adapters: MiroTalk rooms and Coviu sessions behind one shape, so `/meeting`, its cards and
the scheduler list, end and expire either without asking which it is."""

from __future__ import annotations

import contextlib
from datetime import datetime

from services.coviu import Coviu, Session
from services.errors import VendorDisabled, VendorNotFound, VendorUnsupported
from services.mirotalk import Meeting, MiroTalk
from services.sessions import Ending, LiveSession
from services.vendor_values import Rows


def live_meeting(meeting: Meeting) -> LiveSession:
    """A MiroTalk meeting as a live row: its room, and who is in it."""
    return LiveSession(
        vendor_id=meeting.room,
        people=tuple(peer.name for peer in meeting.peers),
        sharing=sum(1 for peer in meeting.peers if peer.screen),
    )


class MiroTalkMeetings:
    def __init__(self, client: MiroTalk) -> None:
        self._client = client

    async def live(self, now: datetime) -> Rows[LiveSession]:
        return (await self._client.meetings()).map(live_meeting)

    async def end(self, vendor_id: str, *, now: datetime, redirect: str | None = None) -> Ending:
        try:
            await self._client.end_meeting(vendor_id, redirect=redirect)
        except VendorNotFound:
            return Ending.EMPTY  # a MiroTalk room exists only while someone is in it
        return Ending.ENDED

    async def can_end(self) -> bool:
        return await self._client.ending_on()

    async def expire(self, vendor_id: str) -> None:
        """A meeting given a length is ended on the server, where it lets Cohost end meetings."""
        if await self._client.ending_on():
            # Nobody in the room, ending switched off since it was learned, or an older server without the
            # call: nothing Cohost can end, and the card still expires.
            with contextlib.suppress(VendorNotFound, VendorDisabled, VendorUnsupported):
                await self._client.end_meeting(vendor_id)

    async def knows(self, vendor_id: str) -> bool:
        return False  # a room exists only while someone is in it: any name may be one

    async def guest_link(self, guest_id: str) -> str | None:
        return None  # MiroTalk links are made afresh for each person, never recorded


def _coviu_live(session: Session) -> LiveSession:
    """A Coviu session as a live row: its name and times."""
    return LiveSession(
        vendor_id=session.session_id,
        name=session.session_name,
        started_at=session.start_time,
        ends_at=session.end_time,
        unknown_times="times" if session.start_time is None or session.end_time is None else None,
    )


class CoviuSessions:
    def __init__(self, client: Coviu) -> None:
        self._client = client

    async def live(self, now: datetime) -> Rows[LiveSession]:
        return (await self._client.live_sessions(now)).map(_coviu_live)

    async def end(self, vendor_id: str, *, now: datetime, redirect: str | None = None) -> Ending:
        """Ends the session as Coviu allows for where it stands; where Coviu did not say its times, as if running."""
        session = await self._client.get_session(vendor_id)
        if session.canceled_time or (session.end_time is not None and session.end_time <= now):
            return Ending.OVER
        if session.start_time is not None and session.start_time > now:
            await self._client.cancel_session(vendor_id)  # not started: Coviu cancels it
            return Ending.CANCELLED
        await self._client.end_session(vendor_id, now)  # running: its end becomes now
        return Ending.ENDED

    async def can_end(self) -> bool:
        return True

    async def expire(self, vendor_id: str) -> None:
        return None  # a Coviu session ends at its end time on its own

    async def knows(self, vendor_id: str) -> bool:
        try:
            await self._client.get_session(vendor_id)
        except VendorNotFound:
            return False
        return True

    async def guest_link(self, guest_id: str) -> str | None:
        try:
            participant = await self._client.get_participant(guest_id)
        except VendorNotFound:
            return None  # removed since
        if participant.deleted or not participant.entry_url:
            return None  # canceled since: its link no longer lets anyone in
        return participant.entry_url
