"""Work left running after its request was answered: a command's work after its ack, a Home published after a card
changed. A stopping process lets it finish before it closes the store and the HTTP pool (`settle`).

`together` runs pieces of one piece of work at once without leaving any of them running on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")

log = logging.getLogger("cohost.handlers")


class BackgroundWork:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Runs `work` without anyone waiting for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Work answers its own failures (Interaction.guarded); what escapes that is a fault of Cohost's.
            log.error("Background work failed", exc_info=error)

    async def settle(self, within_s: float) -> None:
        """Lets the work finish, and the work it starts meanwhile (a card posted during the wait publishes its
        creator's Home), for at most `within_s`; what is still running then is cancelled and let unwind. Work
        left running would find the store closed under it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        late = set(self._tasks)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)


@overload
async def together(a: Awaitable[A], b: Awaitable[B], /) -> tuple[A, B]: ...
@overload
async def together(a: Awaitable[A], b: Awaitable[B], c: Awaitable[C], d: Awaitable[D], /) -> tuple[A, B, C, D]: ...
async def together(*pieces: Awaitable[Any]) -> tuple[Any, ...]:
    """Runs the pieces at once and waits for every one of them, then raises the first failure, if any, as it is.
    `asyncio.gather` raises as soon as one fails and leaves the others running with no one waiting for them: a
    store read left so could find the store closed under it when the process stops."""
    outcomes = await asyncio.gather(*pieces, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return tuple(outcomes)
