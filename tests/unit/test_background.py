"""Work left running after a request was answered is finished before the process closes the store, and the pieces
of one piece of work are never left running on their own."""

from __future__ import annotations

import asyncio

import pytest

from handlers.core.background import BackgroundWork, together


async def test_settling_waits_for_work_that_background_work_starts() -> None:
    work = BackgroundWork()
    done: list[str] = []

    async def home() -> None:
        await asyncio.sleep(0.05)
        done.append("home")

    async def command() -> None:
        await asyncio.sleep(0.01)
        done.append("command")
        work.start(home())  # the card is posted: its creator's Home is published in the background

    work.start(command())
    await work.settle(within_s=2)
    assert done == ["command", "home"]
    assert not work


async def test_work_still_running_when_the_time_is_up_is_cancelled_and_let_unwind() -> None:
    work = BackgroundWork()
    unwound: list[bool] = []

    async def endless() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            unwound.append(True)

    work.start(endless())
    started = asyncio.get_running_loop().time()
    await work.settle(within_s=0.1)
    assert asyncio.get_running_loop().time() - started < 5
    assert unwound == [True]
    assert not work


async def test_together_waits_for_every_piece_before_raising_the_first_failure() -> None:
    finished: list[str] = []

    async def fails() -> int:
        await asyncio.sleep(0.01)
        raise LookupError("no such person")

    async def slow_read() -> str:
        await asyncio.sleep(0.1)
        finished.append("read")
        return "rows"

    with pytest.raises(LookupError, match="no such person"):
        await together(fails(), slow_read())
    assert finished == ["read"]  # not left running with no one waiting for it


async def test_together_gives_every_result_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    assert await together(value(1, 0.03), value(2, 0.0)) == (1, 2)
