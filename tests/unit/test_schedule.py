"""Schedule maths: a digest's next run is its wall-clock time in its zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from handlers.digest.schedule import Schedule


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # The next day at the same wall-clock time, an hour less in between (spring forward).
        (
            Schedule("daily", time(9), ZoneInfo("Europe/London")),
            datetime(2027, 3, 27, 9, 0, 1),
            datetime(2027, 3, 28, 8),
        ),
        # An hour more (fall back), New York.
        (
            Schedule("daily", time(9), ZoneInfo("America/New_York")),
            datetime(2026, 10, 31, 13, 0, 1),
            datetime(2026, 11, 1, 14),
        ),
        # 01:30 does not exist in London on 28 March 2027: it runs as if the clocks had not moved yet.
        (
            Schedule("daily", time(1, 30), ZoneInfo("Europe/London")),
            datetime(2027, 3, 27, 2),
            datetime(2027, 3, 28, 1, 30),
        ),
        # Weekly: Friday 17:30 in New York, asked on a Friday evening after it.
        (
            Schedule("weekly", time(17, 30), ZoneInfo("America/New_York"), 4),
            datetime(2026, 11, 27, 22, 30),
            datetime(2026, 12, 4, 22, 30),
        ),
    ],
)
def test_next_run_is_the_wall_clock_time_in_the_zone(schedule: Schedule, after: datetime, expected: datetime) -> None:
    assert schedule.next_after(after.replace(tzinfo=UTC)) == expected.replace(tzinfo=UTC)
