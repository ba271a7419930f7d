"""Hundreds of clients sending their request a byte at a time (a body, or the headers themselves, or nothing at all)
against `python -m bot` as a real process: Slack and the platform's health check are still answered within a
second, every slow connection is closed within 15 s, and the log does not grow a line per connection.

The process starts with a soft limit of 256 open files (its hard limit is left as it is), below the number of slow
clients: it has to raise its own limit to hold them all and still accept Slack."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from sandbox.mirrortab import MirrorTabSim
from sandbox.server import wait_until_healthy
from sandbox.slack import SlackStandIn
from sandbox.world import process_env, sqlite_url, variables
from tests.prism import free_port
from tests.process.test_process import run_bot

SLOW_BODIES = 300
SLOW_HEADERS = 100
SILENT = 50
#: The soft open-files limit the process is started with: fewer than the slow clients.
STARTING_SOFT_LIMIT = 256
DRIBBLE_EVERY_S = 0.5
#: An open-files limit, soft and hard, that a process cannot raise: a few dozen above what the bot itself holds.
AT_THE_LIMIT = 64


@dataclass
class SlowClient:
    """One connection that sends `first`, then one byte of `dribble` every half second until the bot hangs up."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened: float
    closed: float | None = None

    @classmethod
    async def open(cls, port: int, first: bytes) -> SlowClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(first)
        return cls(reader, writer, time.monotonic())

    async def dribble_until_closed(self, dribble: bytes) -> None:
        async def trickle() -> None:
            for byte in dribble:
                await asyncio.sleep(DRIBBLE_EVERY_S)
                self.writer.write(bytes([byte]))

        trickling = asyncio.create_task(trickle())
        try:
            while await self.reader.read(4096):  # whatever the bot answers, it counts until the bot hangs up
                pass
        except ConnectionError:
            pass
        self.closed = time.monotonic()
        trickling.cancel()
        self.writer.close()

    @property
    def held_s(self) -> float:
        return (self.closed or time.monotonic()) - self.opened


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    base: str
    port: int
    log_path: Path

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        return self.log_path.read_bytes()[offset:].decode(errors="replace")


@pytest.fixture
async def stand_ins() -> AsyncIterator[tuple[SlackStandIn, MirrorTabSim]]:
    slack, mirrortab = SlackStandIn(), MirrorTabSim()
    await slack.start()
    await mirrortab.start()
    yield slack, mirrortab
    await slack.stop()
    await mirrortab.stop()


@pytest.fixture
def own_open_files() -> Iterator[int]:
    """This test's own end of the connections needs open files too: its soft limit up to its hard one, meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@asynccontextmanager
async def bot_process(
    tmp_path: Path, slack: SlackStandIn, mirrortab: MirrorTabSim, *, soft: int, hard: int | None = None
) -> AsyncIterator[BotProcess]:
    """`python -m bot` started with a soft open-files limit of `soft` (and a hard one of `hard`, when given), its
    log written to a file; healthy when yielded."""

    def limit_open_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard or resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    port = free_port()
    env = process_env(
        {**variables(slack, mirrortab), "PORT": str(port), "DATABASE_URL": sqlite_url(tmp_path / "cohost.db")}
    )
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        process = await run_bot(env, tmp_path, output=log_file, preexec_fn=limit_open_files)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, base)
        yield BotProcess(process, base, port, log_path)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def test_slow_clients_neither_starve_slack_nor_fill_the_log(
    tmp_path: Path, stand_ins: tuple[SlackStandIn, MirrorTabSim], own_open_files: int
) -> None:
    slack, mirrortab = stand_ins
    if own_open_files != resource.RLIM_INFINITY and own_open_files < SLOW_BODIES + SLOW_HEADERS + SILENT + 100:
        pytest.skip(f"a hard open-files limit of {own_open_files} cannot hold this test's end of the connections")
    async with bot_process(tmp_path, slack, mirrortab, soft=STARTING_SOFT_LIMIT) as bot:
        base, port = bot.base, bot.port
        log_before = bot.log_size()
        body = slack.slash_command("/cobrowse", "new https://slow.example").body
        head = "".join(f"{k}: {v}\r\n" for k, v in slack.sign(body).items())
        slow_body = f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n"
        kinds = [
            (SLOW_BODIES, slow_body.encode(), body),
            (SLOW_HEADERS, b"POST /slack/events HTTP/1.1\r\n", head.encode()),
            (SILENT, b"", b""),
        ]
        opened = [
            (await asyncio.gather(*(SlowClient.open(port, first) for _ in range(count))), dribble)
            for count, first, dribble in kinds
        ]
        clients = [client for group, _ in opened for client in group]
        tasks = [asyncio.create_task(c.dribble_until_closed(dribble)) for group, dribble in opened for c in group]

        # While they dribble: the platform's health check and Slack are answered within a second.
        answers: list[tuple[str, float]] = []
        for round_ in range(3):
            async with aiohttp.ClientSession() as fresh:  # a new connection each time, as Slack opens them
                started = time.perf_counter()
                async with fresh.get(base + "/healthz") as resp:
                    assert resp.status == 200
                answers.append(("healthz", time.perf_counter() - started))
                status, _, seconds = await slack.send(
                    fresh,
                    base + "/slack/events",
                    slack.slash_command("/cobrowse", f"new https://a.example/{round_}"),
                )
                assert status == 200
                answers.append(("command", seconds))
            await asyncio.sleep(3)  # spread the checks over the slow clients' ten seconds
        assert all(seconds < 1.0 for _, seconds in answers), answers
        await slack.wait_for_calls("chat.postMessage", count=3)

        await asyncio.wait_for(asyncio.gather(*tasks), 20)
        held = sorted(client.held_s for client in clients)
        assert held[-1] < 15, f"a slow connection was held {held[-1]:.1f} s"
        log_growth = bot.log_size() - log_before
        assert log_growth < 4000, bot.log_since(log_before)[:4000]
        print(
            f"{len(clients)} slow clients held {held[0]:.1f}-{held[-1]:.1f} s; "
            f"slowest answer {max(s for _, s in answers) * 1000:.0f} ms; log grew {log_growth} bytes"
        )


async def test_at_its_open_files_limit_the_bot_logs_a_few_lines_and_recovers(
    tmp_path: Path, stand_ins: tuple[SlackStandIn, MirrorTabSim], own_open_files: int
) -> None:
    # A hard limit the bot cannot raise, and more connections than it allows: asyncio then fails to accept, again
    # and again, and used to log a traceback each time (hundreds a second).
    slack, mirrortab = stand_ins
    async with bot_process(tmp_path, slack, mirrortab, soft=AT_THE_LIMIT, hard=AT_THE_LIMIT) as bot:
        log_before = bot.log_size()
        clients = await asyncio.gather(*(SlowClient.open(bot.port, b"") for _ in range(2 * AT_THE_LIMIT)))
        refused_accepts = "not accepting connections for now: too many open files"
        deadline = time.monotonic() + 10
        while refused_accepts not in bot.log_since(log_before):
            assert time.monotonic() < deadline, bot.log_since(log_before)
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # as long again as the old code took to write megabytes of tracebacks
        log = bot.log_since(log_before)
        assert "Traceback" not in log
        assert log.count(refused_accepts) <= 10, log
        for client in clients:
            client.writer.close()
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, bot.base, within_s=5)
