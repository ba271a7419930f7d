"""The database under every part of the store: the engine on `DATABASE_URL` (SQLAlchemy 2 async, SQLite or
PostgreSQL), its schema brought to Alembic's newest migration (`services/migrations`), and the two statements the
parts share: an insert that can skip or update a row already there, and a lease-claim of due rows."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool

log = logging.getLogger("cohost.store")

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
#: The newest migration (tests check it is Alembic's head): a process that finds the schema there starts without
#: loading Alembic at all, some 8 MB a web process does not need.
SCHEMA_HEAD = "0009"


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


def conflict_aware_insert(engine: AsyncEngine) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite's and PostgreSQL's spell it alike). PostgreSQL's is
    loaded only where the store is PostgreSQL: some 2 MB a SQLite deployment does not need."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    return sqlite_insert


class Database:
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
        pool = self.engine.pool
        if isinstance(pool, QueuePool) and (in_use := pool.checkedout()):
            # Work was left running (the process settles its work first): its connection is not closed here, and
            # it fails, or leaks the connection, once it goes on.
            log.error("the store was closed with %d connection(s) still in use", in_use)
        await self.engine.dispose()

    def _insert(self) -> Any:
        return conflict_aware_insert(self.engine)

    async def _claim(
        self, model: Any, free: tuple[Any, ...], order: Any, lease_until: datetime, limit: int, **also: Any
    ) -> Any:
        """Leases up to `limit` rows that are `free`, oldest `order` first, to the caller until `lease_until` (and
        sets `also` on them). Of several claimers at once, each row goes to one."""
        chosen = select(model.id).where(*free).order_by(order).limit(limit)
        if self.engine.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            update(model)
            # The conditions again on the row itself: PostgreSQL re-checks them if another claimer got there first.
            .where(model.id.in_(chosen), *free)
            .values(lease_until=lease_until, **also)
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).scalars().all()
