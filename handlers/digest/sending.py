"""`send_due_digests`, which the scheduler calls: every digest due, gathered (`gathering`), posted at Slack's pace.

`send_due_digests` claims due digests with
a lease (of several schedulers, one gets each), posts each, and only after it went out records it sent with its
next run: a digest that could not be posted is tried again after growing delays (nothing lost; `retries`), and
one that was posted is not sent again for that period (nothing doubled). One that keeps failing is skipped for
that period after the last retry, and its subscriber told once.

Slack takes about one message a second per channel and answers 429 with `Retry-After` beyond that. Posts to one
channel are spaced (`ChannelPace`); the Web API client already waits out a few 429s, and a 429 that outlasts it
puts the digest back for when Slack said to retry.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core import retries, slack_io
from handlers.core.blocks import Block, Mrkdwn, channel_link, code, date_token
from handlers.core.interaction import Deps
from handlers.digest import views as digest_views
from handlers.digest.commands import command_of
from handlers.digest.gathering import RunAnswers, build_digest
from handlers.digest.schedule import Schedule
from services.errors import VendorError
from services.registry import family_title
from services.store import DigestSubscription

log = logging.getLogger("cohost.digest")


#: How long a claimed digest is ours: well past the slowest send (vendor time limits, a few 429 waits), so no
#: other scheduler takes it over while it is still being sent.
LEASE = timedelta(minutes=10)
#: Digests claimed at a time, and in one wave at the most: a wave is sent within seconds (a channel has one digest
#: a family, one a second), far inside the lease.
CLAIM_BATCH = 50
WAVE = 1000
#: Digests gathered and posted at once (never while they wait for their channel's turn).
CONCURRENT_POSTS = 16
#: Slack's pace for chat.postMessage: about one message a second per channel.
SECONDS_PER_CHANNEL_MESSAGE = 1.0


# -- pace ---------------------------------------------------------------------------------------------------


class ChannelPace:
    """Each post to a channel takes the next free slot, a second after the one before (Slack's pace per
    channel); a 429 pushes the channel's next slot past its `Retry-After`."""

    def __init__(self, interval_s: float = SECONDS_PER_CHANNEL_MESSAGE) -> None:
        self.interval_s = interval_s
        self._next: dict[str, float] = {}

    async def turn(self, channel: str) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + self.interval_s
        if len(self._next) > 10_000:  # forget channels whose slots are long past
            self._next = {c: t for c, t in self._next.items() if t > now}
        if slot > now:
            await asyncio.sleep(slot - now)

    async def free(self, channel: str) -> None:
        """Waits until the channel's next slot, without taking it."""
        loop = asyncio.get_running_loop()
        wait = self._next.get(channel, 0.0) - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)

    def hold(self, channel: str, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        self._next[channel] = max(self._next.get(channel, now), now + seconds)


#: One pace per Web API client, i.e. per process and workspace token, kept across the scheduler's calls.
_PACES: weakref.WeakKeyDictionary[AsyncWebClient, ChannelPace] = weakref.WeakKeyDictionary()


def pace_of(client: AsyncWebClient) -> ChannelPace:
    pace = _PACES.get(client)
    if pace is None:
        pace = _PACES[client] = ChannelPace()
    return pace


# -- sending ---------------------------------------------------------------------------------------------------


def _retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked to wait, when it answered 429."""
    response = error.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 1.0)
            except (TypeError, ValueError):
                break
    return 1.0


async def send_due_digests(deps: Deps) -> int:
    """Sends every digest due now that no other scheduler is sending; returns how many went out.

    Digests are claimed a wave at a time (`WAVE`), and each channel's are posted in order, one per Slack slot of
    that channel (`ChannelPace`), all channels at once: a digest waiting for its channel's turn holds nothing
    another channel's digest could use. `CONCURRENT_POSTS` bounds the digests being gathered and posted at once."""
    now = deps.clock.now()
    answers = RunAnswers()
    slots = asyncio.Semaphore(CONCURRENT_POSTS)
    pace = pace_of(deps.client)

    async def one(sub: DigestSubscription) -> bool:
        await pace.free(sub.channel_id)  # its channel's turn is waited for first, holding no slot
        async with slots:
            try:
                return await _send(deps, sub, now, answers, pace)
            except Exception as exc:
                await _failed(deps, sub, now, exc)
                return False

    async def channel(subs: list[DigestSubscription]) -> int:
        return sum([await one(sub) for sub in subs])

    sent = 0
    # Each claim leases what it returns, so the loop ends: a digest put back for a retry is due after `now`.
    while wave := await _claim_wave(deps, now):
        by_channel: dict[tuple[str, str], list[DigestSubscription]] = {}
        for sub in wave:
            by_channel.setdefault((sub.team_id, sub.channel_id), []).append(sub)
        sent += sum(await asyncio.gather(*(channel(subs) for subs in by_channel.values())))
    return sent


async def _claim_wave(deps: Deps, now: datetime) -> list[DigestSubscription]:
    """Up to `WAVE` due digests, claimed `CLAIM_BATCH` at a time (so several schedulers share a burst)."""
    wave: list[DigestSubscription] = []
    while len(wave) < WAVE and (batch := await deps.store.claim_digests(now, lease=LEASE, limit=CLAIM_BATCH)):
        wave += batch
    return wave


async def _send(deps: Deps, sub: DigestSubscription, now: datetime, answers: RunAnswers, pace: ChannelPace) -> bool:
    digest, chart = await build_digest(deps, sub, now, answers)
    blocks_ = digest_views.digest_blocks(digest)
    text = digest_views.digest_text(digest)
    next_run = Schedule.of(sub).next_after(max(now, sub.next_run_at))
    try:
        await pace.turn(sub.channel_id)
        posted = await deps.slack_for(sub.team_id).chat_postMessage(channel=sub.channel_id, text=text, blocks=blocks_)
    except SlackApiError as exc:
        wait = _retry_after(exc)
        if wait is not None:
            # Slack kept answering 429 past the client's own retries: back for when it said to come back.
            pace.hold(sub.channel_id, wait)
            assert sub.lease_until is not None
            await deps.store.retry_digest(sub.id, leased_until=sub.lease_until, at=now + timedelta(seconds=wait))
            log.info("digest %s for %s: rate limited, again in %.0f s", sub.family, sub.channel_id, wait)
            return False
        error = slack_io.cannot_post_here(exc)
        if error is not None:
            await _tell_subscriber(deps, sub, _cannot_post_text(sub, error))
            await deps.store.digest_sent(sub.id, at=now, next_run_at=next_run)
            return False
        raise
    if chart is not None:
        await _share_chart(deps, sub, chart, pace, str(posted["ts"]), blocks_, text)
    await deps.store.digest_sent(sub.id, at=now, next_run_at=next_run)
    return True


async def _share_chart(
    deps: Deps, sub: DigestSubscription, chart: bytes, pace: ChannelPace, ts: str, blocks_: list[Block], text: str
) -> None:
    """The weekly chart, shared in the channel next to its digest. The digest is out already: a chart that
    cannot follow is named in it rather than sending the digest again."""
    try:
        await pace.turn(sub.channel_id)
        await deps.slack_for(sub.team_id).files_upload_v2(
            channel=sub.channel_id,
            file=chart,
            filename=f"{sub.family}-digest-week.png",
            title=f"{family_title(sub.family)}: the week per day",
            alt_txt=f"Bar chart of {family_title(sub.family).lower()} per day and vendor over the week",
        )
    except Exception as exc:
        log.warning("digest chart for %s not shared: %s", sub.channel_id, type(exc).__name__)
        note = Mrkdwn(":warning: This week's chart could not be shared here.")
        try:
            await deps.slack_for(sub.team_id).chat_update(
                channel=sub.channel_id, ts=ts, text=text, blocks=digest_views.with_note(blocks_, note)
            )
        except SlackApiError:
            log.warning("digest for %s: could not add the chart's note", sub.channel_id)


async def _failed(deps: Deps, sub: DigestSubscription, now: datetime, exc: Exception) -> None:
    """A digest that could not go out (Slack's 429 aside): tried again after growing delays; after the last,
    this period's is skipped and the subscriber told, once (by the one scheduler whose lease still holds)."""
    try:
        if await deps.workspace_gone(sub.team_id, exc):  # its digests are removed with it: nothing to retry
            log.warning("digest %s for %s: its workspace is gone, its digests stopped", sub.family, sub.channel_id)
            return
    except Exception:
        log.exception("digest %s for %s: the workspace's failure could not be recorded", sub.family, sub.channel_id)
        return
    failure = retries.what_failed(exc)
    what = f"digest {sub.family} for {sub.channel_id}, try {sub.failures + 1} of {retries.TRIES}"
    if not isinstance(exc, SlackApiError | VendorError):
        log.error("%s failed", what, exc_info=exc)  # not Slack's refusal: the traceback is the clue
    assert sub.lease_until is not None
    try:
        retry_at = retries.next_try(sub.failures + 1, now)
        if retry_at is not None:
            await deps.store.retry_digest(sub.id, leased_until=sub.lease_until, at=retry_at, failed=True)
            log.warning("%s failed (%s); next try at %s", what, failure, retry_at.isoformat())
            return
        next_run = Schedule.of(sub).next_after(max(now, sub.next_run_at))
        if await deps.store.skip_digest(sub.id, leased_until=sub.lease_until, next_run_at=next_run):
            log.error("%s failed (%s); this period's is skipped", what, failure)
            await _tell_subscriber(deps, sub, _gave_up_text(sub, failure, next_run))
    except Exception:
        # Left to its lease: a later run tries again.
        log.exception("digest %s for %s: its failure could not be recorded", sub.family, sub.channel_id)


def _cannot_post_text(sub: DigestSubscription, error: str) -> Mrkdwn:
    return Mrkdwn(
        ":warning: Your {} digest could not be posted in {} ({}). Invite me there with `/invite @Cohost`, or stop "
        "it with {} in that channel. I will try again at its next time."
    ).format(
        family_title(sub.family).lower(),
        channel_link(sub.channel_id),
        error,
        code(f"{command_of(sub.family)} digest off"),
    )


def _gave_up_text(sub: DigestSubscription, failure: str, next_run: datetime) -> Mrkdwn:
    return Mrkdwn(
        ":warning: I tried {} times over half an hour to post your {} digest in {}, and could not: {}. This one is "
        "skipped; the next comes {}. {} in that channel stops it."
    ).format(
        retries.TRIES,
        family_title(sub.family).lower(),
        channel_link(sub.channel_id),
        failure,
        date_token(next_run),
        code(f"{command_of(sub.family)} digest off"),
    )


async def _tell_subscriber(deps: Deps, sub: DigestSubscription, text: Mrkdwn) -> None:
    try:
        await slack_io.dm(deps.slack_for(sub.team_id), sub.created_by, text)
    except SlackApiError as exc:
        log.warning("digest subscriber %s not told: %s", sub.created_by, exc.response.get("error"))
