"""Digests: pure rendering from gathered data to Block Kit, and the weekly chart as PNG bytes.

A digest is a header with its family and period, one part per vendor (or a named warning where the vendor
failed: the other parts still go out), and what Cohost itself started in the channel. Lists are lines in one
section each, so a digest stays far below Slack's 50 blocks whatever the vendors answer.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from handlers import cobrowse_views, meeting_views, upload_views
from handlers.blocks import Block, context, date_token, divider, escape, fields_section, header, section
from services.clock import minutes_between
from services.coviu import Session
from services.mirotalk import Meeting, Stats
from services.mirrorace import FileInfo
from services.mirrortab import MirrorTabSession
from services.samesurf import AnalyticsRoom, Overview
from services.store import Upload

if TYPE_CHECKING:
    from PIL import ImageFont

Cadence = Literal["daily", "weekly"]
FAMILY_TITLES = {"cobrowse": "Co-browsing", "meeting": "Meetings", "upload": "Uploads"}
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


@dataclass(frozen=True)
class Digest:
    family: str
    period: Period
    parts: Sequence[VendorPart]
    #: Sessions (or files) started through Cohost in the channel during the period, per vendor display name.
    own_counts: Mapping[str, int] = field(default_factory=dict)


def _lines(lines: Sequence[str], empty: str) -> list[Block]:
    if not lines:
        return [context(empty)]
    shown = "\n".join(lines[:MAX_LINES])
    more = [context(f"… and {len(lines) - MAX_LINES} more.")] if len(lines) > MAX_LINES else []
    return [section(shown), *more]


# -- vendor parts ---------------------------------------------------------------------------------------------


def failed_part(vendor: str, message: str) -> VendorPart:
    return VendorPart(vendor, error=message)


def samesurf_part(overview: Overview, rooms: Sequence[AnalyticsRoom]) -> VendorPart:
    out = cobrowse_views.overview_blocks(overview, all_time=False)
    out.append(section(f"*Rooms in this period* ({len(rooms)})"))
    lines = [
        f"{escape(room.title or 'Untitled')} `{room.room}` · {date_token(room.date) if room.date else 'no date'}"
        f" · {round(room.duration / 60)} min"
        for room in rooms
    ]
    out.extend(_lines(lines, "No rooms in this period."))
    return VendorPart("SameSurf", out)


def mirrortab_part(sessions: Sequence[MirrorTabSession]) -> VendorPart:
    # No join link or code: a digest may go to a channel other than the one where the session was shared.
    lines = [
        f"{escape(s.session_name or 'Co-browsing session')} `{s.session_id}`"
        + (f" · until {date_token(s.kill_time)}" if s.kill_time else "")
        for s in sessions
    ]
    return VendorPart("MirrorTab", [section(f"*Live sessions now* ({len(sessions)})"), *_lines(lines, "None.")])


def mirotalk_part(stats: Stats, meetings: Sequence[Meeting] | None, *, unlisted: str = "") -> VendorPart:
    """`meetings` None: the server does not list them (`unlisted` says why)."""
    out: list[Block] = [
        fields_section([("Rooms now", str(stats.total_rooms)), ("People now", str(stats.total_users))]),
    ]
    if meetings is None:
        out.append(context(f"{escape(unlisted.rstrip('.'))}."))
        return VendorPart("MiroTalk", out)
    out.append(section(f"*Live meetings* ({len(meetings)})"))
    rows = meeting_views.mirotalk_rows(meetings)
    out.extend(_lines([f"`{escape(row.vendor_id)}` · {escape(row.detail or '')}" for row in rows], "None."))
    return VendorPart("MiroTalk", out)


def coviu_part(in_period: Sequence[Session], upcoming: Sequence[Session], period: Period) -> VendorPart:
    """Sessions that ran in the period (their minutes within it) and those still to come."""
    minutes = sum(
        minutes_between(max(s.start_time, period.start), min(s.end_time, period.end))
        for s in in_period
        if s.start_time < period.end
    )
    out: list[Block] = [
        fields_section(
            [
                ("Sessions in this period", str(len(in_period))),
                ("Minutes", str(minutes)),
                ("Upcoming", str(len(upcoming))),
            ]
        )
    ]
    lines = [
        f"{escape(s.session_name or meeting_views.DEFAULT_NAME)} `{s.session_id}` · {date_token(s.start_time)}"
        for s in sorted(upcoming, key=lambda s: s.start_time)
    ]
    if lines:
        out.extend([section("*Next up*"), *_lines(lines, "")])
    return VendorPart("Coviu", out)


def mirrorace_part(uploads: Sequence[Upload], status: Mapping[str, FileInfo] | None) -> VendorPart:
    """The files mirrored in the period with what MirrorAce says of each now; `status` None: it could not say
    (then the files are listed all the same)."""
    removed = [u for u in uploads if status is not None and u.slug in status and status[u.slug].removed]

    def line(upload: Upload) -> str:
        text = f"{escape(upload.name)} `{upload.slug}` · {upload_views.human_size(upload.size)}"
        info = status.get(upload.slug) if status is not None else None
        if info is None:
            return text
        if info.removed:
            return f":no_entry: {text} · *{escape(info.status)}*"
        if info.status != "active":
            return f":grey_question: {text} · {escape(info.status)}"
        return text

    summary = f"*Files mirrored in this period* ({len(uploads)})"
    if removed:
        summary += f" · :no_entry: {len(removed)} removed"
    return VendorPart("MirrorAce", [section(summary), *_lines([line(u) for u in uploads], "None.")])


# -- the message ----------------------------------------------------------------------------------------------


def title(d: Digest) -> str:
    return f"{FAMILY_TITLES.get(d.family, d.family)} digest · {d.period.cadence}"


def digest_blocks(d: Digest) -> list[Block]:
    out: list[Block] = [
        header(title(d)),
        context(f"From {date_token(d.period.start)} to {date_token(d.period.end)}"),
    ]
    for part in d.parts:
        out.append(divider())
        if part.error is not None:
            out.append(section(f":warning: *{part.vendor}* is missing from this digest: {escape(part.error)}"))
            continue
        out.append(section(f"*{part.vendor}*"))
        out.extend(part.blocks)
    if d.own_counts:
        counts = " · ".join(f"{vendor} {count}" for vendor, count in d.own_counts.items())
        out.extend([divider(), context(f"Started through Cohost in this channel in this period: {counts}")])
    if len(out) > MAX_BLOCKS:  # the parts' own limits keep far below; this only guards a future part
        out = [*out[: MAX_BLOCKS - 1], context("(shortened to fit one message)")]
    return out


def digest_text(d: Digest) -> str:
    """The notification's text: the title, and any vendor that is missing."""
    failed = [part.vendor for part in d.parts if part.error is not None]
    missing = f" (missing: {', '.join(failed)})" if failed else ""
    return f"{title(d)}{missing}"


def with_note(blocks: Sequence[Block], note: str) -> list[Block]:
    """A digest already posted, with a line added (the weekly chart could not follow it)."""
    return [*blocks, context(note)][:MAX_BLOCKS]


# -- the weekly chart -----------------------------------------------------------------------------------------

_SIZE = (900, 420)
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 56, 24, 64, 56
_COLOURS = ((54, 123, 211), (236, 138, 46), (76, 170, 98), (196, 72, 96))
_INK, _GRID, _MUTED = (29, 28, 29), (221, 221, 221), (97, 96, 97)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def sessions_chart(days: Sequence[date], series: Mapping[str, Sequence[int]], heading: str) -> bytes:
    """A bar chart as PNG bytes: per day, one bar per vendor (`series[vendor][i]` is its count on `days[i]`)."""
    # Pillow loads only where a chart is drawn (the scheduler, weekly): a web process never needs its memory.
    from PIL import Image, ImageDraw

    image = Image.new("RGB", _SIZE, "white")
    draw = ImageDraw.Draw(image)
    width, height = _SIZE
    left, right, top, bottom = _MARGIN_LEFT, width - _MARGIN_RIGHT, _MARGIN_TOP, height - _MARGIN_BOTTOM
    draw.text((left, 16), heading, fill=_INK, font=_font(18))
    highest = max((count for counts in series.values() for count in counts), default=0)
    # Whole-number gridlines, at most five of them, with the top one at or above the highest bar.
    step = max(1, -(-highest // 5))
    ceiling = max(step * 5 if highest > 5 else max(highest, 1), 1)
    small = _font(12)
    for value in range(0, ceiling + 1, step):
        y = bottom - (bottom - top) * value / ceiling
        draw.line((left, y, right, y), fill=_GRID)
        draw.text((left - 8, y), str(value), fill=_MUTED, font=small, anchor="rm")
    vendors = list(series)
    slot = (right - left) / max(len(days), 1)
    bar = slot * 0.7 / max(len(vendors), 1)
    for i, day in enumerate(days):
        x0 = left + slot * i + slot * 0.15
        for v, vendor in enumerate(vendors):
            count = series[vendor][i] if i < len(series[vendor]) else 0
            if count:
                y = bottom - (bottom - top) * count / ceiling
                draw.rectangle((x0 + bar * v, y, x0 + bar * (v + 1) - 2, bottom), fill=_COLOURS[v % len(_COLOURS)])
        draw.text((left + slot * (i + 0.5), bottom + 8), f"{day:%a %d}", fill=_INK, font=small, anchor="mt")
    draw.line((left, bottom, right, bottom), fill=_INK)
    legend_x = float(right)
    for v, vendor in reversed(list(enumerate(vendors))):
        label_width = draw.textlength(vendor, font=small)
        legend_x -= label_width + 26
        draw.rectangle((legend_x, 22, legend_x + 12, 34), fill=_COLOURS[v % len(_COLOURS)])
        draw.text((legend_x + 16, 28), vendor, fill=_INK, font=small, anchor="lm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
