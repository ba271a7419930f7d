"""The card plan (`handlers.core.cards.plan`): when the scheduler acts on a card. A warning `lead` before its session
expires, the expiry itself, and a reminder `lead` before a scheduled start; a warning or reminder that would
come as soon as the card is up is left out, since the card itself says as much."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.core.cards import plan
from services.store import Card, JobKind

POSTED = datetime(2026, 11, 23, 12, tzinfo=UTC)
LEAD = timedelta(minutes=5)


def card(*, minutes: float | None = None, starts_in: float | None = None) -> Card:
    """A card posted at POSTED, its session expiring `minutes` later (or starting `starts_in` minutes later and
    running `minutes` from then)."""
    starts_at = POSTED + timedelta(minutes=starts_in) if starts_in is not None else None
    expires_at = (starts_at or POSTED) + timedelta(minutes=minutes) if minutes is not None else None
    return Card(created_at=POSTED, starts_at=starts_at, expires_at=expires_at)


def test_a_session_with_an_end_is_warned_lead_minutes_before_and_expired_at_its_end() -> None:
    assert plan(card(minutes=30), LEAD) == [
        (JobKind.WARN, POSTED + timedelta(minutes=25)),
        (JobKind.EXPIRE, POSTED + timedelta(minutes=30)),
    ]


def test_a_session_shorter_than_the_lead_gets_no_warning_only_its_expiry() -> None:
    for minutes in (5, 3):
        assert plan(card(minutes=minutes), LEAD) == [(JobKind.EXPIRE, POSTED + timedelta(minutes=minutes))]


def test_no_warnings_when_the_lead_is_zero() -> None:
    assert plan(card(minutes=30), timedelta(0)) == [(JobKind.EXPIRE, POSTED + timedelta(minutes=30))]


def test_a_session_with_no_end_known_gets_no_jobs() -> None:
    assert plan(card(), LEAD) == []


def test_a_scheduled_session_is_reminded_lead_minutes_before_it_starts_and_warned_before_it_ends() -> None:
    starts = POSTED + timedelta(hours=2)
    assert sorted(plan(card(starts_in=120, minutes=60), LEAD)) == sorted(
        [
            (JobKind.REMIND, starts - LEAD),
            (JobKind.WARN, starts + timedelta(minutes=55)),
            (JobKind.EXPIRE, starts + timedelta(minutes=60)),
        ]
    )


def test_a_session_starting_within_the_lead_gets_no_reminder() -> None:
    assert [kind for kind, _ in plan(card(starts_in=4), LEAD)] == []
    assert [kind for kind, _ in plan(card(starts_in=6), LEAD)] == [JobKind.REMIND]
