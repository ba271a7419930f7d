"""The intake records' transactions: on SQLite, run whole on the event loop with a connection of their own; on
PostgreSQL, on the store's pool. Batches of them are group-committed (services/batching.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError

from services.batching import GroupCommit, LoopGroupCommit, TryAgain
from services.store import Store
from services.store.database import _sqlite_pragmas as sqlite_pragmas

T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")

#: On SQLite, how soon a transaction that found the database locked (the store's connection mid-write) tries
#: again, and for how long at most.
_LOCKED_RETRY_S = 0.001
_LOCKED_GIVE_UP_S = 30.0
#: How long a batch of records gathers before it is written: a few ms on an acknowledgement that Bolt looks for
#: every 10 ms anyway, for a burst written in a few large transactions instead of one small one per loop turn.
_GATHER_S = 0.008


def _sqlite_pragmas_for_intake(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    # A locked database answers at once (`Transactions` tries again a millisecond later): SQLite's own wait
    # sleeps in steps of up to 100 ms, which would be the acknowledgement's delay whenever a card is being written.
    cursor.execute("PRAGMA busy_timeout=0")
    # The store's connection copies the log into the database now and then (a checkpoint, with an fsync): done
    # by this one, at the end of a commit, it would hold up the acknowledgements waiting on that commit.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class Transactions:
    """Runs a transaction (a plain function of a connection) for the intake records.

    On SQLite, on the event loop itself, with a connection of its own (pysqlite): a transaction is a few hundred
    microseconds of work (no fsync in WAL mode), where aiosqlite hands each statement to a thread and back, each
    hand-over waiting for a turn of a loop busy with a burst of requests (that, not SQLite, was most of what
    recording a command before its acknowledgement cost). The connection of its own keeps an acknowledgement
    from queuing behind the store's writes (cards, jobs): it waits only for the one under way, trying again every
    millisecond without holding up the loop. On PostgreSQL, on the store's pool.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._sqlite: Engine | None = None
        if store.url.startswith("sqlite"):
            self._sqlite = create_engine(make_url(store.url).set(drivername="sqlite"), pool_size=1, max_overflow=0)
            event.listen(self._sqlite, "connect", _sqlite_pragmas_for_intake)

    def group_commit(
        self, work: Callable[[Connection, list[Item]], list[Result]]
    ) -> GroupCommit[Item, Result] | LoopGroupCommit[Item, Result]:
        """Batches of items, each written by `work` in one transaction (services/batching.py)."""
        if self._sqlite is None:
            return GroupCommit(lambda items: self.run(lambda conn: work(conn, items)))
        return LoopGroupCommit(
            lambda items: self._on_sqlite(lambda conn: work(conn, items)),
            retry_s=_LOCKED_RETRY_S,
            give_up_s=_LOCKED_GIVE_UP_S,
            gather_s=_GATHER_S,
        )

    async def run(self, work: Callable[[Connection], T]) -> T:
        """One transaction."""
        if self._sqlite is None:
            async with self._store.engine.begin() as conn:
                return await conn.run_sync(work)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _LOCKED_GIVE_UP_S
        while True:
            try:
                return self._on_sqlite(work)
            except TryAgain:
                if loop.time() > deadline:
                    raise
            await asyncio.sleep(_LOCKED_RETRY_S)

    def _on_sqlite(self, work: Callable[[Connection], T]) -> T:
        assert self._sqlite is not None
        try:
            with self._sqlite.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            if "database is locked" not in str(exc.orig):
                raise
            _drop_tracebacks(exc)
        raise TryAgain  # outside the handler: it carries nothing of the error (see _drop_tracebacks)

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()


def _drop_tracebacks(error: BaseException) -> None:
    """Forgets where an expected error was raised. A locked database is met every few commands under load (the
    store's connection mid-write), and each such error, its traceback and SQLAlchemy's frames hold each other in
    reference cycles: a burst left thousands of objects for the garbage collector to find, and its pauses were the
    tail of the acknowledgements. Without the tracebacks they are freed at once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        orig = getattr(current, "orig", None)
        pending += [current.__cause__, current.__context__, orig if isinstance(orig, BaseException) else None]
