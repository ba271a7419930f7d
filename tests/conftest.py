"""The test harness: the bot running on a loopback port, wired to the simulators, driven with signed requests."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, build_runtime, web_runner
from bot.settings import Settings, load_settings
from sandbox.coviu import CoviuSim
from sandbox.mirotalk import SWITCHABLE, MiroTalkSim
from sandbox.mirrorace import MirrorAceSim
from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.server import RecordedCall
from sandbox.slack import SignedRequest, SlackStandIn
from sandbox.world import Sims, sqlite_url
from services.clock import FakeClock
from services.http import HttpPool
from tests.pg import PostgresServer, start_postgres

ANN, BOB, ADA, CAROL = "U0ANN", "U0BOB", "U0ADA", "U0CAROL"  # ann creates; ada is a workspace admin
CHANNEL = "C0GENERAL"


@dataclass
class Ack:
    status: int
    text: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


@dataclass
class Harness:
    slack: SlackStandIn
    mirrortab: MirrorTabSim
    samesurf: SameSurfSim
    mirotalk: MiroTalkSim
    coviu: CoviuSim
    runtime: Runtime
    clock: FakeClock
    url: str
    http: aiohttp.ClientSession
    mirrorace: MirrorAceSim

    @property
    def events_url(self) -> str:
        return self.url + "/slack/events"

    async def send(self, request: SignedRequest) -> Ack:
        status, text, seconds = await self.slack.send(self.http, self.events_url, request)
        return Ack(status, text, seconds)

    async def command(
        self, text: str, *, user: str = ANN, channel: str = CHANNEL, command: str = "/cobrowse", **kwargs: Any
    ) -> Ack:
        return await self.send(self.slack.slash_command(command, text, user_id=user, channel_id=channel, **kwargs))

    async def click(self, action_id: str, value: str, *, card: dict[str, Any], user: str = ANN, **kwargs: Any) -> Ack:
        return await self.send(
            self.slack.block_action(
                action_id, value=value, user_id=user, channel_id=card["channel"], message_ts=card["ts"], **kwargs
            )
        )

    async def card(self, count: int = 1) -> dict[str, Any]:
        """The `count`-th card posted (waits for it): the chat.postMessage payload plus its ts."""
        calls = await self.slack.wait_for_calls("chat.postMessage", count=count)
        posted = calls[count - 1]
        ts = next(
            ts
            for (channel, ts), message in self.slack.messages.items()
            if channel == posted["channel"] and message.get("blocks") == posted.get("blocks")
        )
        return {**posted, "ts": ts}

    async def private(self, count: int = 1) -> str:
        """The text of the `count`-th private answer sent through a response_url (waits for it)."""
        responses = await self.slack.wait_for_responses(count=count)
        body = responses[count - 1].body
        assert body.get("response_type", "ephemeral") == "ephemeral"
        return str(body.get("text", "")) + json.dumps(body.get("blocks") or [], ensure_ascii=False)

    async def answer_with(self, phrase: str) -> str:
        """The first private answer (through a response_url) containing `phrase`, whatever came before it (waits)."""

        def found() -> str | None:
            for response in self.slack.responses:
                body = response.body
                text = str(body.get("text", "")) + json.dumps(body.get("blocks") or [], ensure_ascii=False)
                if phrase in text:
                    return text
            return None

        await self.slack.wait_for(lambda: found() is not None, what=f"a private answer with {phrase!r}")
        return found() or ""

    def advance(self, minutes: float) -> None:
        self.clock.advance(timedelta(minutes=minutes))


def sandbox_variables(sims: Sims, db: Path) -> dict[str, str]:
    """The settings that wire the bot to the stand-ins, as environment variables carry them."""
    return {
        **sims.variables(),
        "DATABASE_URL": sqlite_url(db),
        "COHOST_ADMINS": CAROL,
        "VENDOR_TIMEOUT_S": "2",
    }


def calls_after_start(slack: SlackStandIn) -> list[RecordedCall]:
    """What the bot asked of Slack beyond learning, at start, which workspace its token serves (`auth.test`)."""
    return [call for call in slack.calls if call.path != "/api/auth.test"]


def sandbox_settings(sims: Sims, db: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"_env_file": None, **sandbox_variables(sims, db)}
    values.update(overrides)
    return load_settings(**values)


#: Tiers whose every test takes seconds: a real `python -m bot` (or several), or Prism started for the module.
SLOW_TIERS = ("process", "contract")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test of a slow tier `slow`, so `-m "not slow"` leaves them out without each file saying so."""
    for item in items:
        if item.path.parent.name in SLOW_TIERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def clock() -> FakeClock:
    """The time the bot and the simulators that keep time (MirrorTab, Coviu) both see; tests move it on."""
    return FakeClock()


@pytest.fixture
def mirotalk_switched_on() -> frozenset[str]:
    """The endpoints the MiroTalk simulator has switched on when the bot starts and learns them: none of
    `meetings`, `meetingEnd`, `token`, as a server ships. A test that needs them says so (parametrize this)."""
    return frozenset()


#: A MiroTalk server whose admin switched on the endpoints that ship off (ending and listing meetings, tokens).
MIROTALK_ALL_ON = pytest.mark.parametrize("mirotalk_switched_on", [frozenset(SWITCHABLE)], ids=["mirotalk-all-on"])


@pytest.fixture
async def sims(clock: FakeClock, mirotalk_switched_on: frozenset[str]) -> AsyncIterator[Sims]:
    on_test_clock = lambda: clock.now().timestamp()  # noqa: E731 - kill times and Coviu's rules follow the test
    every = Sims(
        SlackStandIn(),
        MirrorTabSim(clock=on_test_clock),
        SameSurfSim(),
        MiroTalkSim(switched_on=mirotalk_switched_on, clock=on_test_clock),
        CoviuSim(clock=on_test_clock),
        MirrorAceSim(),
    )
    await every.start()
    every.slack.add_user(CAROL, "carol", tz="Australia/Sydney")
    yield every
    await every.stop()


async def start_bot(settings: Settings, clock: FakeClock) -> tuple[Runtime, web.AppRunner, str]:
    runtime = build_runtime(settings, clock=clock)
    runner = web_runner(runtime)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runtime, runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def pool() -> AsyncIterator[HttpPool]:
    """The process-wide HTTP pool of a vendor client under test."""
    shared = HttpPool()
    yield shared
    await shared.close()


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test module changes (override this fixture)."""
    return {}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def nothing_left_running() -> Iterator[None]:
    """Fails the test whose bot closed its store while work still held a connection (work left running as the
    process stopped: it would fail, or leak the connection, once it went on)."""
    store_log = logging.getLogger("cohost.store")
    seen = _Records()
    store_log.addHandler(seen)
    try:
        yield
    finally:
        store_log.removeHandler(seen)
    assert not seen.records, [r.getMessage() for r in seen.records]


@pytest.fixture
async def bot(sims: Sims, clock: FakeClock, tmp_path: Path, overrides: dict[str, Any]) -> AsyncIterator[Harness]:
    settings = sandbox_settings(sims, tmp_path / "cohost.db", **overrides)
    with nothing_left_running():
        runtime, runner, url = await start_bot(settings, clock)
        async with aiohttp.ClientSession() as http:
            yield Harness(
                sims.slack,
                sims.mirrortab,
                sims.samesurf,
                sims.mirotalk,
                sims.coviu,
                runtime,
                clock,
                url,
                http,
                sims.mirrorace,
            )
        await runner.cleanup()
        assert not runtime.deps.background, "work was left running after the bot stopped"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    yield from start_postgres()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store on each database the bot supports: embedded SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "cohost.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()
