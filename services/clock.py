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


def parse_vendor_time(value: object) -> datetime | None:
    """Epoch seconds or milliseconds (number or numeric string; below 10^11 is seconds) or ISO-8601."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if value >= 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC)
    return None


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, round((end - start) / timedelta(minutes=1)))
