"""The store on its own, on SQLite and PostgreSQL: every lookup takes the team (workspaces are walls, as
tests/e2e/test_workspaces.py shows through the bot), and request keys claimed once, however many arrive at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.world import sqlite_url
from services.store import JobKind, NewCard, NewDigest, NewUpload, Store
from tests.conftest import ANN, BOB, CHANNEL

#: Another Slack workspace than the one the rows are made for.
ELSEWHERE = "T0ELSEWHERE"


# -- the store: every lookup takes the team ------------------------------------------------------------------------


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = Store(database_url)
    await opened.migrate()
    yield opened
    await opened.close()


def a_card(team: str, vendor: str, vendor_id: str, at: datetime) -> NewCard:
    return NewCard(
        team_id=team,
        channel_id=CHANNEL,
        family="meeting" if vendor == "coviu" else "cobrowse",
        vendor=vendor,
        vendor_id=vendor_id,
        name=f"{team}'s",
        creator_id=ANN,
        created_at=at,
        expires_at=at + timedelta(minutes=30),
    )


async def test_cards_and_their_jobs_are_found_only_by_their_own_team(store: Store) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    home, away = "T0HOME", ELSEWHERE
    ours = await store.add_card(a_card(home, "mirrortab", "s-1", now))
    theirs = await store.add_card(a_card(away, "mirrortab", "s-1", now))  # the vendor account may be shared
    assert (await store.find_card(home, "mirrortab", "s-1")).id == ours.id  # type: ignore[union-attr]
    assert (await store.find_card(away, "mirrortab", "s-1")).id == theirs.id  # type: ignore[union-attr]
    assert await store.find_card("T0THIRD", "mirrortab", "s-1") is None
    assert await store.get_card(home, theirs.id) is None and await store.get_card(away, theirs.id) is not None
    assert [c.id for c in await store.active_cards(team_id=home)] == [ours.id]
    assert {c.id for c in await store.active_cards()} == {ours.id, theirs.id}  # reconciliation sees every team
    between = await store.cards_between(home, now, now + timedelta(minutes=1), family="cobrowse")
    assert [c.id for c in between] == [ours.id]
    for card in (ours, theirs):
        await store.plan_jobs(card, [(JobKind.EXPIRE, now)])
    claimed = await store.claim_jobs(now, lease=timedelta(seconds=60))
    # Each job carries its card's team, so the scheduler acts in (and, later, with the token of) that workspace.
    assert {(job.card_id, job.team_id) for job in claimed} == {(ours.id, home), (theirs.id, away)}


async def test_a_teams_sessions_of_a_period_are_those_alive_in_it_ended_ones_too(store: Store) -> None:
    start = datetime(2026, 11, 22, 12, tzinfo=UTC)
    end = start + timedelta(days=1)
    home, away = "T0HOME", ELSEWHERE
    ended_before = await store.add_card(a_card(home, "mirrortab", "gone", start - timedelta(hours=3)))
    await store.finish_end(ended_before.id, by=ANN, at=start - timedelta(minutes=1))
    ended_within = await store.add_card(a_card(home, "coviu", "ran", start - timedelta(hours=1)))
    await store.finish_end(ended_within.id, by=None, at=start + timedelta(hours=1))
    await store.add_card(a_card(home, "samesurf", "room-old", start - timedelta(days=30)))  # still active
    await store.add_card(a_card(home, "mirrortab", "now", end))
    await store.add_card(a_card(home, "mirrortab", "later", end + timedelta(seconds=1)))
    await store.add_card(a_card(away, "mirrortab", "theirs", start + timedelta(hours=2)))

    alive = await store.session_ids_during(home, start, end)
    assert alive == {("coviu", "ran"), ("samesurf", "room-old"), ("mirrortab", "now")}
    assert await store.session_ids_during(home, start, end, family="meeting") == {("coviu", "ran")}
    assert await store.carded_ids(home, "mirrortab", ["gone", "theirs", "later", "unknown"]) == {"gone", "later"}
    assert await store.carded_ids(home, "mirrortab", []) == set()


async def test_guests_uploads_digests_and_keys_are_each_teams_own(store: Store) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    home, away = "T0HOME", ELSEWHERE
    assert await store.add_guest(home, "coviu", "cv-1", ANN, "p-home", now) == "p-home"
    assert await store.add_guest(away, "coviu", "cv-1", ANN, "p-away", now) == "p-away"  # no clash with ours
    assert await store.guests(home, "coviu", "cv-1") == [(ANN, "p-home")]
    await store.forget_guest(away, "coviu", "p-home")  # not theirs to forget
    assert await store.guest(home, "coviu", "cv-1", ANN) == "p-home"

    for team in (home, away):
        await store.add_upload(NewUpload(team, CHANNEL, BOB, "url", f"{team}.pdf", 1, f"slug-{team}", "u", now))
    assert [u.name for u in await store.uploads_since(home, now - timedelta(days=1))] == ["T0HOME.pdf"]

    for team in (home, away):
        await store.set_digest(NewDigest(team, CHANNEL, "cobrowse", "daily", None, "09:00", "UTC", team, now))
    assert (await store.digest(away, CHANNEL, "cobrowse")).created_by == away  # type: ignore[union-attr]
    assert await store.remove_digest(away, CHANNEL, "cobrowse")
    assert (await store.digest(home, CHANNEL, "cobrowse")).created_by == home  # type: ignore[union-attr]
    assert not await store.remove_digest(away, CHANNEL, "cobrowse")

    # The same key from two teams in one group-committed batch: each team's first claim wins.
    claims = [(home, "command:1.2.3"), (away, "command:1.2.3"), (home, "command:1.2.3")]
    assert await asyncio.gather(*(store.claim_request(t, k, now) for t, k in claims)) == [True, True, False]
    assert not await store.claim_request(away, "command:1.2.3", now)


# -- handled request keys ------------------------------------------------------------------------------------------


async def test_a_persons_home_lists_are_their_own_live_or_upcoming_cards_of_their_team(store: Store) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    live = await store.add_card(a_card("T0HOME", "mirrortab", "s-live", now))
    later = a_card("T0HOME", "coviu", "s-later", now)
    upcoming = await store.add_card(NewCard(**{**later.__dict__, "starts_at": now + timedelta(hours=2)}))
    ended = await store.add_card(a_card("T0HOME", "mirrortab", "s-ended", now))
    await store.finish_end(ended.id, by=ANN, at=now)
    await store.add_card(NewCard(**{**a_card("T0HOME", "mirrortab", "s-bob", now).__dict__, "creator_id": BOB}))
    await store.add_card(a_card(ELSEWHERE, "mirrortab", "s-away", now))
    for _ in range(3):
        await store.add_card(a_card("T0HOME", "mirrortab", "s-more", now))

    on_now = await store.person_cards("T0HOME", ANN, now, upcoming=False, limit=10)
    assert [c.vendor_id for c in on_now] == ["s-live", "s-more", "s-more", "s-more"]
    assert [c.id for c in await store.person_cards("T0HOME", ANN, now, upcoming=True, limit=10)] == [upcoming.id]
    assert [c.id for c in await store.person_cards("T0HOME", ANN, now, upcoming=False, limit=1)] == [live.id]
    # Once its start has come, a scheduled one is on now.
    started = await store.person_cards("T0HOME", ANN, now + timedelta(hours=2), upcoming=False, limit=10)
    assert upcoming.id in {c.id for c in started}


async def test_a_teams_digests_are_listed_next_due_first_and_only_its_own(store: Store) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for channel, hours in (("C0LATER", 5), ("C0SOON", 1)):
        await store.set_digest(
            NewDigest("T0HOME", channel, "cobrowse", "daily", None, "09:00", "UTC", ANN, now + timedelta(hours=hours))
        )
    await store.set_digest(NewDigest(ELSEWHERE, "C0AWAY", "cobrowse", "daily", None, "09:00", "UTC", ANN, now))
    assert [d.channel_id for d in await store.team_digests("T0HOME")] == ["C0SOON", "C0LATER"]
    assert [d.channel_id for d in await store.team_digests("T0HOME", limit=1)] == ["C0SOON"]


async def test_concurrent_claims_of_one_key_win_once(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "claims.db"))
    await store.migrate()
    now = datetime.now(UTC)
    keys = [f"command:{i % 50}" for i in range(400)]
    results = await asyncio.gather(*(store.claim_request("T0ONE", key, now) for key in keys))
    assert sum(results) == 50
    assert {k for k, won in zip(keys, results, strict=True) if won} == set(keys)
    assert not any(await asyncio.gather(*(store.claim_request("T0ONE", key, now) for key in set(keys))))
    await store.close()


async def test_old_request_keys_are_pruned_and_recent_ones_kept(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "prune.db"))
    await store.migrate()
    old, recent = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    assert await store.claim_request("T0ONE", "old", old)
    assert await store.claim_request("T0ONE", "recent", recent)
    assert await store.prune_requests(datetime(2026, 11, 22, tzinfo=UTC)) == 1
    assert await store.claim_request("T0ONE", "old", recent)  # forgotten, so it counts as new again
    assert not await store.claim_request("T0ONE", "recent", recent)
    await store.close()
