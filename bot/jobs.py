"""The scheduler half: APScheduler 3.11 on the running event loop, every job with an explicit id.

What is due lives in the database, not in APScheduler: these jobs only look for it often. A card posted by a web
process reaches the scheduler through the store within `DUE_WORK_EVERY`, well inside the 5 s a warning may be
late; work that fell due while no scheduler ran is done at its first tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers import intake, scheduled
from handlers.core.interaction import Deps
from handlers.digest import sending as digest

log = logging.getLogger("cohost.jobs")

#: How long a handled request's key is kept: Slack redelivers within minutes, so a day is ample.
REQUEST_KEY_TTL = timedelta(days=1)
DUE_WORK_EVERY = timedelta(seconds=1)
#: How often the cards are compared with the vendors' own lists of live sessions.
RECONCILE_EVERY = timedelta(minutes=3)
#: How often subscriptions are checked for a digest due: a digest goes out within this of its time.
DIGESTS_EVERY = timedelta(seconds=5)


#: How often a process renews the leases of the commands it is handling (services/intake.py).
INTAKE_RENEW_EVERY = timedelta(seconds=5)
#: How often a process tries to finish commands a stopped process left, at the latest; sooner when it sees one
#: past its lease.
INTAKE_RECOVER_EVERY = timedelta(minutes=1)


def intake_lease(vendor_timeout_s: float) -> timedelta:
    """Longer than any vendor call (VENDOR_TIMEOUT_S) plus two renewals: by the time another process may claim a
    dead process's command, the dead process's last vendor call is over, and the vendor's list shows what it
    created. With the default 15 s, a command left by a process that died is finished well within a minute."""
    return timedelta(seconds=vendor_timeout_s) + 2 * INTAKE_RENEW_EVERY


class IntakeKeeper:
    """Keeps the leases of the commands this process is handling, and finishes those a stopped process left.

    It runs in every role, not as a scheduler job: a web process must renew the leases of its own commands (or
    another process would take them over), and a deployment of web processes alone, or whose scheduler is down,
    still has a dead web process's commands finished within two minutes. Several processes looking at once is
    safe: each orphaned command is claimed with a lease by one of them.
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._renew()), asyncio.create_task(self._recover())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _renew(self) -> None:
        # Apart from recovery, which may take a while: a lease must never lapse while its command is under way.
        while True:
            await asyncio.sleep(INTAKE_RENEW_EVERY.total_seconds())
            try:
                await self.deps.intakes.renew(self.deps.clock.now())
            except Exception as exc:
                log.warning("could not renew the leases of commands under way (%s)", type(exc).__name__)

    async def _recover(self) -> None:
        while True:
            due: datetime | None = None
            try:
                due = await intake.recover(self.deps)
            except Exception:
                log.exception("finishing the commands a stopped process left failed; trying again later")
            await self._until_an_orphan_is_due(due)

    async def _until_an_orphan_is_due(self, due: datetime | None) -> None:
        """Waits until another process's open command is past its lease (looked at every few seconds, as a
        process may die at any time, and just after the soonest lease seen runs out), or a minute at the most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INTAKE_RECOVER_EVERY.total_seconds()
        while loop.time() < deadline:
            wait = INTAKE_RENEW_EVERY.total_seconds()
            if due is not None:
                wait = min(wait, max((due - self.deps.clock.now()).total_seconds(), 0.0) + 0.5)
            await asyncio.sleep(wait)
            try:
                due = await self.deps.intakes.next_orphan_due()
            except Exception as exc:
                log.warning("could not look for commands a stopped process left (%s)", type(exc).__name__)
                continue
            if due is not None and due < self.deps.clock.now():
                return


class JobRuns:
    """The runs of scheduled jobs under way, so a stopping process lets them finish before it closes the store
    (a run cut off in the middle would leave its card half-ended)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await work()
            finally:
                self._tasks.discard(task)

        return run

    async def settle(self, within_s: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within_s)


def build_scheduler(deps: Deps, runs: JobRuns) -> AsyncIOScheduler:
    # One run of a job at a time; a tick missed while the previous one ran is dropped, not queued up.
    scheduler = AsyncIOScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    # A tick that finds the previous one still running is skipped, as intended: not worth a warning a second.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)

    async def prune_request_keys() -> None:
        removed = await deps.store.prune_requests(deps.clock.now() - REQUEST_KEY_TTL)
        # A command's record is its once-only key: kept as long.
        removed_commands = await deps.intakes.prune(deps.clock.now() - REQUEST_KEY_TTL)
        log.info("pruned %d handled request keys and %d finished commands", removed, removed_commands)

    # Coroutine functions (`runs.track` makes one): APScheduler runs those on the loop, anything else in a thread.
    every: list[tuple[str, Callable[[], Awaitable[object]], timedelta]] = [
        ("due_work", partial(scheduled.run_due_jobs, deps), DUE_WORK_EVERY),
        ("reconcile", partial(scheduled.reconcile, deps), RECONCILE_EVERY),
        ("digests", partial(digest.send_due_digests, deps), DIGESTS_EVERY),
        ("prune_request_keys", prune_request_keys, timedelta(hours=1)),
    ]
    for job_id, work, interval in every:
        scheduler.add_job(
            runs.track(work), "interval", seconds=interval.total_seconds(), id=job_id, replace_existing=True
        )
    return scheduler
