"""Nothing acked is lost, with real processes: a burst of 200 `/cobrowse new` (150 a second) against MirrorTab
answering in 0.5 s, the bot (`python -m bot`: web and scheduler) killed with SIGKILL one second in, and
restarted. Within two minutes every acknowledged command has its card or a private answer, no card is posted
twice, and every session MirrorTab created is carded or removed. The counts are printed (`-s`) and logged.

With `VENDOR_TIMEOUT_S=3` a command's lease is 13 s (bot/jobs.intake_lease), so the restarted bot finishes the
dead one's commands some 15 s after the kill.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from sandbox.mirrortab import MirrorTabSim
from sandbox.server import wait_until_healthy
from sandbox.slack import SlackStandIn
from sandbox.world import process_env, variables
from tests.pg import PostgresServer
from tests.prism import free_port
from tests.process.test_process import run_bot

log = logging.getLogger("cohost.tests.crash")

BURST = 200
RATE = 150.0
KILL_AFTER_S = 1.0
MIRRORTAB_LATENCY_S = 0.5
#: DESIGN.md: the next process finishes the record within two minutes of starting.
WITHIN_S = 120.0
_SESSION_ON_CARD = re.compile(r"\*Session\*\\n`([a-z0-9]+)`")


@dataclass
class Tally:
    """What the people and MirrorTab saw, from the stand-ins' records."""

    acked: set[int]
    #: Session id -> how often its card was posted in the channel / sent to its creator privately.
    channel_cards: Counter[str]
    private_cards: Counter[str]
    #: Command number -> the session whose card it got (in the channel or privately).
    carded_commands: dict[int, str]
    #: Commands answered privately (through their response_url, or by direct message) with anything but a card.
    answered: set[int]
    created: set[str]
    removed: set[str]

    @property
    def settled(self) -> bool:
        return all(n in self.carded_commands or n in self.answered for n in self.acked)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.channel_cards.values() if count > 1)

    def line(self) -> str:
        carded = set(self.channel_cards) | set(self.private_cards)
        return (
            f"acked {len(self.acked)}, sessions created {len(self.created)}, carded {len(carded)} "
            f"({len(self.private_cards)} of them privately), removed {len(self.removed)}, answered privately "
            f"{len(self.answered)}, duplicate cards {self.duplicates}"
        )


def _number(text: str) -> int | None:
    found = re.search(r"Burst(\d+)\b", text)
    return int(found.group(1)) if found else None


def tally(slack: SlackStandIn, mirrortab: MirrorTabSim, acked: set[int]) -> Tally:
    seen = Tally(acked, Counter(), Counter(), {}, set(), set(), set())
    for post in slack.api_calls("chat.postMessage"):
        blocks = json.dumps(post.get("blocks") or [], ensure_ascii=False)
        number, session = _number(blocks + str(post.get("text", ""))), _SESSION_ON_CARD.search(blocks)
        if number is None:
            continue
        if str(post.get("channel", "")).startswith("D"):  # a direct message
            seen.answered.add(number)
        elif session is not None:
            seen.channel_cards[session.group(1)] += 1
            seen.carded_commands[number] = session.group(1)
    for response in slack.responses:
        if not response.key.startswith("burst"):
            continue
        number = int(response.key.removeprefix("burst"))
        session = _SESSION_ON_CARD.search(json.dumps(response.body.get("blocks") or []))
        if session is not None:
            seen.private_cards[session.group(1)] += 1
            seen.carded_commands[number] = session.group(1)
        else:
            seen.answered.add(number)
    live = set(mirrortab.sessions)
    seen.removed = {str(call.json().get("session_id")) for call in mirrortab.calls_to("/remove_session")} - live
    seen.created = live | seen.removed
    return seen


@dataclass
class World:
    """The stand-ins, the bot processes started on them, and the commands acknowledged."""

    slack: SlackStandIn
    mirrortab: MirrorTabSim
    env: dict[str, str]
    cwd: Path
    http: aiohttp.ClientSession
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)

    async def start(self, name: str, role: str | None = None) -> tuple[asyncio.subprocess.Process, str]:
        """`python -m bot [role]`, its output in `{name}.log` beside the database."""
        port = free_port()
        with (self.cwd / f"{name}.log").open("wb") as output:
            process = await run_bot({**self.env, "PORT": str(port)}, self.cwd, role=role, output=output)
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        await wait_until_healthy(self.http, base)
        return process, base

    async def warm_up(self, *bases: str) -> None:
        """A command served end to end by each, as by bots up a while; then a clean slate."""
        for base in bases:
            request = self.slack.slash_command("/cobrowse", "new --name Warm")
            assert (await self.slack.send(self.http, base + "/slack/events", request))[0] == 200
        await self.slack.wait_for_calls("chat.postMessage", count=len(bases), within=10)
        self.slack.reset()
        self.mirrortab.reset()
        self.mirrortab.faults.set_latency("/new_session", MIRRORTAB_LATENCY_S)

    async def burst(self, base: str, numbers: range) -> None:
        """Sends a burst, RATE commands a second (so a kill finds commands at every stage: some carded, some at
        MirrorTab, some just acknowledged); a command counts as acked when its 200 arrived."""
        started = asyncio.get_running_loop().time()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def send(n: int) -> None:
                await asyncio.sleep(max(0.0, started + (n - numbers.start) / RATE - asyncio.get_running_loop().time()))
                text, response_url = f"new https://a.example/{n} --name Burst{n}", self.slack.response_url(f"burst{n}")
                request = self.slack.slash_command("/cobrowse", text, response_url=response_url)
                try:
                    async with http.post(base + "/slack/events", data=request.body, headers=request.headers) as resp:
                        await resp.read()
                        if resp.status == 200:
                            self.acked.add(n)
                except aiohttp.ClientError:
                    pass  # cut off by the kill, or sent after it: never acknowledged

            await asyncio.gather(*(send(n) for n in numbers))

    async def kill_mid_burst(self, process: asyncio.subprocess.Process, bursts: Sequence[Awaitable[None]]) -> Tally:
        running = [asyncio.ensure_future(burst) for burst in bursts]
        await asyncio.sleep(KILL_AFTER_S)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await asyncio.gather(*running)
        before = self.tally()
        report(f"at the kill: {before.line()}")
        assert self.acked, "the kill came before any command was acknowledged: it tests nothing"
        assert not before.settled, "the kill came after everything was done: it tests nothing"
        return before

    async def settled(self, since: float, what: str) -> Tally:
        await self.slack.wait_for(lambda: self.tally().settled, WITHIN_S, "every acked command carded or answered")
        await asyncio.sleep(1.0)  # room for a doubled card or a late removal to show
        after = self.tally()
        report(f"{what}: {after.line()}; settled {time.monotonic() - since:.1f} s after it")
        return after

    def tally(self) -> Tally:
        return tally(self.slack, self.mirrortab, self.acked)


@asynccontextmanager
async def world(database_url: str, cwd: Path) -> AsyncIterator[World]:
    slack, mirrortab = SlackStandIn(), MirrorTabSim()
    for sim in (slack, mirrortab):
        await sim.start()
    env = process_env({**variables(slack, mirrortab), "DATABASE_URL": database_url, "VENDOR_TIMEOUT_S": "3"})
    try:
        async with aiohttp.ClientSession() as http:
            here = World(slack, mirrortab, env, cwd, http)
            try:
                yield here
            finally:
                for process in here.processes:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
    finally:
        for sim in (slack, mirrortab):
            await sim.stop()


async def crash_and_restart(database_url: str, tmp_path: Path) -> Tally:
    """One process (web and scheduler), killed mid-burst and started again."""
    async with world(database_url, tmp_path) as here:
        first, base = await here.start("first")
        await here.warm_up(base)
        await here.kill_mid_burst(first, [here.burst(base, range(BURST))])
        restarted = time.monotonic()
        await here.start("second")
        return await here.settled(restarted, "after the restart")


def report(line: str) -> None:
    """The counts, printed (`pytest -s`) and logged (pytest shows captured logs of a failed test)."""
    print(f"crash test {line}")
    log.warning("crash test %s", line)


def check(outcome: Tally) -> None:
    assert outcome.settled
    assert outcome.duplicates == 0, outcome.channel_cards.most_common(3)
    # No session carded for two commands either.
    assert len(set(outcome.carded_commands.values())) == len(outcome.carded_commands)
    carded = set(outcome.channel_cards) | set(outcome.private_cards)
    orphans = outcome.created - carded - outcome.removed
    assert not orphans, f"{len(orphans)} MirrorTab sessions neither carded nor removed"


async def test_a_bot_killed_mid_burst_leaves_no_acked_command_unanswered_on_sqlite(tmp_path: Path) -> None:
    check(await crash_and_restart(f"sqlite+aiosqlite:///{tmp_path / 'cohost.db'}", tmp_path))


async def test_a_bot_killed_mid_burst_leaves_no_acked_command_unanswered_on_postgresql(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    check(await crash_and_restart(postgres.create_database(), tmp_path))


async def test_of_two_web_processes_and_a_scheduler_the_live_ones_finish_a_dead_ones_commands_and_not_each_others(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """Scale-out on PostgreSQL: a burst to each web process, one of them killed and not restarted. The other web
    process and the scheduler finish the dead one's commands (each once), while the live web process's own
    commands, under way at the same time, are never taken over (a card posted twice would show it)."""
    async with world(postgres.create_database(), tmp_path) as here:
        doomed, doomed_base = await here.start("web-1", "web")  # migrates the database: the others find it ready
        (_, live_base), _ = await asyncio.gather(here.start("web-2", "web"), here.start("scheduler", "scheduler"))
        await here.warm_up(doomed_base, live_base)
        killed = time.monotonic()
        bursts = [here.burst(doomed_base, range(BURST)), here.burst(live_base, range(BURST, BURST + BURST // 2))]
        await here.kill_mid_burst(doomed, bursts)
        outcome = await here.settled(killed, "finished by the live processes")
    check(outcome)
    assert any(n >= BURST for n in outcome.carded_commands), "the live web process carded nothing of its own"
