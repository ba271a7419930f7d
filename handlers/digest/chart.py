"""The weekly digest's chart: what was started per day of the subscriber's zone, per vendor, as PNG bytes (Pillow).

Pillow loads only where a chart is drawn (the scheduler, weekly): a web process never needs its memory.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.digest.views import Period

if TYPE_CHECKING:
    from PIL import ImageFont


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
    return sessions_chart(days, series, heading)


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


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
