"""What every vendor that runs sessions does for Cohost, in one shape (`SessionAdapter`), so handlers and scheduled
jobs say `adapter.live(...)` or `adapter.end(...)` and never ask which vendor it is. Each family has its adapters:
co-browsing in `services.cobrowsing`, meetings in `services.meetings`; the registry says which vendor has which."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from services.vendor_values import Rows


class LiveSession(BaseModel):
    """One row of a vendor's own list of what is live, in the vendor's words."""

    model_config = ConfigDict(frozen=True)

    vendor_id: str
    #: The vendor's name for it; None where it has none (a MiroTalk room is only its id).
    name: str | None = None
    #: A link anyone may use to join (never a leader's or a person's own link).
    join_url: str | None = None
    code: str | None = None
    started_at: datetime | None = None
    ends_at: datetime | None = None
    #: Which of its times the vendor did not say, where it has them: its end, or its start and end.
    unknown_times: Literal["end", "times"] | None = None
    #: Who is in it (their names, None for a nameless one), where the vendor says; and how many share a screen.
    people: tuple[str | None, ...] | None = None
    sharing: int = 0


class Ending(Enum):
    """How a session's end went, as the vendor answered."""

    #: Ended now, for everyone in it.
    ENDED = "ended"
    #: Nobody was in it, so there was nothing to end: it is over all the same.
    EMPTY = "empty"
    #: It had already ended (timed out, or ended elsewhere).
    OVER = "over"
    #: It had not started yet: it is cancelled.
    CANCELLED = "cancelled"


class SessionAdapter(Protocol):
    """A vendor's sessions, as Cohost's cards, lists and scheduled jobs need them."""

    async def live(self, now: datetime) -> Rows[LiveSession]:
        """What the vendor lists as live now (running, or still to come where it lists those too)."""
        ...

    async def end(self, vendor_id: str, *, now: datetime, redirect: str | None = None) -> Ending:
        """Ends the session for everyone in it (`redirect`: where its people are sent, where the vendor can)."""
        ...

    async def can_end(self) -> bool:
        """Whether Cohost may end this vendor's sessions now (a server can switch it off)."""
        ...

    async def expire(self, vendor_id: str) -> None:
        """The session's time is up: whatever the vendor needs to close it (most close on their own)."""
        ...

    async def knows(self, vendor_id: str) -> bool:
        """Whether the vendor knows a session by this id (False where it cannot say)."""
        ...

    async def guest_link(self, guest_id: str) -> str | None:
        """The entry link of a person's own guest (participant) Cohost recorded; None once it lets nobody in."""
        ...
