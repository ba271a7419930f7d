"""When a digest runs: a wall-clock HH:MM in the subscriber's zone, daily or on a weekday, so a daily 09:00 stays
at 09:00 local time across DST changes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from handlers.core.bounds import ParseError
from services.store import DigestSubscription

log = logging.getLogger("cohost.digest")

T = TypeVar("T")


Cadence = Literal["daily", "weekly"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


PERIODS: dict[Cadence, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


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
