"""Digests: pure rendering from gathered data to Block Kit (the weekly chart is drawn in `chart`).

A digest is a header with its family and period, one part per vendor (or a named warning where the vendor
failed: the other parts still go out), and what Cohost itself started in the channel. Lists are lines in one
section each, so a digest stays far below Slack's 50 blocks whatever the vendors answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from handlers.cobrowse import views as cobrowse_views
from handlers.core import blocks
from handlers.core.blocks import Block, Mrkdwn
from handlers.core.own import shared_account_note
from handlers.digest.schedule import Cadence
from handlers.meeting import views as meeting_views
from services.clock import minutes_between
from services.coviu import Session
from services.mirotalk import Meeting, Stats
from services.mirrorace import FileInfo
from services.mirrortab import MirrorTabSession
from services.phrases import human_size
from services.registry import family_title
from services.samesurf import AnalyticsRoom, Overview
from services.store import Upload

#: Lines of one list (rooms, sessions, files): a section's text holds 3000 characters, a line up to ~150.
MAX_LINES = 15
#: Slack's limit of blocks in a message.
MAX_BLOCKS = 50


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    cadence: Cadence
    #: The subscription's zone: the chart's days are its days.
    tz: str


@dataclass(frozen=True)
class VendorPart:
    """One vendor's share of a digest: its blocks, or what went wrong (then the part is a named warning)."""

    vendor: str
    blocks: Sequence[Block] = ()
    error: str | None = None
    #: Rows the vendor sent that could not be read, named in a note under the part.
    unreadable: int = 0


@dataclass(frozen=True)
class Digest:
    family: str
    period: Period
    parts: Sequence[VendorPart]
    #: Sessions (or files) started through Cohost in the channel during the period, per vendor display name.
    own_counts: Mapping[str, int] = field(default_factory=dict)


def _lines(lines: Sequence[Mrkdwn], empty: str) -> list[Block]:
    if not lines:
        return [blocks.context(Mrkdwn("{}").format(empty))] if empty else []
    shown = Mrkdwn("\n").join(lines[:MAX_LINES])
    more = [blocks.context(Mrkdwn("… and {} more.").format(len(lines) - MAX_LINES))] if len(lines) > MAX_LINES else []
    return [blocks.section(shown), *more]


# -- vendor parts ---------------------------------------------------------------------------------------------


def failed_part(vendor: str, message: str) -> VendorPart:
    return VendorPart(vendor, error=message)


def samesurf_part(overview: Overview | None, rooms: Sequence[AnalyticsRoom], unreadable: int = 0) -> VendorPart:
    """`overview` None: the account is shared between workspaces, and its overview left out."""
    out = (
        cobrowse_views.overview_blocks(overview, all_time=False)
        if overview is not None
        else [shared_account_note("SameSurf")]
    )
    out.append(blocks.section(Mrkdwn("*Rooms in this period* ({})").format(len(rooms))))
    lines = [
        Mrkdwn("{} {} · {} · {}").format(
            room.title or "Untitled",
            blocks.code(room.room),
            blocks.date_token(room.date) if room.date else "no date",
            f"{round(room.duration / 60)} min" if room.duration is not None else "unknown length",
        )
        for room in rooms
    ]
    out.extend(_lines(lines, "No rooms in this period."))
    return VendorPart("SameSurf", out, unreadable=unreadable)


def mirrortab_part(sessions: Sequence[MirrorTabSession], unreadable: int = 0) -> VendorPart:
    # No join link or code: a digest may go to a channel other than the one where the session was shared.
    lines = [
        Mrkdwn("{} {} · until {}").format(
            s.session_name or "Co-browsing session", blocks.code(s.session_id), blocks.when_text(s.kill_time)
        )
        for s in sessions
    ]
    header_line = blocks.section(Mrkdwn("*Live sessions now* ({})").format(len(sessions)))
    return VendorPart("MirrorTab", [header_line, *_lines(lines, "None.")], unreadable=unreadable)


def mirotalk_part(
    stats: Stats | None, meetings: Sequence[Meeting] | None, unreadable: int = 0, *, unlisted: str = ""
) -> VendorPart:
    """`meetings` None: the server does not list them (`unlisted` says why). `stats` None: the server is shared
    between workspaces, and its counts left out."""
    out: list[Block] = [meeting_views.counts_section(stats) if stats is not None else shared_account_note("MiroTalk")]
    if meetings is None:
        out.append(blocks.context(Mrkdwn("{}.").format(unlisted.rstrip("."))))
        return VendorPart("MiroTalk", out)
    out.append(blocks.section(Mrkdwn("*Live meetings* ({})").format(len(meetings))))
    rows = meeting_views.mirotalk_rows(meetings)
    out.extend(
        _lines([Mrkdwn("{} · {}").format(blocks.code(row.vendor_id), row.detail or "") for row in rows], "None.")
    )
    return VendorPart("MiroTalk", out, unreadable=unreadable)


def coviu_part(
    in_period: Sequence[Session], upcoming: Sequence[Session], period: Period, unreadable: int = 0
) -> VendorPart:
    """Sessions that ran in the period (their minutes within it) and those still to come. A session whose times
    Coviu did not give counts as a session, without minutes."""
    minutes = sum(
        minutes_between(max(s.start_time, period.start), min(s.end_time, period.end))
        for s in in_period
        if s.start_time is not None and s.end_time is not None and s.start_time < period.end
    )
    out: list[Block] = [
        blocks.fields_section(
            [
                ("Sessions in this period", Mrkdwn("{}").format(len(in_period))),
                ("Minutes", Mrkdwn("{}").format(minutes)),
                ("Upcoming", Mrkdwn("{}").format(len(upcoming))),
            ]
        )
    ]
    soonest_first = sorted(upcoming, key=lambda s: (s.start_time is None, s.start_time or period.end))
    lines = [
        Mrkdwn("{} {} · {}").format(
            s.session_name or meeting_views.DEFAULT_NAME, blocks.code(s.session_id), blocks.when_text(s.start_time)
        )
        for s in soonest_first
    ]
    if lines:
        out.extend([blocks.section(Mrkdwn("*Next up*")), *_lines(lines, "")])
    return VendorPart("Coviu", out, unreadable=unreadable)


def mirrorace_part(uploads: Sequence[Upload], status: Mapping[str, FileInfo] | None) -> VendorPart:
    """The files mirrored in the period with what MirrorAce says of each now; `status` None: it could not say
    (then the files are listed all the same)."""
    removed = [u for u in uploads if status is not None and u.slug in status and status[u.slug].removed]

    def line(upload: Upload) -> Mrkdwn:
        text = Mrkdwn("{} {} · {}").format(upload.name, blocks.code(upload.slug), human_size(upload.size))
        info = status.get(upload.slug) if status is not None else None
        if info is None:
            return text
        if info.removed:
            return Mrkdwn(":no_entry: {} · *{}*").format(text, info.status)
        if info.status != "active":
            return Mrkdwn(":grey_question: {} · {}").format(text, info.status)
        return text

    summary = Mrkdwn("*Files mirrored in this period* ({})").format(len(uploads))
    if removed:
        summary += Mrkdwn(" · :no_entry: {} removed").format(len(removed))
    return VendorPart("MirrorAce", [blocks.section(summary), *_lines([line(u) for u in uploads], "None.")])


# -- the message ----------------------------------------------------------------------------------------------


def title(d: Digest) -> str:
    return f"{family_title(d.family)} digest · {d.period.cadence}"


def digest_blocks(d: Digest) -> list[Block]:
    out: list[Block] = [
        blocks.header(title(d)),
        blocks.context(
            Mrkdwn("From {} to {}").format(blocks.date_token(d.period.start), blocks.date_token(d.period.end))
        ),
    ]
    for part in d.parts:
        out.append(blocks.divider())
        if part.error is not None:
            out.append(
                blocks.section(Mrkdwn(":warning: *{}* is missing from this digest: {}").format(part.vendor, part.error))
            )
            continue
        out.append(blocks.section(Mrkdwn("*{}*").format(part.vendor)))
        out.extend(part.blocks)
        if part.unreadable:
            out.append(blocks.context(blocks.unreadable_note(part.unreadable, part.vendor)))
    if d.own_counts:
        counts = " · ".join(f"{vendor} {count}" for vendor, count in d.own_counts.items())
        out.extend(
            [
                blocks.divider(),
                blocks.context(Mrkdwn("Started through Cohost in this channel in this period: {}").format(counts)),
            ]
        )
    if len(out) > MAX_BLOCKS:  # the parts' own limits keep far below; this only guards a future part
        out = [*out[: MAX_BLOCKS - 1], blocks.context(Mrkdwn("(shortened to fit one message)"))]
    return out


def digest_text(d: Digest) -> Mrkdwn:
    """The notification's text: the title, and any vendor that is missing."""
    failed = [part.vendor for part in d.parts if part.error is not None]
    missing = f" (missing: {', '.join(failed)})" if failed else ""
    return Mrkdwn("{}{}").format(title(d), missing)


def with_note(posted: Sequence[Block], note: Mrkdwn) -> list[Block]:
    """A digest already posted, with a line added (the weekly chart could not follow it)."""
    return [*posted, blocks.context(note)][:MAX_BLOCKS]
