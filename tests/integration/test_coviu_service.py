"""Coviu's client against its simulator: the token's life (grant, half-life refresh shared by concurrent
callers, a new grant when refresh is refused, one retry after a 401) and every session and participant call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.coviu import CoviuSim
from services.client_credentials import TokenSource
from services.coviu import Coviu, NewParticipant, Session
from services.errors import VendorAuthError, VendorBadRequest, VendorNotFound
from services.http import HttpPool, VendorHttp


class Clock:
    """Seconds, for both the client's token ages and the simulator's token expiries."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[CoviuSim]:
    server = CoviuSim(clock=clock)
    await server.start()
    yield server
    await server.stop()


def client(sim: CoviuSim, pool: HttpPool, clock: Clock, *, secret: str | None = None) -> Coviu:
    http = VendorHttp(vendor="Coviu", base_url=sim.url, pool=pool, timeout_s=5, backoff_s=0.01)
    tokens = TokenSource(http, sim.api_key, sim.api_secret if secret is None else secret, clock=clock)
    return Coviu(http, tokens)


def at(sim: CoviuSim, minutes: float) -> datetime:
    return sim.now() + timedelta(minutes=minutes)


async def test_the_token_is_granted_once_and_refreshed_at_half_life(
    sim: CoviuSim, pool: HttpPool, clock: Clock
) -> None:
    sim.token_lifetime_s = 600
    coviu = client(sim, pool, clock)
    await coviu.all_sessions()
    await coviu.all_sessions()
    assert (sim.grants, sim.refreshes) == (1, 0)
    clock.now += 301  # past half of its life: refreshed before it can expire mid-use
    await coviu.all_sessions()
    assert (sim.grants, sim.refreshes) == (1, 1)
    assert (
        sim.calls_to("/auth/token")[0].headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
    )


async def test_concurrent_callers_share_one_refresh(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    await coviu.all_sessions()
    clock.now += 3000
    sim.faults.set_latency("/auth/token", 0.2)  # a slow token endpoint: everyone arrives while it is pending
    await asyncio.gather(*(coviu.all_sessions() for _ in range(20)))
    assert (sim.grants, sim.refreshes) == (1, 1)


async def test_a_refused_refresh_falls_back_to_a_new_grant(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    await coviu.all_sessions()
    clock.now += 3000
    sim.refuse_refresh = True
    await coviu.all_sessions()
    assert (sim.grants, sim.refreshes) == (2, 0)


async def test_a_token_that_dies_mid_use_is_replaced_and_the_call_retried_once(
    sim: CoviuSim, pool: HttpPool, clock: Clock
) -> None:
    coviu = client(sim, pool, clock)
    session = await coviu.create_session(start=at(sim, 5), end=at(sim, 65), name="Checkup")
    sim.revoke_tokens()
    assert (await coviu.get_session(session.session_id)).session_name == "Checkup"
    assert sim.grants == 2
    assert len(sim.calls_to(f"/sessions/{session.session_id}")) == 2


async def test_wrong_credentials_are_an_auth_error(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    with pytest.raises(VendorAuthError):
        await client(sim, pool, clock, secret="wrong").all_sessions()


async def test_sessions_and_participants_end_to_end(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    session = await coviu.create_session(
        start=at(sim, 1),
        end=at(sim, 61),
        name="Consult",
        participants=[NewParticipant("Dr Ann", "host"), NewParticipant("Bob", "guest")],
        feature_flags=["recording"],
    )
    sent = sim.calls_to("/sessions")[0].json()
    assert sent["start_time"].endswith("Z") and sent["participants"][0] == {"display_name": "Dr Ann", "role": "host"}
    roles = {p.display_name: p.role for p in session.participants}
    assert roles == {"Dr Ann": "host", "Bob": "guest"}  # answered HOST / GUEST, read in any case
    assert len({p.entry_url for p in session.participants}) == 2  # one link per person
    carol = await coviu.add_participant(session.session_id, NewParticipant("Carol"))
    assert (await coviu.get_participant(carol.participant_id)).display_name == "Carol"
    assert (await coviu.update_participant(carol.participant_id, role="host")).role == "host"
    await coviu.cancel_participant(carol.participant_id)
    assert {p.display_name for p in await coviu.participants(session.session_id)} == {"Dr Ann", "Bob"}
    renamed = await coviu.update_session(session.session_id, name="Consult 2", start=at(sim, 2))
    assert renamed.session_name == "Consult 2"
    await coviu.cancel_session(session.session_id)  # not started yet: cancelled
    assert session.session_id not in {s.session_id for s in await coviu.all_sessions()}


async def test_a_running_session_is_ended_not_cancelled(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    session = await coviu.create_session(start=at(sim, 1), end=at(sim, 61))
    clock.now += 120  # it has started
    with pytest.raises(VendorBadRequest, match="end a running one"):
        await coviu.cancel_session(session.session_id)
    ended = await coviu.end_session(session.session_id, sim.now())
    assert ended.end_time == sim.now()
    clock.now += 60
    with pytest.raises(VendorBadRequest, match="finished session cannot be changed"):
        await coviu.update_session(session.session_id, name="Too late")


async def test_the_vendors_rules_come_back_in_its_words(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    with pytest.raises(VendorBadRequest, match="start_time must be in the future"):
        await coviu.create_session(start=at(sim, -1), end=at(sim, 30))
    with pytest.raises(VendorBadRequest, match="end_time must be after start_time"):
        await coviu.create_session(start=at(sim, 30), end=at(sim, 10))
    with pytest.raises(VendorNotFound):
        await coviu.get_session("nope")


async def test_every_page_is_read(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    coviu = client(sim, pool, clock)
    for n in range(5):
        await coviu.create_session(start=at(sim, 10 + n), end=at(sim, 70), name=f"S{n}")
    sessions: list[Session] = []
    page, more = 0, True
    while more:
        batch, more = await coviu.sessions_page(page=page, page_size=2)
        sessions += batch
        page += 1
    assert [s.session_name for s in sessions] == [f"S{n}" for n in range(5)] and page == 3
    assert len(await coviu.all_sessions()) == 5
    first_start = sessions[0].start_time
    assert first_start is not None and datetime.now(UTC) < first_start  # read back as aware UTC times


# -- which sessions are running or upcoming: by their times, never by `state` ----------------------------------------


def seed_every_kind(sim: CoviuSim) -> dict[str, str]:
    """One session of each kind, their participants in free-form states that name other kinds on purpose."""
    now = sim.now()
    return {
        "long": sim.seed_session(
            "Long", now - timedelta(days=6), now + timedelta(hours=20), participant_states=("finished",)
        ),
        "running": sim.seed_session(
            "Running", now - timedelta(minutes=10), now + timedelta(minutes=20), participant_states=("upcoming", "")
        ),
        "upcoming": sim.seed_session(
            "Upcoming", now + timedelta(hours=3), now + timedelta(hours=4), participant_states=("waiting-room",)
        ),
        "finished": sim.seed_session(
            "Finished", now - timedelta(hours=2), now - timedelta(hours=1), participant_states=("running",)
        ),
        "ended-now": sim.seed_session("Ended now", now - timedelta(hours=1), now, participant_states=("running",)),
        "canceled": sim.seed_session(
            "Canceled",
            now + timedelta(hours=1),
            now + timedelta(hours=2),
            participant_states=("upcoming",),
            canceled=True,
        ),
        "ancient": sim.seed_session("Ancient", now - timedelta(days=30), now - timedelta(days=29)),
    }


async def test_running_and_upcoming_sessions_are_found_by_their_times_whatever_their_participants_states(
    sim: CoviuSim, pool: HttpPool, clock: Clock
) -> None:
    ids = seed_every_kind(sim)
    coviu = client(sim, pool, clock)
    live = await coviu.live_sessions(sim.now())
    assert [s.session_name for s in live] == ["Long", "Running", "Upcoming"]  # earliest start first
    assert [s.session_name for s in await coviu.upcoming_sessions(sim.now())] == ["Upcoming"]
    asked = sim.calls_to("/sessions")[0].query
    week_ago = (sim.now() - timedelta(minutes=10_080)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert asked["start_time"] == week_ago and asked["include_canceled"] == "false" and "state" not in asked
    # What `state` does mean: sessions with a participant in that free-form state.
    by_state, _ = await coviu.sessions_page(participant_state="running")
    assert {s.session_id for s in by_state} == {ids["finished"], ids["ended-now"]}
    assert not (await coviu.sessions_page(participant_state="no such state"))[0]


async def test_start_time_and_end_time_bound_when_sessions_start_and_canceled_ones_come_only_on_request(
    sim: CoviuSim, pool: HttpPool, clock: Clock
) -> None:
    ids = seed_every_kind(sim)
    coviu = client(sim, pool, clock)
    now = sim.now()
    recent, _ = await coviu.sessions_page(starting_from=now - timedelta(hours=1))  # starting an hour ago or later
    assert {s.session_id for s in recent} == {ids["running"], ids["upcoming"], ids["ended-now"]}
    window, _ = await coviu.sessions_page(
        starting_from=now - timedelta(hours=1), starting_until=now + timedelta(hours=1), include_canceled=True
    )
    assert {s.session_id for s in window} == {ids["running"], ids["ended-now"], ids["canceled"]}  # both inclusive
    during = await coviu.sessions_during(now - timedelta(minutes=90), now - timedelta(minutes=30))
    assert [s.session_name for s in during] == ["Long", "Finished", "Ended now"]  # all that ran then


async def test_every_page_of_live_sessions_is_read(sim: CoviuSim, pool: HttpPool, clock: Clock) -> None:
    now = sim.now()
    for n in range(205):
        sim.seed_session(f"S{n:03}", now + timedelta(minutes=n + 1), now + timedelta(minutes=n + 30))
    live = await client(sim, pool, clock).live_sessions(now)
    assert len(live) == 205 and [call.query["page"] for call in sim.calls_to("/sessions")] == ["0", "1"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("include_canceled=yes", "Invalid `include_canceled`"),
        ("start_time=yesterday", "Invalid `start_time`"),
        ("page_size=500", "page_size is 1 to 200"),
        ("order=asc", "Invalid `order`"),
    ],
)
async def test_the_simulator_refuses_a_list_parameter_that_does_not_parse(
    sim: CoviuSim, pool: HttpPool, clock: Clock, query: str, problem: str
) -> None:
    coviu = client(sim, pool, clock)
    token = await coviu.tokens.access_token()
    async with pool.session.get(f"{sim.url}/sessions?{query}", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 400 and problem in (await resp.json())["message"]


async def test_a_canceled_participant_is_kept_with_its_deleted_at_and_cannot_change(
    sim: CoviuSim, pool: HttpPool, clock: Clock
) -> None:
    coviu = client(sim, pool, clock)
    session = await coviu.create_session(start=at(sim, 5), end=at(sim, 65))
    guest = await coviu.add_participant(session.session_id, NewParticipant("Bob"))
    assert not guest.deleted
    await coviu.cancel_participant(guest.participant_id)
    gone = await coviu.get_participant(guest.participant_id)
    assert gone.deleted and gone.deleted_at == sim.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(VendorBadRequest, match="canceled"):
        await coviu.update_participant(guest.participant_id, role="host")
    with pytest.raises(VendorBadRequest, match="canceled"):
        await coviu.cancel_participant(guest.participant_id)
    assert not await coviu.participants(session.session_id)
