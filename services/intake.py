"""Durable intake: every command is recorded before Slack gets its acknowledgement, and its outcome after.

A record says who typed what where (team, user, channel, the text, its `response_url`, when), the marker that
lets Cohost recognise the session it asks a vendor for (`services.markers`), the vendor's id for it as soon as
the vendor answers, and in the end how it went (`Outcome`). Its key is the request's once-only key: a
redelivered command finds its record and acts on nothing.

While a command is being handled, its record is leased to the process handling it (`owner`, `lease_until`);
that process renews the leases of all its open records every few seconds (`renew`). A record whose lease ran
out belongs to a process that died: another one claims it (`claim_orphans`) and finishes it. The lease is longer
than any vendor call (VENDOR_TIMEOUT_S) plus the renewal period, so when an orphan is claimed, the dead process's
last vendor call is over and the vendor's list shows whatever it created.

Writes are group-committed (`services.batching`): a burst of commands costs a few transactions, which keeps
recording before the acknowledgement cheap. On SQLite each transaction runs whole, on the event loop, on a
connection of its own (`services.intake_transactions`). In WAL mode a committed record survives the process being killed
(synchronous=NORMAL loses nothing but to a power cut).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from services import markers
from services.intake_transactions import Transactions
from services.store import Base, Store, UtcDateTime, conflict_aware_insert

#: How long a key, a Slack id, a vendor name or id may be in the store (the columns' sizes).
_KEY, _ID, _VENDOR, _VENDOR_ID, _COMMAND = 200, 32, 16, 200, 32


class Outcome(enum.StrEnum):
    #: Its session's card is posted (or was sent to the person, where the bot may not post).
    CARDED = "carded"
    #: It failed, and the person was told why, privately.
    ANSWERED = "answered"
    #: It did what it does and there was nothing to card (a list, an end, a form opened).
    DONE = "done"
    #: Found after a crash, its session could not be carded, so it was ended at the vendor (the person told).
    ENDED = "ended"


class IntakeRecord(Base):
    __tablename__ = "intakes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The request's once-only key (`handlers.once.request_key`).
    key: Mapped[str] = mapped_column(String(_KEY), unique=True)
    marker: Mapped[str] = mapped_column(String(markers.LENGTH))
    team_id: Mapped[str] = mapped_column(String(_ID))
    user_id: Mapped[str] = mapped_column(String(_ID))
    channel_id: Mapped[str] = mapped_column(String(_ID))
    command: Mapped[str] = mapped_column(String(_COMMAND))
    #: What was typed after the command, as Slack sent it.
    text: Mapped[str] = mapped_column(Text)
    response_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    #: The process handling it; a new one claims it when the lease has run out.
    owner: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    #: Set while the command is open; None once its outcome is recorded.
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)
    #: How often a process has tried to finish it after a crash.
    recoveries: Mapped[int] = mapped_column(Integer, default=0)
    vendor: Mapped[str | None] = mapped_column(String(_VENDOR), nullable=True)
    vendor_id: Mapped[str | None] = mapped_column(String(_VENDOR_ID), nullable=True)
    #: The command's card, set just before its message is posted, and the message's ts once it is.
    card_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    card_ts: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    #: The message holding the card's place in the channel, posted before the vendor was asked (a form's picked
    #: channel): the card takes it, or it is taken away.
    held_ts: Mapped[str | None] = mapped_column(String(_ID), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    @property
    def typed(self) -> str:
        return f"{self.command} {self.text}".strip()


@dataclass(frozen=True)
class Received:
    """A command as it arrived, to record before it is acknowledged."""

    key: str
    team_id: str
    user_id: str
    channel_id: str
    command: str
    text: str
    response_url: str | None
    at: datetime


@dataclass
class Ticket:
    """The handle of an open record, for the handler working on it."""

    id: int
    marker: str
    #: The vendor asked for a session (with the marker in its name), once one is, and its id for the session.
    asked: str | None = None
    vendor_id: str | None = None
    #: The card its session got, once there is one.
    card_id: int | None = None


def _clean(text: str) -> str:
    # A value the database would refuse (PostgreSQL takes no NUL) must not fail the whole batch it is in.
    return text.replace("\x00", "\ufffd")


def _fits(text: str, size: int) -> str:
    return _clean(text)[:size]


@dataclass(frozen=True)
class _Change:
    intake_id: int
    values: dict[str, Any]


class Intakes:
    """The intake records of one process: it owns (and renews the leases of) the ones it is handling."""

    def __init__(self, store: Store, *, lease: timedelta) -> None:
        self.lease = lease
        self._postgresql = store.engine.dialect.name == "postgresql"
        self._transactions = Transactions(store)
        #: This process, as the owner of records; random, so a restarted process never passes for its predecessor.
        self.owner = secrets.token_hex(8)
        # Statements built once (SQLAlchemy caches their compiled form) and run for every row of a batch: with
        # the rows' values inlined, each batch's statement would be compiled afresh, at a cost that grows with it.
        insert = conflict_aware_insert(store.engine)
        self._insert_statement = (
            insert(IntakeRecord)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(IntakeRecord.id, IntakeRecord.key)
        )
        self._updates: dict[tuple[str, ...], Any] = {}
        self._received = self._transactions.group_commit(self._insert)
        self._changes = self._transactions.group_commit(self._apply)

    async def receive(self, received: Received) -> Ticket | None:
        """Records a command; None when its key is already recorded (a redelivery, which must not act)."""
        return await self._received.submit(received)

    async def started(self, ticket: Ticket, vendor: str, vendor_id: str) -> None:
        """The vendor answered with its id for the session: recorded at once, so a crash from here on leaves no
        doubt about which session is the command's."""
        ticket.vendor_id = vendor_id
        await self._changes.submit(
            _Change(ticket.id, {"vendor": _fits(vendor, _VENDOR), "vendor_id": _fits(vendor_id, _VENDOR_ID)})
        )

    async def posting(self, ticket: Ticket, card_id: int) -> None:
        """The command's card is recorded and about to be posted: from now on, whether it is in the channel is in
        doubt until its outcome is recorded."""
        await self._changes.submit(_Change(ticket.id, {"card_id": card_id}))

    async def holding(self, ticket: Ticket, ts: str) -> None:
        """A message holds the card's place in the channel (before the vendor is asked)."""
        await self._changes.submit(_Change(ticket.id, {"held_ts": _fits(ts, _ID)}))

    async def posted(self, ticket: Ticket, ts: str) -> None:
        """The card's message is in the channel (recorded here at once: the store's own record of it may queue
        behind other writes)."""
        await self._changes.submit(_Change(ticket.id, {"card_ts": _fits(ts, _ID)}))

    async def finish(self, intake_id: int, outcome: Outcome, *, at: datetime, card_id: int | None = None) -> None:
        """The command's outcome; its record is closed (no lease, nobody will recover it)."""
        values = {"outcome": outcome.value, "finished_at": at, "lease_until": None, "card_id": card_id}
        await self._changes.submit(_Change(intake_id, values))

    async def answered_unsure(self, intake_id: int, *, at: datetime, check_at: datetime) -> None:
        """The command failed and the person was told, but the vendor may have created its session all the same
        (its answer was lost: a timeout, a dropped connection, a 5xx): the record stays open, for any process to
        look for the session in the vendor's list from `check_at`, when the vendor is surely done with the call."""
        values = {"outcome": Outcome.ANSWERED.value, "finished_at": at, "lease_until": check_at, "owner": None}
        await self._changes.submit(_Change(intake_id, values))

    def _insert(self, conn: Connection, batch: list[Received]) -> list[Ticket | None]:
        firsts: dict[str, dict[str, Any]] = {}
        for item in batch:
            key = _fits(item.key, _KEY)
            firsts.setdefault(
                key,
                {
                    "key": key,
                    "marker": markers.new_marker(),
                    "team_id": _fits(item.team_id, _ID),
                    "user_id": _fits(item.user_id, _ID),
                    "channel_id": _fits(item.channel_id, _ID),
                    "command": _fits(item.command, _COMMAND),
                    "text": _clean(item.text),
                    "response_url": _clean(item.response_url) if item.response_url else None,
                    "received_at": item.at,
                    "owner": self.owner,
                    "lease_until": item.at + self.lease,
                    "recoveries": 0,
                },
            )
        inserted = {row.key: row.id for row in conn.execute(self._insert_statement, list(firsts.values()))}
        tickets: list[Ticket | None] = []
        for item in batch:
            key = _fits(item.key, _KEY)
            # A key twice in one batch: only its first delivery gets the ticket.
            intake_id = inserted.pop(key, None)
            tickets.append(None if intake_id is None else Ticket(intake_id, firsts[key]["marker"]))
        return tickets

    def _apply(self, conn: Connection, batch: list[_Change]) -> list[None]:
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for change in batch:
            by_columns.setdefault(tuple(sorted(change.values)), []).append(
                {"intake_id": change.intake_id, **{f"new_{k}": v for k, v in change.values.items()}}
            )
        for columns, rows in by_columns.items():
            conn.execute(self._update_statement(columns), rows)
        return [None] * len(batch)

    def _update_statement(self, columns: tuple[str, ...]) -> Any:
        if columns not in self._updates:
            self._updates[columns] = (
                update(IntakeRecord)
                .where(IntakeRecord.id == bindparam("intake_id"))
                .values({column: bindparam(f"new_{column}") for column in columns})
            )
        return self._updates[columns]

    async def _execute(self, statement: Any) -> int:
        """One statement in its own transaction; how many rows it touched."""
        return await self._transactions.run(lambda conn: int(conn.execute(statement).rowcount))

    # -- leases ---------------------------------------------------------------------------------------------------

    async def renew(self, now: datetime) -> None:
        """Keeps this process's open records its own for another lease."""
        mine = (IntakeRecord.owner == self.owner, IntakeRecord.lease_until.is_not(None))
        await self._execute(update(IntakeRecord).where(*mine).values(lease_until=now + self.lease))

    def _not_mine(self) -> Any:
        # Never this process's own: a command it is still handling must not be taken over by itself.
        return or_(IntakeRecord.owner.is_(None), IntakeRecord.owner != self.owner)

    async def claim_orphans(self, now: datetime, *, limit: int) -> list[IntakeRecord]:
        """Open records whose process died (their lease ran out), oldest first, now this process's to finish. Of
        several processes claiming at once, each record goes to one."""
        orphaned = (IntakeRecord.lease_until.is_not(None), IntakeRecord.lease_until < now, self._not_mine())
        chosen = select(IntakeRecord.id).where(*orphaned).order_by(IntakeRecord.received_at).limit(limit)
        if self._postgresql:
            chosen = chosen.with_for_update(skip_locked=True)
        statement = (
            update(IntakeRecord)
            # The conditions again on the row itself: PostgreSQL re-checks them if another claimer got there first.
            .where(IntakeRecord.id.in_(chosen), *orphaned)
            .values(owner=self.owner, lease_until=now + self.lease, recoveries=IntakeRecord.recoveries + 1)
            .returning(IntakeRecord)
            .execution_options(synchronize_session=False)
        )

        def claim(conn: Connection) -> list[IntakeRecord]:
            with Session(conn, expire_on_commit=False) as session:
                return list(session.execute(statement).scalars().all())

        return await self._transactions.run(claim)

    async def next_orphan_due(self) -> datetime | None:
        """When the soonest lease of another process's open record runs out (the next orphan, if it dies)."""
        statement = select(func.min(IntakeRecord.lease_until)).where(
            IntakeRecord.lease_until.is_not(None), self._not_mine()
        )
        due: datetime | None = await self._transactions.run(lambda conn: conn.execute(statement).scalar())
        return due

    async def release(self, intake_id: int, *, retry_at: datetime) -> None:
        """A record that could not be finished now: any process (this one too) may try again from `retry_at`."""
        mine = (IntakeRecord.id == intake_id, IntakeRecord.owner == self.owner)
        await self._execute(update(IntakeRecord).where(*mine).values(owner=None, lease_until=retry_at))

    # -- upkeep ---------------------------------------------------------------------------------------------------

    async def get(self, intake_id: int) -> IntakeRecord | None:
        def get(conn: Connection) -> IntakeRecord | None:
            with Session(conn, expire_on_commit=False) as session:
                return session.get(IntakeRecord, intake_id)

        return await self._transactions.run(get)

    async def prune(self, older_than: datetime) -> int:
        """Forgets finished records received before `older_than` (their keys too: Slack redelivers within
        minutes)."""
        finished = (IntakeRecord.lease_until.is_(None), IntakeRecord.received_at < older_than)
        return await self._execute(delete(IntakeRecord).where(*finished))

    async def close(self) -> None:
        await self._transactions.close()
