"""`WHEN` of the command grammar, read as a wall-clock time in the caller's time zone.

Accepted: `2026-11-23 15:00`, `2026-11-23T15:00`, `15:00` (the next 15:00), `today 15:00`, `tomorrow 09:30`,
`in 2h`, `in 45m`, `in 1h30m`, `in 2d`.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.core.bounds import ParseError

WHEN_FORMS = "`2026-11-23 15:00`, `15:00`, `tomorrow 09:30`, `in 2h`, `in 45m`"
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_RELATIVE = re.compile(r"^in\s+((?:\d+\s*[dhm]\s*)+)$", re.IGNORECASE)
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParseError(f"`{name}` is not a time zone: use an IANA name such as Europe/London.") from None


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """An aware datetime in `tz`; never in the past."""
    text = " ".join(text.split())
    local_now = now.astimezone(tz)
    relative = _RELATIVE.match(text)
    if relative:
        delta = sum(
            (int(n) * _UNIT[unit.lower()] for n, unit in re.findall(r"(\d+)\s*([dhmDHM])", relative.group(1))),
            timedelta(),
        )
        if delta <= timedelta(0):
            raise ParseError("The time must be in the future.")
        return (local_now + delta).replace(second=0, microsecond=0)
    day_word, _, rest = text.partition(" ")
    if day_word.lower() in ("today", "tomorrow"):
        at = _clock(rest)
        day = local_now.date() + timedelta(days=1 if day_word.lower() == "tomorrow" else 0)
        result = datetime.combine(day, at, tzinfo=tz)
    elif _CLOCK.match(text):
        result = datetime.combine(local_now.date(), _clock(text), tzinfo=tz)
        if result <= local_now:
            result += timedelta(days=1)
    else:
        match = _DATE_TIME.match(text)
        if not match:
            raise ParseError(f"`{text}` is not a time I can read. Try {WHEN_FORMS}.")
        year, month, day_n, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        try:
            result = datetime(year, month, day_n, hour, minute, second, tzinfo=tz)
        except ValueError:
            raise ParseError(f"`{text}` is not a real date and time.") from None
    if result <= local_now:
        raise ParseError(f"{result:%Y-%m-%d %H:%M} ({tz.key}) is in the past.")
    return result


def _clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ParseError(f"`{text}` is not a time of day: use HH:MM, e.g. 09:30.")
    return time(int(match.group(1)), int(match.group(2)))
