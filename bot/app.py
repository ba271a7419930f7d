"""The app factory: one `Runtime` holds everything a process owns, built from the settings.

The Slack side is a slack-bolt `AsyncApp` served by aiohttp at `POST /slack/events`; `GET /healthz` answers 200
only while the store (and, where this process runs it, the scheduler) is up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.jobs import IntakeKeeper, JobRuns, build_scheduler, intake_lease
from bot.settings import Settings
from handlers.context import Deps
from handlers.people import People
from services.clock import Clock, SystemClock
from services.http import HttpPool
from services.intake import Intakes
from services.store import Store
from services.vendors import Vendors

log = logging.getLogger("cohost")

Role = Literal["all", "web", "scheduler"]


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: `SLACK_API_URL`, retries on 429 (honouring `Retry-After`) and on connection errors."""
    base = settings.SLACK_API_URL if settings.SLACK_API_URL.endswith("/") else settings.SLACK_API_URL + "/"
    return AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN or None,
        base_url=base,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class Runtime:
    settings: Settings
    role: Role
    clock: Clock
    store: Store
    pool: HttpPool
    vendors: Vendors
    client: AsyncWebClient
    bolt: AsyncApp
    web: web.Application
    deps: Deps
    scheduler: AsyncIOScheduler | None = None
    job_runs: JobRuns = field(default_factory=JobRuns)
    started: bool = field(default=False)
    keeper: IntakeKeeper | None = None

    async def start(self) -> None:
        # Slack calls share the process's one HTTP session too (slack_sdk would otherwise open one per call).
        self.client.session = self.pool.session
        await self.store.migrate()
        if self.keeper is not None:
            self.keeper.start()
        if self.scheduler is not None:
            self.scheduler.start()
        self.started = True

    async def stop(self) -> None:
        if self.keeper is not None:
            await self.keeper.stop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # no new runs; those under way finish while the store and the pool are open
            await self.job_runs.settle(within_s=10)
            self.scheduler.shutdown(wait=False)
            await self.job_runs.settle(within_s=5)  # what was still running is cancelled: let it unwind
        await self.pool.close()
        await self.deps.intakes.close()
        await self.store.close()
        self.started = False

    async def healthy(self) -> bool:
        if not self.started or not await self.store.ping():
            return False
        return self.scheduler is None or self.scheduler.running


def quiet_slack_debug_logs() -> None:
    """slack_sdk and Bolt log whole request bodies at DEBUG, and personal links and credentials travel in them."""
    for name in ("slack_sdk", "slack_bolt"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))


def build_runtime(settings: Settings, *, role: Role = "all", clock: Clock | None = None) -> Runtime:
    quiet_slack_debug_logs()
    clock = clock or SystemClock()
    store = Store(settings.DATABASE_URL)
    pool = HttpPool()
    vendors = Vendors(settings.vendors, pool)
    client = slack_client(settings)
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.SLACK_SIGNING_SECRET or None,
        # Socket Mode needs no signature: the socket itself is authenticated.
        request_verification_enabled=settings.slack_mode != "socket",
        process_before_response=False,
        logger=logging.getLogger("cohost.bolt"),
    )
    deps = Deps(
        vendors=vendors,
        store=store,
        clock=clock,
        people=People(client, settings.admins),
        client=client,
        intakes=Intakes(store, lease=intake_lease(settings.VENDOR_TIMEOUT_S)),
        warning_lead=timedelta(minutes=settings.EXPIRY_WARNING_MINUTES),
    )
    handlers.register(bolt, deps)
    runs = JobRuns()
    scheduler = build_scheduler(deps, runs) if role in ("all", "scheduler") else None
    runtime = Runtime(
        settings, role, clock, store, pool, vendors, client, bolt, web.Application(), deps, scheduler, runs
    )
    runtime.keeper = IntakeKeeper(deps)  # in every role: see IntakeKeeper
    _routes(runtime)
    return runtime


def _routes(runtime: Runtime) -> None:
    async def slack_events(request: web.Request) -> web.Response:
        response = await runtime.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.Response:
        if await runtime.healthy():
            return web.json_response({"ok": True, "role": runtime.role})
        return web.json_response({"ok": False}, status=503)

    async def on_startup(app: web.Application) -> None:
        await runtime.start()

    async def on_cleanup(app: web.Application) -> None:
        await runtime.stop()

    if runtime.role != "scheduler":
        runtime.web.router.add_post("/slack/events", slack_events)
    runtime.web.router.add_get("/healthz", healthz)
    runtime.web.on_startup.append(on_startup)
    runtime.web.on_cleanup.append(on_cleanup)
