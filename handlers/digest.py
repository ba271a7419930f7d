"""Digests: `digest daily|weekly|off|show` of each family, and `send_due_digests`, which the scheduler calls.

A channel has at most one digest per family, stored with its next run: a wall-clock HH:MM in the subscriber's
zone, so a daily 09:00 stays at 09:00 local time across DST changes. `send_due_digests` claims due digests with
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
import re
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import digest_views, retries
from handlers.blocks import Block, Mrkdwn, channel_link, code, date_token
from handlers.context import Deps, Interaction
from handlers.digest_views import FAMILY_TITLES, Cadence, Digest, Period, VendorPart
from handlers.parsing import Family, Option, Parsed, ParseError
from handlers.when import zone
from services.errors import VendorError
from services.mirotalk import EndpointSwitchedOff
from services.mirrorace import FileInfo
from services.samesurf import AnalyticsRoom, SameSurf
from services.store import DigestSubscription, NewDigest, Upload
from services.vendor_values import Rows
from services.vendors import DISPLAY_NAMES, Vendors

log = logging.getLogger("cohost.digest")

T = TypeVar("T")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERIODS: dict[Cadence, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: How long a claimed digest is ours: well past the slowest send (vendor time limits, a few 429 waits), so no
#: other scheduler takes it over while it is still being sent.
LEASE = timedelta(minutes=10)
#: Digests claimed at a time, and posted at once (different channels; one channel's are spaced anyway).
CLAIM_BATCH = 50
CONCURRENT_POSTS = 8
#: Slack's pace for chat.postMessage: about one message a second per channel.
SECONDS_PER_CHANNEL_MESSAGE = 1.0
#: chat.postMessage errors that will not go away by retrying: the subscriber is told, the period skipped.
_CANNOT_POST_HERE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
#: SameSurf's rooms of a period are read newest first, a page at a time, up to this many pages.
ROOMS_PAGE, ROOMS_PAGES = 100, 5
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
TZ = Option("tz", metavar="ZONE")

#: The families that offer digests (filled by `add_digest_subcommands`), by their store key.
_FAMILIES: dict[str, Family] = {}


# -- when ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    cadence: Cadence
    at: time
    tz: ZoneInfo
    #: 0 = Monday, for weekly digests.
    weekday: int | None = None

    @classmethod
    def of(cls, sub: DigestSubscription) -> Schedule:
        hour, minute = (int(part) for part in sub.at_time.split(":"))
        cadence: Cadence = "weekly" if sub.cadence == "weekly" else "daily"
        return cls(cadence, time(hour, minute), ZoneInfo(sub.tz), sub.weekday)

    def next_after(self, moment: datetime) -> datetime:
        """The first run after `moment` (UTC): HH:MM on the wall clock of the zone, on the right weekday. A time
        the clocks skip (spring forward) runs as if they had not moved yet, one hour later on the wall."""
        first_day = moment.astimezone(self.tz).date()
        for offset in range(9):
            day = first_day + timedelta(days=offset)
            if self.weekday is not None and day.weekday() != self.weekday:
                continue
            run = datetime.combine(day, self.at, tzinfo=self.tz)
            if run > moment:
                return run.astimezone(UTC)
        raise AssertionError("a week always holds the weekday")

    def describe(self) -> str:
        on = f"Weekly on {WEEKDAYS[self.weekday].capitalize()}" if self.weekday is not None else "Daily"
        return f"{on} at {self.at:%H:%M} {self.tz.key}"


def weekday_of(text: str, usage: str) -> int:
    """`mon`..`sun` or the full name, any case."""
    word = text.lower()
    for index, name in enumerate(WEEKDAYS):
        if word in (name, name[:3]):
            return index
    raise ParseError(f"`{text}` is not a day: use mon, tue, wed, thu, fri, sat, sun or the full name.", usage)


def time_of_day(text: str, usage: str) -> time:
    match = _CLOCK.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ParseError(f"`{text}` is not a time of day: use HH:MM, e.g. 09:00.", usage)
    return time(int(match.group(1)), int(match.group(2)))


# -- the subcommands -------------------------------------------------------------------------------------------


def add_digest_subcommands(family: Family, key: str) -> None:
    """Adds `digest daily|weekly|off|show` to a family's table; `key` is its name in the store (`cobrowse`)."""
    _FAMILIES[key] = family
    what = f"{FAMILY_TITLES[key].lower()} digest"

    @family.sub("digest daily HH:MM", TZ, summary=f"Post the {what} here every day at HH:MM (your time zone or --tz).")
    async def daily(ix: Interaction, p: Parsed) -> None:
        await _subscribe(ix, key, p, "daily")

    @family.sub("digest weekly DAY HH:MM", TZ, summary=f"Post the {what} with a chart here every week (DAY: mon..sun).")
    async def weekly(ix: Interaction, p: Parsed) -> None:
        await _subscribe(ix, key, p, "weekly")

    @family.sub("digest off", summary=f"Stop this channel's {what}.")
    async def off(ix: Interaction, p: Parsed) -> None:
        if await ix.deps.store.remove_digest(ix.team_id, ix.channel_id, key):
            await ix.private(Mrkdwn("The {} of this channel is off.").format(what))
        else:
            await ix.private(Mrkdwn("This channel had no {}.").format(what))

    @family.sub("digest show", summary=f"When this channel's {what} comes, for you alone.")
    async def show(ix: Interaction, p: Parsed) -> None:
        sub = await ix.deps.store.digest(ix.team_id, ix.channel_id, key)
        if sub is None:
            await ix.private(
                Mrkdwn("This channel has no {}. {} sets one ({} shows the others).").format(
                    what, code(f"{family.command} digest daily 09:00"), code(f"{family.command} help")
                )
            )
            return
        await ix.private(Mrkdwn("{}, next {}.").format(Schedule.of(sub).describe(), date_token(sub.next_run_at)))


async def _subscribe(ix: Interaction, key: str, p: Parsed, cadence: Cadence) -> None:
    usage = p.sub.usage()
    weekday = weekday_of(p.arg("DAY"), usage) if cadence == "weekly" else None
    at = time_of_day(p.arg("HH:MM"), usage)
    try:
        tz = zone(p.opt("tz")) if p.opt("tz") else await ix.tz()
    except ParseError as exc:
        raise ParseError(exc.message, usage) from None
    schedule = Schedule(cadence, at, tz, weekday)
    saved = await ix.deps.store.set_digest(
        NewDigest(
            team_id=ix.team_id,
            channel_id=ix.channel_id,
            family=key,
            cadence=cadence,
            weekday=weekday,
            at_time=f"{at:%H:%M}",
            tz=tz.key,
            created_by=ix.user_id,
            next_run_at=schedule.next_after(ix.deps.clock.now()),
        )
    )
    command = _FAMILIES[key].command
    await ix.private(
        Mrkdwn(":calendar: {} digest of this channel: {}, next {}. {} stops it.").format(
            FAMILY_TITLES[key], schedule.describe(), date_token(saved.next_run_at), code(f"{command} digest off")
        )
    )


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


# -- gathering ----------------------------------------------------------------------------------------------


class VendorAnswers:
    """Vendor answers shared by every digest of one run: two hundred channels' digests ask each vendor once,
    and a vendor that is down costs one time limit, not one per channel."""

    def __init__(self) -> None:
        self._calls: dict[tuple[Any, ...], asyncio.Future[Any]] = {}

    async def get(self, key: tuple[Any, ...], call: Callable[[], Awaitable[T]]) -> T:
        future = self._calls.get(key)
        if future is None:
            future = self._calls[key] = asyncio.ensure_future(call())
        result: T = await asyncio.shield(future)
        return result


async def _part(vendor: str, build: Callable[[], Awaitable[VendorPart]]) -> VendorPart:
    """One vendor's part; its failure becomes a named line, and the rest of the digest still goes out."""
    try:
        return await build()
    except VendorError as exc:
        log.info("digest: %s failed (%s)", vendor, type(exc).__name__)
        return digest_views.failed_part(vendor, f"{exc.message.rstrip('.')}.")
    except Exception:
        log.exception("digest: reading %s failed", vendor)
        return digest_views.failed_part(vendor, "Cohost could not read it; the team has the details.")


async def _rooms_in(samesurf: SameSurf, period: Period) -> Rows[AnalyticsRoom]:
    """SameSurf's rooms of the period, from its newest-first list (with how many it sent that were unreadable)."""
    rooms: Rows[AnalyticsRoom] = Rows()
    for page_no in range(ROOMS_PAGES):
        page = await samesurf.analytics_rooms(skip=page_no * ROOMS_PAGE, take=ROOMS_PAGE)
        rooms.unreadable += page.unreadable
        for room in page.rooms:
            if room.date is None or room.date >= period.end:
                continue
            if room.date < period.start:
                return rooms
            rooms.append(room)
        seen = (page_no + 1) * ROOMS_PAGE
        if len(page.rooms) + page.unreadable < ROOMS_PAGE or (
            page.total_rooms is not None and seen >= page.total_rooms
        ):
            break
    return rooms


async def _cobrowse_parts(vendors: Vendors, answers: VendorAnswers, period: Period) -> list[VendorPart]:
    enabled = vendors.config.enabled_cobrowse()
    parts = []
    if "samesurf" in enabled:

        async def samesurf() -> VendorPart:
            overview = await answers.get(("samesurf.overview",), vendors.samesurf.analytics_overview)
            rooms = await answers.get(
                ("samesurf.rooms", period.start, period.end), lambda: _rooms_in(vendors.samesurf, period)
            )
            return digest_views.samesurf_part(overview, rooms, rooms.unreadable)

        parts.append(await _part("SameSurf", samesurf))
    if "mirrortab" in enabled:

        async def mirrortab() -> VendorPart:
            sessions = await answers.get(("mirrortab.live",), vendors.mirrortab.list_sessions)
            return digest_views.mirrortab_part(sessions, sessions.unreadable)

        parts.append(await _part("MirrorTab", mirrortab))
    return parts


async def _meeting_parts(vendors: Vendors, answers: VendorAnswers, period: Period) -> list[VendorPart]:
    enabled = vendors.config.enabled_meeting()
    parts = []
    if "mirotalk" in enabled:

        async def mirotalk() -> VendorPart:
            stats = await answers.get(("mirotalk.stats",), vendors.mirotalk.stats)
            try:
                meetings = await answers.get(("mirotalk.meetings",), vendors.mirotalk.meetings)
            except EndpointSwitchedOff as off:  # as servers ship: the stats still make the part
                return digest_views.mirotalk_part(stats, None, unlisted=off.message)
            return digest_views.mirotalk_part(stats, meetings, meetings.unreadable)

        parts.append(await _part("MiroTalk", mirotalk))
    if "coviu" in enabled:
        coviu = vendors.coviu

        async def coviu_part() -> VendorPart:
            in_period = await answers.get(
                ("coviu.period", period.start, period.end), lambda: coviu.sessions_during(period.start, period.end)
            )
            # The period ends now: what is still to come starts after its end.
            upcoming = await answers.get(("coviu.upcoming", period.end), lambda: coviu.upcoming_sessions(period.end))
            return digest_views.coviu_part(in_period, upcoming, period, in_period.unreadable + upcoming.unreadable)

        parts.append(await _part("Coviu", coviu_part))
    return parts


async def _upload_parts(deps: Deps, sub: DigestSubscription, period: Period) -> list[VendorPart]:
    uploads = await _uploads_in(deps, sub, period)
    if deps.vendors.config.missing("mirrorace"):
        return [digest_views.mirrorace_part(uploads, None)]
    try:
        infos = await deps.vendors.mirrorace.file_info([u.slug for u in uploads]) if uploads else []
    except VendorError as exc:
        # The files are listed all the same; only their status check is missing, and the digest says so.
        failed = digest_views.failed_part("MirrorAce status check", f"{exc.message.rstrip('.')}.")
        return [digest_views.mirrorace_part(uploads, None), failed]
    status: dict[str, FileInfo] = {info.slug: info for info in infos}
    return [digest_views.mirrorace_part(uploads, status)]


async def _uploads_in(deps: Deps, sub: DigestSubscription, period: Period) -> list[Upload]:
    # Only this channel's files: a digest is public, and a file mirrored elsewhere may be private there.
    uploads = await deps.store.uploads_since(sub.team_id, period.start)
    return [u for u in uploads if u.channel_id == sub.channel_id and u.created_at < period.end]


async def _own_starts(deps: Deps, sub: DigestSubscription, period: Period) -> list[tuple[str, datetime]]:
    """(vendor display name, when) of each session or file Cohost started in the channel during the period."""
    if sub.family == "upload":
        return [("MirrorAce", u.created_at) for u in await _uploads_in(deps, sub, period)]
    cards = await deps.store.cards_between(
        sub.team_id, period.start, period.end, family=sub.family, channel_id=sub.channel_id
    )
    return [(DISPLAY_NAMES.get(card.vendor, card.vendor), card.created_at) for card in cards]


def _family_vendors(vendors: Vendors, family: str) -> list[str]:
    if family == "cobrowse":
        return [DISPLAY_NAMES[v] for v in vendors.config.enabled_cobrowse()]
    if family == "meeting":
        return [DISPLAY_NAMES[v] for v in vendors.config.enabled_meeting()]
    return ["MirrorAce"]


def chart_of(period: Period, starts: Sequence[tuple[str, datetime]], vendors: Sequence[str]) -> bytes:
    """The weekly chart: what was started per day of the subscriber's zone, per vendor."""
    tz = ZoneInfo(period.tz)
    first, last = period.start.astimezone(tz).date(), (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    series: dict[str, list[int]] = {vendor: [0] * len(days) for vendor in vendors}
    for vendor, when in starts:
        day = when.astimezone(tz).date()
        if day in index:
            series.setdefault(vendor, [0] * len(days))[index[day]] += 1
    noun = "files mirrored" if set(series) == {"MirrorAce"} else "sessions started"
    heading = f"{noun.capitalize()} per day, {_day(first)} to {_day(last)} ({period.tz})"
    return digest_views.sessions_chart(days, series, heading)


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


async def build_digest(
    deps: Deps, sub: DigestSubscription, now: datetime, answers: VendorAnswers
) -> tuple[Digest, bytes | None]:
    """The digest of one subscription as of `now`, and its chart when it is a weekly one."""
    schedule = Schedule.of(sub)
    period = Period(now - PERIODS[schedule.cadence], now, schedule.cadence, schedule.tz.key)
    if sub.family == "cobrowse":
        parts = await _cobrowse_parts(deps.vendors, answers, period)
    elif sub.family == "meeting":
        parts = await _meeting_parts(deps.vendors, answers, period)
    else:
        parts = await _upload_parts(deps, sub, period)
    starts = await _own_starts(deps, sub, period)
    vendors = _family_vendors(deps.vendors, sub.family)
    counts = Counter(vendor for vendor, _ in starts)
    own = {vendor: counts.get(vendor, 0) for vendor in dict.fromkeys([*vendors, *counts])}
    digest = Digest(sub.family, period, parts, own)
    chart = chart_of(period, starts, vendors) if schedule.cadence == "weekly" else None
    return digest, chart


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
    """Sends every digest due now that no other scheduler is sending; returns how many went out."""
    now = deps.clock.now()
    answers = VendorAnswers()
    slots = asyncio.Semaphore(CONCURRENT_POSTS)
    pace = pace_of(deps.client)

    async def one(sub: DigestSubscription) -> bool:
        async with slots:
            try:
                return await _send(deps, sub, now, answers, pace)
            except Exception as exc:
                await _failed(deps, sub, now, exc)
                return False

    sent = 0
    # Each claim leases what it returns, so the loop ends: a digest put back for a retry is due after `now`.
    while batch := await deps.store.claim_digests(now, lease=LEASE, limit=CLAIM_BATCH):
        sent += sum(await asyncio.gather(*(one(sub) for sub in batch)))
    return sent


async def _send(deps: Deps, sub: DigestSubscription, now: datetime, answers: VendorAnswers, pace: ChannelPace) -> bool:
    digest, chart = await build_digest(deps, sub, now, answers)
    blocks_ = digest_views.digest_blocks(digest)
    text = digest_views.digest_text(digest)
    next_run = Schedule.of(sub).next_after(max(now, sub.next_run_at))
    try:
        await pace.turn(sub.channel_id)
        posted = await deps.slack_for(sub.team_id).chat_postMessage(channel=sub.channel_id, text=text, blocks=blocks_)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        wait = _retry_after(exc)
        if wait is not None:
            # Slack kept answering 429 past the client's own retries: back for when it said to come back.
            pace.hold(sub.channel_id, wait)
            assert sub.lease_until is not None
            await deps.store.retry_digest(sub.id, leased_until=sub.lease_until, at=now + timedelta(seconds=wait))
            log.info("digest %s for %s: rate limited, again in %.0f s", sub.family, sub.channel_id, wait)
            return False
        if error in _CANNOT_POST_HERE:
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
            title=f"{FAMILY_TITLES[sub.family]}: the week per day",
            alt_txt=f"Bar chart of {FAMILY_TITLES[sub.family].lower()} per day and vendor over the week",
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


def _command_of(family: str) -> str:
    return _FAMILIES[family].command if family in _FAMILIES else f"/{family}"


def _cannot_post_text(sub: DigestSubscription, error: str) -> Mrkdwn:
    return Mrkdwn(
        ":warning: Your {} digest could not be posted in {} ({}). Invite me there with `/invite @Cohost`, or stop "
        "it with {} in that channel. I will try again at its next time."
    ).format(
        FAMILY_TITLES.get(sub.family, sub.family).lower(),
        channel_link(sub.channel_id),
        error,
        code(f"{_command_of(sub.family)} digest off"),
    )


def _gave_up_text(sub: DigestSubscription, failure: str, next_run: datetime) -> Mrkdwn:
    return Mrkdwn(
        ":warning: I tried {} times over half an hour to post your {} digest in {}, and could not: {}. This one is "
        "skipped; the next comes {}. {} in that channel stops it."
    ).format(
        retries.TRIES,
        FAMILY_TITLES.get(sub.family, sub.family).lower(),
        channel_link(sub.channel_id),
        failure,
        date_token(next_run),
        code(f"{_command_of(sub.family)} digest off"),
    )


async def _tell_subscriber(deps: Deps, sub: DigestSubscription, text: Mrkdwn) -> None:
    try:
        client = deps.slack_for(sub.team_id)
        opened = await client.conversations_open(users=sub.created_by)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
    except SlackApiError as exc:
        log.warning("digest subscriber %s not told: %s", sub.created_by, exc.response.get("error"))
