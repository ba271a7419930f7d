"""What the store keeps, as tables: cards, their jobs, digest subscriptions, the keys of handled requests, meeting
guests and uploads; and the new rows' shapes (`NewCard`, ...) the handlers hand in.

Workspaces are walls: every row belongs to a team (`team_id`), and every lookup a request can reach takes the
team, so a click or command from one workspace never finds another's card, subscription, guest or key. The
schema is Alembic's (`services/migrations`): a change here comes with a migration.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TeamRow:
    """The columns of a row of one workspace (workspaces are walls): its own id, and the team it belongs to. They
    come first in its table, as the migrations made them."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=-2)
    team_id: Mapped[str] = mapped_column(String(32), sort_order=-1)


class CardState(enum.StrEnum):
    ACTIVE = "active"
    #: An End is under way: a second click sees it and does not call the vendor again.
    ENDING = "ending"
    ENDED = "ended"
    EXPIRED = "expired"


class Card(TeamRow, Base):
    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_team_vendor_id", "team_id", "vendor", "vendor_id"),)

    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    family: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    creator_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=CardState.ACTIVE.value)
    ended_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: The public join link the card shows (reminders carry it again); never a personal one.
    join_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    #: When reconciliation last saw the session live at its vendor.
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class HandledRequest(Base):
    """A request already acted on, per team: one workspace's key never blocks another's request."""

    __tablename__ = "handled_requests"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class MeetingGuest(TeamRow, Base):
    """Which Slack person is which participant of a vendor's session, so "Get my link" reuses their own."""

    __tablename__ = "meeting_guests"
    __table_args__ = (
        UniqueConstraint("team_id", "vendor", "session_id", "user_id", name="uq_meeting_guests_team_person"),
    )

    vendor: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(String(32))
    participant_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Upload(TeamRow, Base):
    """A file mirrored to MirrorAce through the bot: who, what, where it went, when."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_team_created_at", "team_id", "created_at"),)

    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    #: `url` (remote upload) or `slack` (a message's file streamed through the bot).
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    slug: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class JobKind(enum.StrEnum):
    #: A reply in the card's thread, `EXPIRY_WARNING_MINUTES` before its session expires.
    WARN = "warn"
    #: The card edited to "Expired" (and a MiroTalk meeting with a set length ended on the server).
    EXPIRE = "expire"
    #: A reminder in the channel before a scheduled start.
    REMIND = "remind"


class Job(TeamRow, Base):
    """One thing to do at a time for a card. Claimed with a lease, so of several schedulers one does it; done
    once, and a lease that ran out (the scheduler died mid-way) lets another take it over. Its team is its card's:
    the scheduler acts in that workspace (with its token, once there are several)."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("card_id", "kind", name="uq_jobs_card_kind"),
        Index("ix_jobs_pending", "done_at", "due_at"),  # the scheduler's claim: the jobs not done, soonest first
    )

    kind: Mapped[str] = mapped_column(String(24))
    card_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Tries begun (each claim counts one, so a scheduler that died mid-way counts too).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: After a failed try: not claimed again before this.
    retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: What the last failed try ran into, as a person may read it (never a secret).
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: `done`, or why it was not: `cancelled` (the card ended first), `skipped`, `failed` (it gave up).
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The steps an earlier try already did (one a line): a try after a failure part-way does only what is left.
    steps_done: Mapped[str | None] = mapped_column(Text, nullable=True)


class DigestSubscription(TeamRow, Base):
    """A channel's digest of one family: daily or weekly at a wall-clock time in a time zone."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "family", name="uq_digest_team_channel_family"),
        Index("ix_digest_subscriptions_next_run_at", "next_run_at"),  # the digests due, by the scheduler's claim
    )

    channel_id: Mapped[str] = mapped_column(String(32))
    family: Mapped[str] = mapped_column(String(16))
    cadence: Mapped[str] = mapped_column(String(8))  # daily | weekly
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0 = Monday, for weekly
    at_time: Mapped[str] = mapped_column(String(5))  # HH:MM, wall clock in `tz`
    tz: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(32))
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Failed tries in a row at sending the current digest (Slack's 429s not counted).
    failures: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class NewDigest:
    team_id: str
    channel_id: str
    family: str
    cadence: str
    weekday: int | None
    at_time: str
    tz: str
    created_by: str
    next_run_at: datetime


@dataclass(frozen=True)
class NewUpload:
    team_id: str
    channel_id: str
    user_id: str
    source: str
    name: str
    size: int | None
    slug: str
    url: str
    created_at: datetime


@dataclass(frozen=True)
class NewCard:
    team_id: str
    channel_id: str
    family: str
    vendor: str
    vendor_id: str
    name: str
    creator_id: str
    created_at: datetime
    #: The card's message, None when it could not be posted in the channel (it went to the creator privately).
    ts: str | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    join_url: str | None = None
