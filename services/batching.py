"""Group commit: writes that arrive while earlier ones are being written all go into the next single transaction.

A burst of commands then costs a few transactions, not one each, and on SQLite (one writer at a time) nobody
queues behind hundreds of tiny commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class TryAgain(Exception):
    """A synchronous write that could not be made just now (the database is locked): nothing was written."""


class _Batches(Generic[Item, Result]):
    """`submit(item)` waits for the batch that carries `item`; each batch is one transaction, with one result per
    item, in order. A failed batch fails every submit in it (and only those)."""

    def __init__(self, *, batch: int) -> None:
        self._batch = batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._wake()
        return await future

    def _wake(self) -> None:
        raise NotImplementedError

    def _take(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
        return batch

    @staticmethod
    def _deliver(batch: list[tuple[Item, asyncio.Future[Result]]], outcome: list[Result] | Exception) -> None:
        for index, (_, future) in enumerate(batch):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome[index])


class GroupCommit(_Batches[Item, Result]):
    """Batches written by a coroutine (`write(items)` returns one result per item), one batch at a time."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Result]]], *, batch: int = 500) -> None:
        super().__init__(batch=batch)
        self._write = write
        self._writer: asyncio.Task[None] | None = None

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:
                self._deliver(batch, exc)
            else:
                self._deliver(batch, results)


class LoopGroupCommit(_Batches[Item, Result]):
    """Batches written by a plain function, on the event loop itself, once per turn of the loop: for a database
    whose write is a few hundred microseconds of work (SQLite, no fsync in WAL mode), cheaper and much quicker
    than handing each batch to a thread and back, each hand-over waiting for a turn of a loop busy with a burst
    of requests (and for the GIL). A write that raises `TryAgain` is tried again `retry_s` later, without
    holding up the loop meanwhile, for `give_up_s` at most. With `gather_s`, a batch is written that long after
    its first item came rather than at the loop's next turn: fewer, larger transactions under a burst, for a
    wait that the caller can afford (an acknowledgement, which Bolt looks for every 10 ms).
    """

    def __init__(
        self,
        write: Callable[[list[Item]], list[Result]],
        *,
        batch: int = 500,
        retry_s: float = 0.001,
        give_up_s: float = 30.0,
        gather_s: float = 0.0,
    ) -> None:
        super().__init__(batch=batch)
        self._write = write
        self._retry_s = retry_s
        self._gather_s = gather_s
        self._give_up_s = give_up_s
        self._scheduled: asyncio.Handle | None = None
        self._trying_since: float | None = None

    def _wake(self) -> None:
        if self._scheduled is None:
            # Everything submitted until then (this turn of the loop at least) goes into the one batch.
            loop = asyncio.get_running_loop()
            self._scheduled = (
                loop.call_later(self._gather_s, self._flush) if self._gather_s else loop.call_soon(self._flush)
            )

    def _flush(self) -> None:
        self._scheduled = None
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch = self._waiting[: self._batch]
            try:
                results = self._write([item for item, _ in batch])
            except TryAgain as exc:
                self._trying_since = self._trying_since or loop.time()
                if loop.time() - self._trying_since < self._give_up_s:
                    self._scheduled = loop.call_later(self._retry_s, self._flush)
                    return
                self._trying_since = None
                self._deliver(self._take(), exc)
                continue
            except Exception as exc:
                self._trying_since = None
                self._deliver(self._take(), exc)
                continue
            self._trying_since = None
            self._deliver(self._take(), results)
