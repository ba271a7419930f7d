"""Group commit: writes that arrive while one batch is being written all go into the next single transaction.

A burst of commands then costs a few transactions, not one each, and on SQLite (one writer at a time) nobody
queues behind hundreds of tiny commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`submit(item)` waits for the batch that carries `item`; `write(items)` writes one batch in one transaction
    and returns one result per item, in order. A failed batch fails every submit in it (and only those)."""

    def __init__(self, write: Callable[[list[Item]], Awaitable[list[Result]]], *, batch: int = 500) -> None:
        self._write = write
        self._batch = batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
