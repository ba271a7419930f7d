"""The store: what the vendors do not keep. Cards (which Slack message shows which session, who made it, its
expiry and state) and the keys of requests already handled, so a redelivered request never acts twice.

SQLAlchemy 2 async on `DATABASE_URL`; the schema is Alembic's (`services/migrations`), applied at start-up.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest migration (tests check it is Alembic's head): a process that finds the schema there starts without
#: loading Alembic at all, some 8 MB a web process does not need.
SCHEMA_HEAD = "0004"
CLAIM_BATCH = 500  # rows per INSERT: two bound values each, well under SQLite's limit


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


class CardState(enum.StrEnum):
    ACTIVE = "active"
    #: An End is under way: a second click sees it and does not call the vendor again.
    ENDING = "ending"
    ENDED = "ended"
    EXPIRED = "expired"


class Card(Base):
    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    family: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str] = mapped_column(String(16))
    vendor_id: Mapped[str] = mapped_column(String(200), index=True)
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
    __tablename__ = "handled_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class MeetingGuest(Base):
    """Which Slack person is which participant of a vendor's session, so "Get my link" reuses their own."""

    __tablename__ = "meeting_guests"
    __table_args__ = (UniqueConstraint("vendor", "session_id", "user_id", name="uq_meeting_guests_person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vendor: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(String(32))
    participant_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Upload(Base):
    """A file mirrored to MirrorAce through the bot: who, what, where it went, when."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    #: `url` (remote upload) or `slack` (a message's file streamed through the bot).
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    slug: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class JobKind(enum.StrEnum):
    #: A reply in the card's thread, `EXPIRY_WARNING_MINUTES` before its session expires.
    WARN = "warn"
    #: The card edited to "Expired" (and a MiroTalk meeting with a set length ended on the server).
    EXPIRE = "expire"
    #: A reminder in the channel before a scheduled start.
    REMIND = "remind"


class Job(Base):
    """One thing to do at a time for a card. Claimed with a lease, so of several schedulers one does it; done
    once, and a lease that ran out (the scheduler died mid-way) lets another take it over."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("card_id", "kind", name="uq_jobs_card_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    card_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: `done`, or why it was not: `cancelled` (the card ended first), `skipped`.
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)


class DigestSubscription(Base):
    """A channel's digest of one family: daily or weekly at a wall-clock time in a time zone."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("channel_id", "family", name="uq_digest_channel_family"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process in WAL mode
    cursor.close()


def _upgrade(connection: Connection) -> None:
    from alembic import command  # only when the schema is behind: see SCHEMA_HEAD
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            # One connection: SQLite takes one writer at a time, and several pooled connections would wait on
            # each other in SQLite's busy handler, which sleeps in steps of up to 100 ms. Queued on one
            # connection, each statement waits only for the ones before it.
            self.engine: AsyncEngine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._claims: list[tuple[str, datetime, asyncio.Future[bool]]] = []
        self._claimer: asyncio.Task[None] | None = None

    async def migrate(self) -> None:
        """Brings the schema to the newest migration (nothing to do, and Alembic not even loaded, when it is)."""
        if await self.schema_version() == SCHEMA_HEAD:
            return
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def schema_version(self) -> str | None:
        """The migration the database is at; None for an empty database."""
        async with self.engine.connect() as conn:
            try:
                result = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            except DBAPIError:
                return None
            return result.scalar_one_or_none()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.engine.dispose()

    # -- requests already handled ------------------------------------------------------------------------

    async def claim_request(self, key: str, now: datetime) -> bool:
        """True the first time `key` is seen; False for a redelivery of a request already handled.

        Claims are group-committed: every claim that arrives while one batch is being written goes into the
        next single INSERT, so a burst of requests costs a few transactions, not one each.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((key[:200], now, future))
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._write_claims())
        return await future

    async def _write_claims(self) -> None:
        while self._claims:
            batch, self._claims = self._claims[:CLAIM_BATCH], self._claims[CLAIM_BATCH:]
            rows = {key: at for key, at, _ in batch}
            try:
                inserted = await self._insert_new_keys(rows)
            except Exception as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, _, future in batch:
                # A key twice in one batch: only its first claim wins.
                future.set_result(key in inserted)
                inserted.discard(key)

    async def _insert_new_keys(self, rows: dict[str, datetime]) -> set[str]:
        insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(HandledRequest)
            .values([{"key": key, "handled_at": at} for key, at in rows.items()])
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(HandledRequest.key)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
            return {row[0] for row in result}

    async def prune_requests(self, older_than: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(HandledRequest).where(HandledRequest.handled_at < older_than))
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- cards -----------------------------------------------------------------------------------------------

    async def add_card(self, card: NewCard) -> Card:
        row = Card(**card.__dict__, state=CardState.ACTIVE.value)
        async with self._sessions.begin() as session:
            session.add(row)
        return row

    async def set_card_message(self, card_id: int, ts: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Card).where(Card.id == card_id).values(ts=ts))

    async def get_card(self, card_id: int) -> Card | None:
        async with self._sessions() as session:
            return await session.get(Card, card_id)

    async def find_card(self, vendor: str, vendor_id: str) -> Card | None:
        """The newest card of a vendor's session (SameSurf reuses room numbers)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Card).where(Card.vendor == vendor, Card.vendor_id == vendor_id).order_by(Card.id.desc()).limit(1)
            )
            return result.scalar_one_or_none()

    async def begin_end(self, card_id: int) -> bool:
        """Moves an active card to `ending`; False when someone else already ended or is ending it."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Card)
                .where(Card.id == card_id, Card.state == CardState.ACTIVE.value)
                .values(state=CardState.ENDING.value)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def abort_end(self, card_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card)
                .where(Card.id == card_id, Card.state == CardState.ENDING.value)
                .values(state=CardState.ACTIVE.value)
            )

    async def finish_end(
        self, card_id: int, *, by: str | None, at: datetime, state: CardState = CardState.ENDED
    ) -> Card:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card).where(Card.id == card_id).values(state=state.value, ended_by=by, ended_at=at)
            )
            card = await session.get(Card, card_id)
            assert card is not None
            return card

    async def update_card(
        self, card_id: int, *, name: str, starts_at: datetime | None, expires_at: datetime | None
    ) -> Card:
        """A session's new name or times (Coviu `update`), so the card and its warnings follow."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card).where(Card.id == card_id).values(name=name, starts_at=starts_at, expires_at=expires_at)
            )
            card = await session.get(Card, card_id)
            assert card is not None
            return card

    async def seen_live(self, card_ids: list[int], at: datetime) -> None:
        if not card_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(update(Card).where(Card.id.in_(card_ids)).values(last_seen_at=at))

    async def active_cards(self, family: str | None = None) -> list[Card]:
        async with self._sessions() as session:
            query = select(Card).where(Card.state == CardState.ACTIVE.value)
            if family is not None:
                query = query.where(Card.family == family)
            return list((await session.execute(query.order_by(Card.id))).scalars())

    # -- meeting guests --------------------------------------------------------------------------------------

    async def guest(self, vendor: str, session_id: str, user_id: str) -> str | None:
        """The participant id this person already has in the session, if any."""
        async with self._sessions() as session:
            result = await session.execute(
                select(MeetingGuest.participant_id).where(
                    MeetingGuest.vendor == vendor,
                    MeetingGuest.session_id == session_id,
                    MeetingGuest.user_id == user_id,
                )
            )
            return result.scalar_one_or_none()

    async def add_guest(self, vendor: str, session_id: str, user_id: str, participant_id: str, at: datetime) -> str:
        """Records the person's participant; when a concurrent click recorded one first, that one wins and is
        returned (the caller then drops its own)."""
        insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(MeetingGuest)
            .values(vendor=vendor, session_id=session_id, user_id=user_id, participant_id=participant_id, created_at=at)
            .on_conflict_do_nothing(index_elements=["vendor", "session_id", "user_id"])
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
        existing = await self.guest(vendor, session_id, user_id)
        assert existing is not None
        return existing

    async def guests(self, vendor: str, session_id: str) -> list[tuple[str, str]]:
        """(Slack user id, participant id) of everyone Cohost gave a place in the session."""
        async with self._sessions() as session:
            result = await session.execute(
                select(MeetingGuest.user_id, MeetingGuest.participant_id)
                .where(MeetingGuest.vendor == vendor, MeetingGuest.session_id == session_id)
                .order_by(MeetingGuest.id)
            )
            return [(row[0], row[1]) for row in result]

    async def forget_guest(self, vendor: str, participant_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(MeetingGuest).where(MeetingGuest.vendor == vendor, MeetingGuest.participant_id == participant_id)
            )

    # -- uploads ---------------------------------------------------------------------------------------------

    async def add_upload(self, upload: NewUpload) -> Upload:
        row = Upload(**upload.__dict__)
        async with self._sessions.begin() as session:
            session.add(row)
        return row

    async def uploads_since(self, since: datetime, *, team_id: str | None = None) -> list[Upload]:
        async with self._sessions() as session:
            query = select(Upload).where(Upload.created_at >= since)
            if team_id is not None:
                query = query.where(Upload.team_id == team_id)
            return list((await session.execute(query.order_by(Upload.id))).scalars())

    # -- scheduled work --------------------------------------------------------------------------------------

    def _insert(self) -> Any:
        return postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert

    async def plan_jobs(self, card_id: int, plan: list[tuple[JobKind, datetime]]) -> None:
        """Sets when each kind of job of a card is due; a job already done stays done, a pending one moves."""
        if not plan:
            return
        insert = self._insert()
        rows = [{"card_id": card_id, "kind": kind.value, "due_at": due, "attempts": 0} for kind, due in plan]
        statement = insert(Job).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["card_id", "kind"],
            set_={"due_at": statement.excluded.due_at, "lease_until": None},
            where=Job.done_at.is_(None),
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def cancel_jobs(self, card_id: int, at: datetime, *, kinds: tuple[JobKind, ...] | None = None) -> None:
        """The card ended: its pending jobs will not run."""
        query = update(Job).where(Job.card_id == card_id, Job.done_at.is_(None))
        if kinds is not None:
            query = query.where(Job.kind.in_([kind.value for kind in kinds]))
        async with self._sessions.begin() as session:
            await session.execute(query.values(done_at=at, outcome="cancelled"))

    async def claim_jobs(self, now: datetime, *, lease: timedelta, limit: int = 100) -> list[Job]:
        """Due jobs nobody holds, leased to the caller until `now + lease`. Of several schedulers claiming at
        once, each job goes to one."""
        free = (Job.done_at.is_(None), Job.due_at <= now, (Job.lease_until.is_(None)) | (Job.lease_until < now))
        return list(await self._claim(Job, free, Job.due_at, now + lease, limit))

    async def finish_job(self, job_id: int, at: datetime, outcome: str = "done") -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(done_at=at, outcome=outcome))

    async def jobs_of(self, card_id: int) -> list[Job]:
        async with self._sessions() as session:
            return list((await session.execute(select(Job).where(Job.card_id == card_id).order_by(Job.id))).scalars())

    async def _claim(self, model: Any, free: tuple[Any, ...], order: Any, lease_until: datetime, limit: int) -> Any:
        chosen = select(model.id).where(*free).order_by(order).limit(limit)
        if self.engine.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            update(model)
            # The conditions again on the row itself: PostgreSQL re-checks them if another claimer got there first.
            .where(model.id.in_(chosen), *free)
            .values(lease_until=lease_until, **({"attempts": model.attempts + 1} if model is Job else {}))
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).scalars().all()

    # -- digest subscriptions --------------------------------------------------------------------------------

    async def set_digest(self, digest: NewDigest) -> DigestSubscription:
        """One subscription per channel and family: a new one replaces the old."""
        insert = self._insert()
        values = dict(digest.__dict__)
        statement = insert(DigestSubscription).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["channel_id", "family"],
            set_={key: statement.excluded[key] for key in values if key not in ("channel_id", "family")}
            | {"lease_until": None},
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
        found = await self.digest(digest.channel_id, digest.family)
        assert found is not None
        return found

    async def digest(self, channel_id: str, family: str) -> DigestSubscription | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(DigestSubscription).where(
                    DigestSubscription.channel_id == channel_id, DigestSubscription.family == family
                )
            )
            return result.scalar_one_or_none()

    async def remove_digest(self, channel_id: str, family: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(DigestSubscription).where(
                    DigestSubscription.channel_id == channel_id, DigestSubscription.family == family
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_digests(self, now: datetime, *, lease: timedelta, limit: int = 50) -> list[DigestSubscription]:
        """Digests due now that nobody is sending, leased to the caller."""
        d = DigestSubscription
        free = (d.next_run_at <= now, (d.lease_until.is_(None)) | (d.lease_until < now))
        return list(await self._claim(d, free, d.next_run_at, now + lease, limit))

    async def digest_sent(self, digest_id: int, *, at: datetime, next_run_at: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(DigestSubscription)
                .where(DigestSubscription.id == digest_id)
                .values(last_sent_at=at, next_run_at=next_run_at, lease_until=None)
            )

    async def retry_digest(self, digest_id: int, *, leased_until: datetime, at: datetime) -> None:
        """A digest that could not go out now (Slack said when to come back): claimable again from `at` instead
        of when its lease runs out. Only while the caller's lease still holds, so no one else's claim is undone."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(DigestSubscription)
                .where(DigestSubscription.id == digest_id, DigestSubscription.lease_until == leased_until)
                .values(lease_until=at)
            )

    async def cards_between(
        self, start: datetime, end: datetime, *, family: str, channel_id: str | None = None
    ) -> list[Card]:
        """Cards of a family created in [start, end), oldest first; only one channel's when `channel_id` is given."""
        async with self._sessions() as session:
            query = select(Card).where(Card.family == family, Card.created_at >= start, Card.created_at < end)
            if channel_id is not None:
                query = query.where(Card.channel_id == channel_id)
            return list((await session.execute(query.order_by(Card.created_at, Card.id))).scalars())
