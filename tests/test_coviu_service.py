"""Coviu's client against its simulator: the token's life (grant, half-life refresh shared by concurrent
callers, a new grant when refresh is refused, one retry after a 401) and every session and participant call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.coviu import CoviuSim
from services.coviu import Coviu, NewParticipant, TokenSource
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
    sessions = []
    page, more = 0, True
    while more:
        batch, more = await coviu.sessions_page(page=page, page_size=2)
        sessions += batch
        page += 1
    assert [s.session_name for s in sessions] == [f"S{n}" for n in range(5)] and page == 3
    assert len(await coviu.all_sessions()) == 5
    assert datetime.now(UTC) < sessions[0].start_time  # read back as aware UTC times
