"""The two halves as real processes sharing PostgreSQL: `python -m bot web` (any number) and `python -m bot
scheduler`. Work a web process creates reaches the scheduler through the database; a scheduler killed with -9
and restarted does each pending warning once; two schedulers started by mistake double nothing.

These run in real time, in seconds: the MirrorTab simulator's clock is set back so that a session asked for
`--minutes 2` has its kill time a minute and a few seconds from now, and its warning (a minute before) is due
in a few seconds.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from sandbox.mirrortab import MirrorTabSim
from sandbox.server import wait_until_healthy
from sandbox.slack import SlackStandIn
from sandbox.world import process_env, variables
from tests.pg import PostgresServer
from tests.prism import free_port

#: The simulator's clock runs this far behind: `--minutes 1` expires in 3 s, `--minutes 2` warns in 3 s.
BEHIND_S = 57.0
WITHIN_S = 5.0


@dataclass
class Cluster:
    slack: SlackStandIn
    mirrortab: MirrorTabSim
    env: dict[str, str]
    http: aiohttp.ClientSession
    cwd: Path
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self, role: str) -> tuple[asyncio.subprocess.Process, str]:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            role,
            cwd=self.cwd,
            env={**self.env, "PORT": str(port)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        await wait_until_healthy(self.http, base)
        return process, base

    async def command(self, base: str, text: str) -> None:
        status, _, _ = await self.slack.send(
            self.http, base + "/slack/events", self.slack.slash_command("/cobrowse", text)
        )
        assert status == 200

    def warnings(self) -> list[str]:
        """The thread each warning was posted in (a card's ts)."""
        return [str(p["thread_ts"]) for p in self.slack.posted() if p.get("thread_ts")]


@pytest.fixture
async def cluster(postgres: PostgresServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    slack, mirrortab = SlackStandIn(), MirrorTabSim(clock=lambda: time.time() - BEHIND_S)
    for sim in (slack, mirrortab):
        await sim.start()
    env = process_env(
        {**variables(slack, mirrortab), "DATABASE_URL": postgres.create_database(), "EXPIRY_WARNING_MINUTES": "1"}
    )
    async with aiohttp.ClientSession() as http:
        world = Cluster(slack, mirrortab, env, http, tmp_path)
        yield world
        for process in world.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    for sim in (slack, mirrortab):
        await sim.stop()


async def test_work_a_web_process_creates_reaches_the_scheduler_through_the_database(cluster: Cluster) -> None:
    _, web = await cluster.start("web")
    await cluster.command(web, "new https://a.example --minutes 1")  # expires in about 3 s
    (card,) = await cluster.slack.wait_for_calls("chat.postMessage")
    await asyncio.sleep(3 + 1.5)  # past its expiry
    assert not cluster.slack.api_calls("chat.update")  # a web process never runs a job
    await cluster.start("scheduler")
    started = time.time()  # from when it answers its health check: Python's start-up is not the scheduler's doing
    (expired,) = await cluster.slack.wait_for_calls("chat.update", within=WITHIN_S)
    assert expired["ts"] == card["ts"] and "Expired" in str(expired["blocks"])
    assert time.time() - started < WITHIN_S  # late, because no scheduler ran, but at once when one does

    await cluster.command(web, "new https://b.example --minutes 1")
    await cluster.slack.wait_for_calls("chat.postMessage", count=2)
    created = time.time()
    await cluster.slack.wait_for_calls("chat.update", count=2, within=3 + WITHIN_S)
    assert time.time() - (created + 3) < WITHIN_S  # due in 3 s, done within 5 s of that


async def test_a_scheduler_killed_with_pending_warnings_does_each_once_after_a_restart(cluster: Cluster) -> None:
    _, web = await cluster.start("web")
    scheduler, _ = await cluster.start("scheduler")
    for n in range(5):
        await cluster.command(web, f"new https://a.example --name S{n} --minutes 2")  # warnings due in ~3 s
    cards = await cluster.slack.wait_for_calls("chat.postMessage", count=5)
    scheduler.send_signal(signal.SIGKILL)
    await scheduler.wait()
    await asyncio.sleep(4)
    assert not cluster.warnings()  # due while no scheduler ran
    await cluster.start("scheduler")
    await cluster.slack.wait_for(lambda: len(cluster.warnings()) >= 5, WITHIN_S, "five warnings")
    await asyncio.sleep(2)  # room for a doubled one to show up
    assert sorted(cluster.warnings()) == sorted(str(c["ts"]) for c in cards)


async def test_two_schedulers_started_by_mistake_double_nothing(cluster: Cluster) -> None:
    _, web = await cluster.start("web")
    await asyncio.gather(cluster.start("scheduler"), cluster.start("scheduler"))
    for n in range(8):
        await cluster.command(web, f"new https://a.example --name S{n} --minutes 2")
    cards = await cluster.slack.wait_for_calls("chat.postMessage", count=8)
    await cluster.slack.wait_for(lambda: len(cluster.warnings()) >= 8, 3 + WITHIN_S, "eight warnings")
    await asyncio.sleep(2.5)
    assert sorted(cluster.warnings()) == sorted(str(c["ts"]) for c in cards)
