"""Time, injectable: production uses the wall clock, tests drive a `FakeClock`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (NTP, DST): for intervals such as throttles and speeds."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        self._start = self._now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        """Seconds of fake time since the clock was made: `advance` moves both readings."""
        return (self._now - self._start).total_seconds()

    def advance(self, delta: timedelta) -> None:
        self._now += delta


#: The times a vendor may mean: outside them a value is unknown (an expiry in the year 50000, a negative epoch), and
#: whatever is done with a time inside them (a warning minutes before, a week added) cannot overflow.
EARLIEST_VENDOR_TIME = datetime(1970, 1, 2, tzinfo=UTC)
LATEST_VENDOR_TIME = datetime(3000, 1, 1, tzinfo=UTC)


def parse_vendor_time(value: object) -> datetime | None:
    """Epoch seconds or milliseconds (number or numeric string; below 10^11 is seconds) or ISO-8601; None for
    anything else: missing, not a time, or out of range. Never raises: a vendor's value cannot break a view."""
    try:
        parsed = _vendor_time(value)
    except (ValueError, OverflowError, OSError):
        return None
    if parsed is None or not EARLIEST_VENDOR_TIME <= parsed < LATEST_VENDOR_TIME:
        return None
    return parsed


def _vendor_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if value >= 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC)
    return None


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, round((end - start) / timedelta(minutes=1)))
