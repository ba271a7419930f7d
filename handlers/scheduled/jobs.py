"""How the scheduler runs the jobs of cards (the jobs themselves are in `notices`).

Every job is claimed in the store with a lease before it runs, so when two schedulers run by mistake each job
still goes to one of them; a job whose scheduler died mid-way is taken over once its lease runs out; a job that
was due while no scheduler ran is done at the next tick, late but once. A try that fails is tried again after
growing delays (`handlers.retries`); after the last the job is recorded failed and the card's creator is told,
once, by direct message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from handlers.core import blocks, retries, slack_io
from handlers.core.blocks import Mrkdwn, code
from handlers.core.interaction import Deps
from handlers.scheduled.notices import expire, remind, warn, what_of
from handlers.scheduled.progress import Progress
from services.errors import VendorAuthError, VendorError
from services.registry import display_name
from services.store import Card, CardState, Job, JobKind

log = logging.getLogger("cohost.scheduled")

#: How long a claimed job is its scheduler's alone; a scheduler that died holding one frees it after this.
JOB_LEASE = timedelta(seconds=60)
#: A run taking longer than this is cut off (and left to its lease): so no run outlives its lease, and no other
#: scheduler can take over a job whose run is still posting.
JOB_RUN_LIMIT = JOB_LEASE / 2
#: Jobs claimed per tick, and run at once: bounded, so a burst of expiries paces itself.
CLAIM_BATCH = 200
CONCURRENCY = 32


async def run_due_jobs(deps: Deps) -> int:
    """Claims every job due now and runs it; returns how many ran."""
    ran = 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(job: Job) -> None:
        async with gate:
            await _run_job(deps, job)

    while True:
        jobs = await deps.store.claim_jobs(deps.clock.now(), lease=JOB_LEASE, limit=CLAIM_BATCH)
        if not jobs:
            return ran
        await asyncio.gather(*(run(job) for job in jobs))
        ran += len(jobs)
        if len(jobs) < CLAIM_BATCH:
            return ran


async def _run_job(deps: Deps, job: Job) -> None:
    try:
        await _try_job(deps, job)
    except Exception as exc:
        try:
            await _after_failure(deps, job, exc)
        except Exception:
            # Left to its lease: once it runs out the job is claimed again, and that claim counts as a try.
            log.exception("job %s (%s of card %s): its failure could not be recorded", job.id, job.kind, job.card_id)


def _still_to_do(job: Job, card: Card) -> bool:
    # An expiry still pending on an expired card is its own: an earlier try recorded it and then could not edit
    # the card (see `expire`); anything else on a card no longer active has nothing left to do.
    return card.state == CardState.ACTIVE.value or (
        job.kind == JobKind.EXPIRE.value and card.state == CardState.EXPIRED.value
    )


async def _try_job(deps: Deps, job: Job) -> None:
    card = await deps.store.get_card(job.team_id, job.card_id)
    if card is None or not _still_to_do(job, card):
        await deps.store.finish_job(job.id, deps.clock.now(), "skipped")
        return
    if job.attempts > retries.TRIES:
        # Claimed more often than it may be tried: its last tries never recorded an outcome (their scheduler
        # stopped mid-run), so it is not tried again, whatever it was that stopped them.
        await _give_up(deps, job, card, "each try stopped before it finished", tries=job.attempts - 1)
        return
    async with asyncio.timeout(JOB_RUN_LIMIT.total_seconds()):
        await _ACTIONS[JobKind(job.kind)](deps, card, Progress(deps.store, job))
    await deps.store.finish_job(job.id, deps.clock.now())


async def _after_failure(deps: Deps, job: Job, exc: Exception) -> None:
    """The try failed: tried again later while tries are left, else given up; not tried again at all when the
    workspace's token is gone for good (its work stops with it)."""
    if await deps.workspace_gone(job.team_id, exc):
        log.warning("job %s (%s of card %s): its workspace is gone, its work stopped", job.id, job.kind, job.card_id)
        return
    failure = retries.what_failed(exc)
    what = f"job {job.id} ({job.kind} of card {job.card_id}), try {job.attempts} of {retries.TRIES}"
    if not isinstance(exc, VendorError | SlackApiError):
        log.error("%s failed", what, exc_info=exc)  # not a vendor's or Slack's refusal: the traceback is the clue
    retry_at = retries.next_try(job.attempts, deps.clock.now())
    if retry_at is not None:
        if await deps.store.retry_job(job, at=retry_at, error=failure):
            log.warning("%s failed (%s); next try at %s", what, failure, retry_at.isoformat())
        return
    log.warning("%s failed (%s); giving up", what, failure)
    card = await deps.store.get_card(job.team_id, job.card_id)
    await _give_up(deps, job, card, failure, tries=job.attempts, credentials_refused=isinstance(exc, VendorAuthError))


async def _give_up(
    deps: Deps, job: Job, card: Card | None, failure: str, *, tries: int, credentials_refused: bool = False
) -> None:
    """Records the job failed and tells the card's creator, once: only the scheduler whose lease still holds
    records it, and telling comes after recording, so a crash between the two tells no one rather than twice."""
    if not await deps.store.fail_job(job, at=deps.clock.now(), error=failure) or card is None:
        return
    log.error("job %s (%s of card %s) gave up after %d tries: %s", job.id, job.kind, card.id, tries, failure)
    text = gave_up_text(job, card, failure, tries=tries, credentials_refused=credentials_refused)
    try:
        await slack_io.dm(deps.slack_for(card.team_id), card.creator_id, text)
    except Exception as exc:
        log.warning("creator of card %s not told of its failed %s: %s", card.id, job.kind, retries.what_failed(exc))


def gave_up_text(job: Job, card: Card, failure: str, *, tries: int, credentials_refused: bool = False) -> Mrkdwn:
    """What the card's creator is told when a job of their card gave up: the card, its vendor, what failed and
    what to do. By direct message: it stays until they read it (an ephemeral one is gone when Slack reloads),
    and it reaches them even when the card's channel is what Slack refused."""
    vendor = display_name(card.vendor)
    what = Mrkdwn("{} ({})").format(what_of(card), code(card.vendor_id))
    where = Mrkdwn(" in {}").format(blocks.channel_link(card.channel_id)) if card.ts is not None else Mrkdwn("")
    if job.kind == JobKind.WARN.value:
        task = Mrkdwn("post the warning that your {} ends {}{}").format(what, _when(card.expires_at), where)
        todo = Mrkdwn("It ends then all the same: tell the people in it yourself if they need to know.")
    elif job.kind == JobKind.REMIND.value:
        task = Mrkdwn("post the reminder that your {} starts {}{}").format(what, _when(card.starts_at), where)
        todo = Mrkdwn("It starts then all the same: remind the people invited yourself.")
    elif card.state == CardState.EXPIRED.value:
        task = Mrkdwn("change the card of your {}{} to say it has expired").format(what, where)
        todo = Mrkdwn("The session has expired all the same, and the card's buttons answer so when clicked.")
    else:
        task = Mrkdwn("close your {} when its time ran out").format(what)
        todo = Mrkdwn("It is still open: end it with the card's End button or {}.").format(
            code(f"/{card.family} end {card.vendor_id}")
        )
    if credentials_refused:
        todo += Mrkdwn(" {} refused Cohost's credentials: an admin can check them with {}.").format(
            vendor, code("python -m bot doctor")
        )
    return Mrkdwn(":warning: I tried {} times over half an hour to {}, and could not: {}. {}").format(
        tries, task, failure, todo
    )


def _when(moment: datetime | None) -> Mrkdwn:
    return blocks.date_token(moment) if moment is not None else Mrkdwn("soon")


#: What each kind of job does. A reminder is several posts (the thread's, each guest's), done once each across its
#: tries; a warning and an expiry are one step each.
_ACTIONS: dict[JobKind, Callable[[Deps, Card, Progress], Awaitable[None]]] = {
    JobKind.WARN: lambda deps, card, _: warn(deps, card),
    JobKind.REMIND: remind,
    JobKind.EXPIRE: lambda deps, card, _: expire(deps, card),
}
