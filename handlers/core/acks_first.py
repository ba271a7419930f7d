"""Acknowledgements first: while requests are waiting for their answer, the work of acknowledged ones waits.

Slack gives a request 3 s to be acknowledged and gives up on it after that; the work the request asked for (a
vendor call, the card) has no such deadline, and its command is recorded before its ack (handlers/core/intake.py),
so waiting loses nothing. Under a burst of commands the event loop's time then goes to the acknowledgements first:
each of them costs a fraction of what its work costs (a vendor call, the card posted and recorded), and work started
alongside them made every ack of the burst wait behind it. Work is never starved: while the front door stays busy,
waiting work is let through one piece at a time, one every `trickle_s`, in the order it was acknowledged; once
the front door has been quiet for as long, everything waiting goes at once. On a quiet bot a command's work
waits for nothing: it is the first let through.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

#: While the front door is busy, how often one piece of acknowledged work is let through.
TRICKLE_S = 0.025


class AcksFirst:
    def __init__(self, *, trickle_s: float = TRICKLE_S) -> None:
        self._trickle_s = trickle_s
        self._awaiting = 0
        self._last_arrival = float("-inf")
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._gate: asyncio.Task[None] | None = None

    @contextmanager
    def awaiting_answer(self) -> Iterator[None]:
        """Around a request, from its arrival to its answer (the front door's)."""
        self._awaiting += 1
        self._last_arrival = asyncio.get_running_loop().time()
        try:
            yield
        finally:
            self._awaiting -= 1

    async def turn(self) -> None:
        """Returns when this piece of work may run: at once on a quiet bot, else when the gate lets it through."""
        if self._quiet() and not self._waiting:
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        if self._gate is None or self._gate.done():
            self._gate = asyncio.create_task(self._let_through())
        await turn

    def _quiet(self) -> bool:
        """No request waits for its answer and none came for a trickle's time: a burst is over, not merely
        between two of its requests."""
        since = asyncio.get_running_loop().time() - self._last_arrival
        return self._awaiting == 0 and since >= self._trickle_s

    async def _let_through(self) -> None:
        while self._waiting:
            if self._quiet():
                while self._waiting:
                    self._release(self._waiting.popleft())
                return
            self._release(self._waiting.popleft())
            await asyncio.sleep(self._trickle_s)

    @staticmethod
    def _release(turn: asyncio.Future[None]) -> None:
        if not turn.done():  # its work may have been cancelled while it waited
            turn.set_result(None)
