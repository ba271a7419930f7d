"""What the scheduler does for cards: warnings before expiry, reminders before a scheduled start, the card edited
at expiry, and reconciliation with the vendors' own lists for sessions that ended elsewhere.

Every job is claimed in the store with a lease before it runs, so when two schedulers run by mistake each job
still goes to one of them; a job whose scheduler died mid-way is taken over once its lease runs out; a job that
was due while no scheduler ran is done at the next tick, late but once. A try that fails is tried again after
growing delays (`handlers.retries`); after the last the job is recorded failed and the card's creator is told,
once, by direct message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers import blocks, cards, retries
from handlers.blocks import Block, Button, Mrkdwn, code, link_button
from handlers.context import Deps
from handlers.meeting_views import END_ACTION as MEETING_END_ACTION
from handlers.meeting_views import MIROTALK_ENDS_ON_ITS_OWN, MY_LINK_ACTION, button_value
from services.errors import VendorAuthError, VendorDisabled, VendorError, VendorNotFound, VendorUnsupported
from services.store import Card, CardState, Job, JobKind
from services.vendor_values import Rows
from services.vendors import DISPLAY_NAMES

log = logging.getLogger("cohost.scheduled")

#: How long a claimed job is its scheduler's alone; a scheduler that died holding one frees it after this.
JOB_LEASE = timedelta(seconds=60)
#: A run taking longer than this is cut off (and left to its lease): so no run outlives its lease, and no other
#: scheduler can take over a job whose run is still posting.
JOB_RUN_LIMIT = JOB_LEASE / 2
#: Jobs claimed per tick, and run at once: bounded, so a burst of expiries paces itself.
CLAIM_BATCH = 200
CONCURRENCY = 32
#: Vendors whose End button a warning carries (SameSurf rooms end when people leave).
ENDABLE = {"mirrortab", "mirotalk", "coviu"}


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
        await _ACTIONS[JobKind(job.kind)](deps, card)
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
        client = deps.slack_for(card.team_id)
        opened = await client.conversations_open(users=card.creator_id)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
    except Exception as exc:
        log.warning("creator of card %s not told of its failed %s: %s", card.id, job.kind, retries.what_failed(exc))


def gave_up_text(job: Job, card: Card, failure: str, *, tries: int, credentials_refused: bool = False) -> Mrkdwn:
    """What the card's creator is told when a job of their card gave up: the card, its vendor, what failed and
    what to do. By direct message: it stays until they read it (an ephemeral one is gone when Slack reloads),
    and it reaches them even when the card's channel is what Slack refused."""
    vendor = DISPLAY_NAMES[card.vendor]
    what = Mrkdwn("{} ({})").format(_what(card), code(card.vendor_id))
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


# -- the jobs -------------------------------------------------------------------------------------------------


def _end_button(card: Card) -> Button | None:
    if card.vendor not in ENDABLE:
        return None
    action = "cobrowse_end" if card.family == "cobrowse" else MEETING_END_ACTION
    value = card.vendor_id if card.family == "cobrowse" else button_value(card.vendor, card.vendor_id)
    confirm = Mrkdwn("This ends the session for everyone in it.")
    return Button(action, "End now", value=value, style="danger", confirm=confirm)


def _what(card: Card) -> Mrkdwn:
    """`MirrorTab session “Demo”`: the card's session as its warnings and reminders name it."""
    return Mrkdwn("{} {} “{}”").format(DISPLAY_NAMES[card.vendor], cards.ID_LABELS[card.vendor].lower(), card.name)


def warning_blocks(card: Card, *, can_end: bool = True) -> list[Block]:
    """`can_end`: False where the vendor's server does not let Cohost end this session (MiroTalk's switch)."""
    assert card.expires_at is not None
    out: list[Block] = [
        blocks.section(
            Mrkdwn(":hourglass_flowing_sand: {} {} ends {}.").format(
                blocks.mention(card.creator_id), _what(card), blocks.date_token(card.expires_at)
            )
        )
    ]
    button = _end_button(card) if can_end else None
    if button is not None:
        out.append({"type": "actions", "block_id": "warning_actions", "elements": [button.render()]})
    elif card.vendor == "mirotalk":
        out.append(blocks.context(MIROTALK_ENDS_ON_ITS_OWN))
    else:
        out.append(blocks.context(Mrkdwn("SameSurf rooms end when everyone has left.")))
    return out


def reminder_blocks(card: Card) -> list[Block]:
    assert card.starts_at is not None
    buttons = [button for button in (link_button("Join", card.join_url),) if button is not None]
    if card.vendor in ("coviu", "mirotalk"):
        buttons.append(Button(MY_LINK_ACTION, "Get my link", value=button_value(card.vendor, card.vendor_id)))
    out: list[Block] = [
        blocks.section(Mrkdwn(":alarm_clock: {} starts {}.").format(_what(card), blocks.date_token(card.starts_at))),
    ]
    if buttons:
        out.append({"type": "actions", "block_id": "reminder_actions", "elements": [b.render() for b in buttons]})
    return out


async def _in_thread(deps: Deps, card: Card, text: Mrkdwn, blocks_: list[Block]) -> None:
    """A reply in the card's thread; a card that could not be posted in its channel has no thread, so then its
    creator gets it directly."""
    client = deps.slack_for(card.team_id)
    if card.ts is not None:
        await client.chat_postMessage(channel=card.channel_id, thread_ts=card.ts, text=text, blocks=blocks_)
        return
    opened = await client.conversations_open(users=card.creator_id)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks_)


async def warn(deps: Deps, card: Card) -> None:
    can_end = card.vendor != "mirotalk" or await deps.vendors.mirotalk.ending_on()
    await _in_thread(deps, card, Mrkdwn("{} ends soon").format(card.name), warning_blocks(card, can_end=can_end))


async def remind(deps: Deps, card: Card) -> None:
    await _in_thread(deps, card, Mrkdwn("{} starts soon").format(card.name), reminder_blocks(card))
    if card.vendor == "coviu":
        await _remind_participants(deps, card)


async def _remind_participants(deps: Deps, card: Card) -> None:
    """Each Coviu participant Cohost knows gets their own link again, by direct message."""
    assert card.starts_at is not None
    client = deps.slack_for(card.team_id)
    for user_id, participant_id in await deps.store.guests(card.team_id, "coviu", card.vendor_id):
        try:
            participant = await deps.vendors.coviu.get_participant(participant_id)
        except VendorNotFound:
            continue  # removed since
        if participant.deleted or not participant.entry_url:
            continue  # canceled since: its link no longer lets anyone in
        opened = await client.conversations_open(users=user_id)
        await client.chat_postMessage(
            channel=opened["channel"]["id"],
            text=Mrkdwn(":alarm_clock: Coviu session “{}” starts {}. Your own link (do not share it): {}").format(
                card.name, blocks.date_token(card.starts_at), participant.entry_url
            ),
        )


async def expire(deps: Deps, card: Card) -> None:
    """The session's time is up: MiroTalk meetings given a length are ended on the server where it lets Cohost
    end them (the others end on their own), then the card says "Expired", its buttons gone."""
    if card.state == CardState.EXPIRED.value:
        await cards.show_closed(deps, card)  # an earlier try recorded the expiry but could not edit the card
        return
    if not await deps.store.begin_end(card.id):
        return  # someone is ending it right now
    try:
        if card.vendor == "mirotalk" and await deps.vendors.mirotalk.ending_on():
            # Nobody in the room, ending switched off since it was learned, or an older server without the
            # call: nothing Cohost can end, and the card still expires.
            with contextlib.suppress(VendorNotFound, VendorDisabled, VendorUnsupported):
                await deps.vendors.mirotalk.end_meeting(card.vendor_id)
    except BaseException:
        await deps.store.abort_end(card.id)
        raise
    await cards.close_card(deps, card, CardState.EXPIRED, by=None, running=JobKind.EXPIRE)


_ACTIONS: dict[JobKind, Callable[[Deps, Card], Awaitable[None]]] = {
    JobKind.WARN: warn,
    JobKind.REMIND: remind,
    JobKind.EXPIRE: expire,
}


# -- reconciliation ------------------------------------------------------------------------------------------


async def _live_ids(deps: Deps, vendor: str) -> set[str] | None:
    """The ids the vendor lists as live; None when some of its rows could not be read (one of them may be the
    session of an active card, so no card is closed on that list)."""
    vendors = deps.vendors
    rows: list[Rows[Any]]
    if vendor == "mirrortab":
        rows = [await vendors.mirrortab.list_sessions()]
        ids = {s.session_id for s in rows[0]}
    elif vendor == "samesurf":
        rows = [await vendors.samesurf.all_running_rooms()]
        ids = {r.room for r in rows[0]}
    elif vendor == "mirotalk":
        rows = [await vendors.mirotalk.meetings()]
        ids = {m.room for m in rows[0]}
    else:
        rows = [await vendors.coviu.live_sessions(deps.clock.now())]
        ids = {s.session_id for s in rows[0]}
    return None if any(page.unreadable for page in rows) else ids


#: Vendors whose sessions show in their list only while people are in them: a card there is closed only once
#: its session was seen live and then gone, never because nobody has joined yet.
_LIVE_WHILE_OCCUPIED = {"samesurf", "mirotalk"}


async def reconcile(deps: Deps) -> int:
    """Compares the active cards with each vendor's own list; a session that ended elsewhere gets its card
    closed. A vendor that cannot be asked is left for the next round: no card is closed on a failure."""
    by_vendor: dict[str, list[Card]] = {}
    for card in await deps.store.active_cards():
        by_vendor.setdefault(card.vendor, []).append(card)
    closed = 0
    now = deps.clock.now()
    for vendor, active in by_vendor.items():
        if deps.vendors.config.missing(vendor):
            continue
        try:
            live = await _live_ids(deps, vendor)
        except VendorError as exc:
            log.warning("reconciliation skipped %s: %s", vendor, type(exc).__name__)
            continue
        if live is None:
            log.warning("reconciliation skipped %s: some of its rows could not be read", vendor)
            continue
        await deps.store.seen_live([c.id for c in active if c.vendor_id in live], now)
        for card in active:
            if card.vendor_id in live:
                continue
            if vendor in _LIVE_WHILE_OCCUPIED and card.last_seen_at is None:
                continue
            if card.starts_at is not None and card.starts_at > now and vendor != "coviu":
                continue  # scheduled, not begun
            if await deps.store.begin_end(card.id):
                expired = card.expires_at is not None and card.expires_at <= now
                try:
                    await cards.close_card(deps, card, CardState.EXPIRED if expired else CardState.ENDED, by=None)
                except Exception as exc:  # recorded closed; only its message could not be edited
                    if not await deps.workspace_gone(card.team_id, exc):
                        raise
                closed += 1
    return closed
