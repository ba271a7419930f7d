"""The scheduler half: APScheduler 3.11 on the running event loop, every job with an explicit id."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from services.clock import Clock
from services.store import Store

log = logging.getLogger("cohost.jobs")

#: How long a handled request's key is kept: Slack redelivers within minutes, so a day is ample.
REQUEST_KEY_TTL = timedelta(days=1)


def build_scheduler(store: Store, clock: Clock) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})

    async def prune_request_keys() -> None:
        removed = await store.prune_requests(clock.now() - REQUEST_KEY_TTL)
        log.info("pruned %d handled request keys", removed)

    scheduler.add_job(prune_request_keys, "interval", hours=1, id="prune_request_keys", replace_existing=True)
    return scheduler
