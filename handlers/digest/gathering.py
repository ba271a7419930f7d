"""What a digest says: each vendor's part, gathered once per run for every digest that asks (`RunAnswers`), a
vendor that fails named in its place, and what Cohost itself started in the channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from handlers.core.interaction import Deps
from handlers.core.own import Own, own_during
from handlers.digest import views as digest_views
from handlers.digest.chart import chart_of
from handlers.digest.schedule import PERIODS, Schedule
from handlers.digest.views import Digest, Period, VendorPart
from services import registry
from services.errors import VendorError
from services.mirotalk_switches import EndpointSwitchedOff
from services.mirrorace import FileInfo
from services.registry import COVIU, MIROTALK, MIRRORACE, MIRRORTAB, SAMESURF
from services.samesurf import AnalyticsRoom, SameSurf
from services.store import DigestSubscription, Upload
from services.vendor_values import Rows
from services.vendors import Vendors

log = logging.getLogger("cohost.digest")

T = TypeVar("T")


class RunAnswers:
    """Answers shared by every digest of one run: two hundred channels' digests ask each vendor once (a vendor
    that is down costs one time limit, not one per channel), and the store once per workspace and family."""

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
    async with contextlib.aclosing(samesurf.newest_rooms()) as pages:
        async for page in pages:
            rooms.unreadable += page.unreadable
            for room in page.rooms:
                if room.date is None or room.date >= period.end:
                    continue
                if room.date < period.start:
                    return rooms
                rooms.append(room)
    return rooms


@dataclass(frozen=True)
class _Run:
    """What a vendor's part is gathered for: one subscription's period, with the answers shared by the run, and
    the sessions its workspace had in the period (with many workspaces, the parts list those alone)."""

    deps: Deps
    sub: DigestSubscription
    period: Period
    answers: RunAnswers
    own: Own


async def _samesurf_part(run: _Run) -> list[VendorPart]:
    vendors, answers, period = run.deps.vendors, run.answers, run.period

    async def build() -> VendorPart:
        # The account's overview counts every workspace's rooms: left out with many (handlers/core/own.py).
        overview = (
            None if run.own.walled else await answers.get(("samesurf.overview",), vendors.samesurf.analytics_overview)
        )
        every_room = await answers.get(
            ("samesurf.rooms", period.start, period.end), lambda: _rooms_in(vendors.samesurf, period)
        )
        rooms = run.own.rows(SAMESURF.key, every_room, lambda room: room.room)
        return digest_views.samesurf_part(overview, rooms, rooms.unreadable)

    return [await _part("SameSurf", build)]


async def _mirrortab_part(run: _Run) -> list[VendorPart]:
    vendors, answers = run.deps.vendors, run.answers

    async def build() -> VendorPart:
        every_session = await answers.get(("mirrortab.live",), vendors.mirrortab.list_sessions)
        sessions = run.own.rows(MIRRORTAB.key, every_session, lambda session: session.session_id)
        return digest_views.mirrortab_part(sessions, sessions.unreadable)

    return [await _part("MirrorTab", build)]


async def _mirotalk_part(run: _Run) -> list[VendorPart]:
    vendors, answers = run.deps.vendors, run.answers

    async def build() -> VendorPart:
        # The server's counts are every workspace's: left out with many (handlers/core/own.py).
        stats = None if run.own.walled else await answers.get(("mirotalk.stats",), vendors.mirotalk.stats)
        try:
            every_meeting = await answers.get(("mirotalk.meetings",), vendors.mirotalk.meetings)
        except EndpointSwitchedOff as off:  # as servers ship: the part says so (beside the stats, where shown)
            return digest_views.mirotalk_part(stats, None, unlisted=off.message)
        meetings = run.own.rows(MIROTALK.key, every_meeting, lambda meeting: meeting.room)
        return digest_views.mirotalk_part(stats, meetings, meetings.unreadable)

    return [await _part("MiroTalk", build)]


async def _coviu_part(run: _Run) -> list[VendorPart]:
    coviu, answers, period = run.deps.vendors.coviu, run.answers, run.period

    async def build() -> VendorPart:
        ran = await answers.get(
            ("coviu.period", period.start, period.end), lambda: coviu.sessions_during(period.start, period.end)
        )
        # The period ends now: what is still to come starts after its end.
        to_come = await answers.get(("coviu.upcoming", period.end), lambda: coviu.upcoming_sessions(period.end))
        in_period, upcoming = (
            run.own.rows(COVIU.key, rows, lambda session: session.session_id) for rows in (ran, to_come)
        )
        return digest_views.coviu_part(in_period, upcoming, period, in_period.unreadable + upcoming.unreadable)

    return [await _part("Coviu", build)]


async def _mirrorace_part(run: _Run) -> list[VendorPart]:
    deps = run.deps
    uploads = await _uploads_in(deps, run.sub, run.period, run.answers)
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


@dataclass(frozen=True)
class _Part:
    gather: Callable[[_Run], Awaitable[list[VendorPart]]]
    #: The part has something to say while its vendor is off (the files Cohost recorded).
    while_off: bool = False


#: What a digest says of each vendor, in the order the parts come.
_PARTS: dict[str, _Part] = {
    "samesurf": _Part(_samesurf_part),
    "mirrortab": _Part(_mirrortab_part),
    "mirotalk": _Part(_mirotalk_part),
    "coviu": _Part(_coviu_part),
    "mirrorace": _Part(_mirrorace_part, while_off=True),
}


def _in_digest(vendors: Vendors, family: str) -> list[str]:
    """The vendors of the family a digest has a part of: those on, and those whose part speaks when off."""
    of_family = {v.key for v in registry.family_vendors(family)}
    return [
        key for key, part in _PARTS.items() if key in of_family and (part.while_off or not vendors.config.missing(key))
    ]


async def _uploads_in(deps: Deps, sub: DigestSubscription, period: Period, answers: RunAnswers) -> list[Upload]:
    uploads = await answers.get(
        ("uploads", sub.team_id, period.start), lambda: deps.store.uploads_since(sub.team_id, period.start)
    )
    # Only this channel's files: a digest is public, and a file mirrored elsewhere may be private there.
    return [u for u in uploads if u.channel_id == sub.channel_id and u.created_at < period.end]


async def _own_starts(
    deps: Deps, sub: DigestSubscription, period: Period, answers: RunAnswers
) -> list[tuple[str, datetime]]:
    """(vendor display name, when) of each session or file Cohost started in the channel during the period."""
    if sub.family == MIRRORACE.family:  # files, not cards
        return [(MIRRORACE.name, u.created_at) for u in await _uploads_in(deps, sub, period, answers)]
    team_cards = await answers.get(
        ("cards", sub.team_id, sub.family, period.start, period.end),
        lambda: deps.store.cards_between(sub.team_id, period.start, period.end, family=sub.family),
    )
    # Only this channel's sessions, for the same reason as the files.
    cards = [card for card in team_cards if card.channel_id == sub.channel_id]
    return [(registry.display_name(card.vendor), card.created_at) for card in cards]


async def build_digest(
    deps: Deps, sub: DigestSubscription, now: datetime, answers: RunAnswers
) -> tuple[Digest, bytes | None]:
    """The digest of one subscription as of `now`, and its chart when it is a weekly one."""
    schedule = Schedule.of(sub)
    period = Period(now - PERIODS[schedule.cadence], now, schedule.cadence, schedule.tz.key)
    team_sessions = await answers.get(
        ("own", sub.team_id, sub.family, period.start, period.end),
        lambda: own_during(deps, sub.team_id, period.start, period.end, family=sub.family),
    )
    run = _Run(deps, sub, period, answers, team_sessions)
    keys = _in_digest(deps.vendors, sub.family)
    parts = [part for key in keys for part in await _PARTS[key].gather(run)]
    starts = await _own_starts(deps, sub, period, answers)
    # Counted and charted in the order of the configuration contract.
    vendors = [v.name for v in registry.family_vendors(sub.family) if v.key in keys]
    counts = Counter(vendor for vendor, _ in starts)
    own = {vendor: counts.get(vendor, 0) for vendor in dict.fromkeys([*vendors, *counts])}
    digest = Digest(sub.family, period, parts, own)
    chart = chart_of(period, starts, vendors) if schedule.cadence == "weekly" else None
    return digest, chart
