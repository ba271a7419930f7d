"""The store: what the vendors do not keep. Cards (which Slack message shows which session, who made it, its
expiry and state) and the keys of requests already handled, so a redelivered request never acts twice.

SQLAlchemy 2 async on `DATABASE_URL`; the schema is Alembic's (`services/migrations`), applied at start-up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Integer, String, TypeDecorator, delete, event, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).with_name("migrations")


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


class HandledRequest(Base):
    __tablename__ = "handled_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


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
    starts_at: datetime | None = None
    expires_at: datetime | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process in WAL mode
    cursor.close()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

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
        """True the first time `key` is seen; False for a redelivery of a request already handled."""
        try:
            async with self._sessions.begin() as session:
                session.add(HandledRequest(key=key[:200], handled_at=now))
            return True
        except IntegrityError:
            return False

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

    async def set_card_message(self, card_id: int, channel_id: str, ts: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Card).where(Card.id == card_id).values(channel_id=channel_id, ts=ts))

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
