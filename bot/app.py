"""The app factory: one `Runtime` holds everything a process owns, built from the settings.

The Slack side is a slack-bolt `AsyncApp`. In HTTP mode aiohttp serves it at `POST /slack/events`, behind the front
door (bot/front_door.py: signature first); in Socket Mode there is no such route, Slack's requests come through the
socket. `GET /healthz` answers 200 only while the store (and, where this process runs them, the scheduler and the
Slack socket) is up. In OAuth mode (any number of workspaces, bot/oauth.py) web processes also serve
`GET /slack/install` and `GET /slack/oauth_redirect`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.front_door import (
    SERVER_OPTIONS,
    FrontDoor,
    QuietLog,
    ServerLog,
    quiet_accept_failures,
    refuse_misread_bodies,
    slack_events,
)
from bot.jobs import IntakeKeeper, JobRuns, build_scheduler, intake_lease
from bot.settings import Settings
from handlers.core.interaction import Deps
from handlers.core.people import People
from handlers.core.workspaces import Workspaces
from services.clock import Clock, SystemClock
from services.http import HttpPool
from services.intake import Intakes
from services.store import Store
from services.vendors import Vendors

if TYPE_CHECKING:
    from bot.oauth import InstalledWorkspaces, OAuthParts

log = logging.getLogger("cohost")

Role = Literal["all", "web", "scheduler"]


class SlackSocket(Protocol):
    """What health needs of slack_sdk's Socket Mode client."""

    async def is_connected(self) -> bool: ...


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
    #: HTTP mode: what stands before Bolt at `POST /slack/events`.
    front_door: FrontDoor | None = None
    #: Rate-limited logs, told to write what they held back when the process stops.
    quiet_logs: list[QuietLog] = field(default_factory=list)
    #: Lines about connections the HTTP server refused (failed accepts, requests it could not parse).
    server_log: QuietLog | None = None
    #: Socket Mode: the socket to Slack, once `python -m bot` has opened it (health fails while it is down).
    socket: SlackSocket | None = None
    #: Renews the leases of this process's commands and finishes those a stopped process left (every role).
    keeper: IntakeKeeper | None = None
    #: OAuth mode: the installed workspaces, whose tokens the secret key must open before the process serves.
    installed: InstalledWorkspaces | None = None

    @property
    def over_socket(self) -> bool:
        """Slack's requests reach this process through Socket Mode (and never over HTTP)."""
        return self.settings.slack_mode == "socket" and self.role != "scheduler"

    async def start(self) -> None:
        # Slack calls share the process's one HTTP session too (slack_sdk would otherwise open one per call).
        self.client.session = self.pool.session
        try:
            await self.store.migrate()
            if self.installed is not None:
                await self.installed.check_key()  # a changed COHOST_SECRET_KEY stops start-up, naming it
            await self.vendors.learn_at_start()
            if self.role != "scheduler" and self.settings.slack_mode != "oauth":
                await self.deps.home.learn(self.client)  # requests from any other team will do nothing
        except BaseException:
            await self.stop()  # the process is about to exit: what was opened is closed, not left to the collector
            raise
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
        # Acknowledged work and Homes still being published; a command cut off here is finished by the next
        # process from its intake record (services/intake.py).
        await self.deps.background.settle(within_s=5)
        await self.pool.close()
        await self.deps.intakes.close()
        await self.store.close()
        for quiet_log in self.quiet_logs:
            quiet_log.flush()
        self.started = False

    async def healthy(self) -> bool:
        if not self.started or not await self.store.ping():
            return False
        if self.over_socket and (self.socket is None or not await self.socket.is_connected()):
            return False
        return self.scheduler is None or self.scheduler.running


def quiet_slack_debug_logs() -> None:
    """slack_sdk and Bolt log whole request bodies at DEBUG, and personal links and credentials travel in them."""
    for name in ("slack_sdk", "slack_bolt"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))


class _OwnClientOnPurpose(logging.Filter):
    """Bolt warns at every start that the token in SLACK_BOT_TOKEN goes unused because a client was given. Cohost
    gives its own client on purpose (SLACK_API_URL, retry handlers, the process's one HTTP session), carrying that
    very token: the warning would only mislead whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("cohost.bolt")
    if not any(isinstance(f, _OwnClientOnPurpose) for f in logger.filters):
        logger.addFilter(_OwnClientOnPurpose())
    return logger


def build_runtime(settings: Settings, *, role: Role = "all", clock: Clock | None = None) -> Runtime:
    quiet_slack_debug_logs()
    clock = clock or SystemClock()
    store = Store(settings.DATABASE_URL)
    pool = HttpPool()
    vendors = Vendors(settings.vendors, pool, clock=clock)
    client = slack_client(settings)
    oauth: OAuthParts | None = None
    many: dict[str, Any] = {}
    if settings.slack_mode == "oauth":
        # Loaded only in OAuth mode: the installations' token sealing brings `cryptography` (some 7 MB) with it.
        from bot.oauth import NOT_INSTALLED, oauth_parts

        oauth = oauth_parts(settings, store, clock, client)
        many = {"oauth_flow": oauth[0], "authorize": oauth[1], "user_facing_authorize_error_message": NOT_INSTALLED}
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.SLACK_SIGNING_SECRET or None,
        # Socket Mode needs no signature: the socket itself is authenticated. In HTTP mode the one route that
        # hands requests to Bolt (`/slack/events`) has the front door verify each of them first (bot/front_door.py);
        # Bolt checking the same bytes again was a twentieth of what an acknowledgement cost.
        request_verification_enabled=False,
        # Bolt answers Slack once a listener returns: every listener acknowledges, then leaves its work running in
        # the background (handlers/core/listeners.py). Without this, Bolt ran each listener as a task of its own and
        # looked for its ack every 10 ms, which every acknowledgement waited for and paid for.
        process_before_response=True,
        logger=_bolt_logger(),
        **many,
    )
    workspaces = Workspaces(client, oauth[2] if oauth is not None else None)
    deps = Deps(
        vendors=vendors,
        store=store,
        clock=clock,
        people=People(workspaces.client_for, settings.admins),
        client=client,
        intakes=Intakes(store, lease=intake_lease(settings.VENDOR_TIMEOUT_S)),
        warning_lead=timedelta(minutes=settings.EXPIRY_WARNING_MINUTES),
        workspaces=workspaces,
    )
    handlers.register(bolt, deps)
    runs = JobRuns()
    scheduler = build_scheduler(deps, runs) if role in ("all", "scheduler") else None
    runtime = Runtime(
        settings, role, clock, store, pool, vendors, client, bolt, web.Application(), deps, scheduler, runs
    )
    runtime.keeper = IntakeKeeper(deps)  # in every role: see IntakeKeeper
    runtime.installed = oauth[2] if oauth is not None else None
    _routes(runtime)
    return runtime


def _routes(runtime: Runtime) -> None:
    def quiet_log(logger: str, what: str) -> QuietLog:
        made = QuietLog(logging.getLogger(logger), runtime.clock, what)
        runtime.quiet_logs.append(made)
        return made

    server_log = runtime.server_log = quiet_log("cohost.server", "refused connections and requests")

    async def dispatch(request: AsyncBoltRequest) -> web.StreamResponse:
        return await to_aiohttp_response(await runtime.bolt.async_dispatch(request))

    async def healthz(request: web.Request) -> web.Response:
        if await runtime.healthy():
            return web.json_response({"ok": True, "role": runtime.role})
        return web.json_response({"ok": False}, status=503)

    async def on_startup(app: web.Application) -> None:
        await runtime.start()
        quiet_accept_failures(asyncio.get_running_loop(), server_log)

    async def on_cleanup(app: web.Application) -> None:
        await runtime.stop()

    # Socket Mode has no Slack route at all: Slack speaks through the socket, and an HTTP route there would take
    # unsigned requests (Bolt does not verify in Socket Mode).
    if runtime.role != "scheduler" and not runtime.over_socket:
        refusals = quiet_log("cohost.front_door", "refused requests")
        runtime.front_door = FrontDoor(runtime.settings.SLACK_SIGNING_SECRET, refusals)
        refuse_misread_bodies(runtime.bolt, refusals)
        runtime.web.router.add_post(
            "/slack/events", slack_events(runtime.front_door, dispatch, runtime.deps.acks.awaiting_answer)
        )
        flow = runtime.bolt.oauth_flow
        if flow is not None:  # OAuth mode: the "Add to Slack" page and Slack's redirect back

            async def install(request: web.Request) -> web.Response:
                return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

            async def oauth_redirect(request: web.Request) -> web.Response:
                return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

            runtime.web.router.add_get(flow.install_path, install)
            runtime.web.router.add_get(flow.redirect_uri_path, oauth_redirect)
    runtime.web.router.add_get("/healthz", healthz)
    runtime.web.on_startup.append(on_startup)
    runtime.web.on_cleanup.append(on_cleanup)


def server_options(runtime: Runtime) -> dict[str, Any]:
    """The aiohttp server options of a process (`AppRunner` / `run_app` keyword arguments): the front door's (slow
    headers, etc.), and a server log that makes requests aiohttp cannot parse short, rate-limited lines."""
    assert runtime.server_log is not None
    return {**SERVER_OPTIONS, "logger": ServerLog(runtime.server_log)}


def web_runner(runtime: Runtime) -> web.AppRunner:
    """The aiohttp runner of a process's HTTP side."""
    return web.AppRunner(runtime.web, **server_options(runtime))
