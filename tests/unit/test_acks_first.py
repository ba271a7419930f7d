"""Acknowledgements first: work of acknowledged requests waits while others wait for their ack, trickles through
while the front door stays busy, and goes at once when it falls quiet (handlers/core/acks_first.py)."""

from __future__ import annotations

import asyncio

from handlers.core.acks_first import AcksFirst

TRICKLE_S = 0.02


_running: set[asyncio.Task[None]] = set()


async def _started(gate: AcksFirst, count: int) -> list[int]:
    """`count` pieces of work, each waiting for its turn; the list fills in the order they start."""
    started: list[int] = []

    async def work(number: int) -> None:
        await gate.turn()
        started.append(number)

    for number in range(count):
        task = asyncio.create_task(work(number))
        _running.add(task)
        task.add_done_callback(_running.discard)
    await asyncio.sleep(0)
    return started


async def test_a_quiet_bot_starts_work_at_once() -> None:
    gate = AcksFirst(trickle_s=TRICKLE_S)
    await asyncio.wait_for(gate.turn(), timeout=0.005)


async def test_the_work_of_a_lone_command_is_let_through_first_while_its_own_ack_is_on_its_way() -> None:
    gate = AcksFirst(trickle_s=TRICKLE_S)
    with gate.awaiting_answer():  # Bolt has not yet seen the ack: the request is still waiting for its answer
        await asyncio.wait_for(gate.turn(), timeout=0.005)


async def test_while_requests_keep_coming_work_trickles_through_in_order_then_the_rest_goes_at_once() -> None:
    gate = AcksFirst(trickle_s=TRICKLE_S)
    with gate.awaiting_answer():
        started = await _started(gate, 20)
        await asyncio.sleep(TRICKLE_S * 4.5)
        trickled = list(started)
        # One at once, then one a trickle: a handful, never the lot, and first come first served.
        assert 2 <= len(trickled) <= 8 and trickled == list(range(len(trickled)))
    await asyncio.sleep(TRICKLE_S * 2.5)  # quiet for longer than a trickle: everything waiting goes
    assert started == list(range(20))


async def test_between_two_requests_of_a_burst_the_gate_stays_shut() -> None:
    gate = AcksFirst(trickle_s=TRICKLE_S)
    with gate.awaiting_answer():
        started = await _started(gate, 10)
    # No request waits this instant, but one arrived a moment ago: the burst is not over.
    await asyncio.sleep(TRICKLE_S / 4)
    with gate.awaiting_answer():
        await asyncio.sleep(0)
    assert len(started) <= 2
    await asyncio.sleep(TRICKLE_S * 3)
    assert len(started) == 10


async def test_cancelled_waiting_work_does_not_hold_up_the_rest() -> None:
    gate = AcksFirst(trickle_s=TRICKLE_S)
    with gate.awaiting_answer():
        first = asyncio.create_task(gate.turn())
        second = asyncio.create_task(gate.turn())
        await asyncio.sleep(0)
        second.cancel()
    await asyncio.wait_for(first, timeout=1)
    await asyncio.wait_for(gate.turn(), timeout=TRICKLE_S * 3)
