"""MiroTalk SFU's client against a simulator that answers as a real v2.3.77 server does (NOTES.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.mirotalk import JOIN_OK, SWITCHABLE, MiroTalkSim
from services.clock import FakeClock
from services.errors import (
    VendorAuthError,
    VendorDisabled,
    VendorNotFound,
    VendorUnavailable,
    VendorUnsupported,
)
from services.http import HttpPool, VendorHttp
from services.mirotalk import (
    HostUser,
    InvalidMeetingInput,
    JoinRequest,
    MiroTalk,
    PresenterLinksOff,
    duration_of,
)
from services.mirotalk_switches import EndpointSwitchedOff

HOST = HostUser("cohost-host", "host-sign-in-0123")


@pytest.fixture
async def sim() -> AsyncIterator[MiroTalkSim]:
    """A server whose admin switched every endpoint on, with Cohost's host user configured."""
    server = MiroTalkSim(switched_on=SWITCHABLE, host_users={HOST.username: HOST.password})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def shipped() -> AsyncIterator[MiroTalkSim]:
    """A server as shipped: `meetings`, `meetingEnd` and `token` off, the default host user."""
    server = MiroTalkSim()
    await server.start()
    yield server
    await server.stop()


def client(
    sim: MiroTalkSim,
    pool: HttpPool,
    secret: str | None = None,
    *,
    host_user: HostUser | None = HOST,
    clock: FakeClock | None = None,
) -> MiroTalk:
    http = VendorHttp(vendor="MiroTalk", base_url=sim.url + "/api/v1/", pool=pool, timeout_s=5, backoff_s=0.01)
    return MiroTalk(http, sim.api_secret if secret is None else secret, host_user=host_user, clock=clock)


async def test_stats_and_meetings_in_the_real_servers_forms(sim: MiroTalkSim, pool: HttpPool) -> None:
    sim.add_peer("standup", "ann", presenter=True, video=True)
    sim.add_peer("standup", "bob", hand=True, screen=True)
    mt = client(sim, pool)
    stats = await mt.stats()
    assert (stats.total_rooms, stats.total_users) == (1, 2)  # `totalUsers`, though the swagger says `totalPeers`
    (meeting,) = await mt.meetings()
    assert meeting.room == "standup"
    assert [(p.name, p.screen) for p in meeting.peers] == [("ann", False), ("bob", True)]
    assert sim.calls[0].headers.get("Authorization") == sim.api_secret  # the raw secret, no Bearer


async def test_the_swaggers_total_peers_is_read_too(sim: MiroTalkSim, pool: HttpPool) -> None:
    sim.users_key = "totalPeers"
    sim.add_peer("standup", "ann")
    sim.add_peer("retro", "bob")
    assert (await client(sim, pool).stats()).total_users == 2


async def test_a_wrong_secret_and_a_disabled_endpoint_are_told_apart(sim: MiroTalkSim, pool: HttpPool) -> None:
    with pytest.raises(VendorAuthError, match="refused Cohost's API secret"):
        await client(sim, pool, secret="wrong").stats()
    sim.disabled.add("meetings")
    with pytest.raises(EndpointSwitchedOff, match="Listing meetings is switched off") as refused:
        await client(sim, pool).meetings()
    assert "API_ALLOW_MEETINGS=true" in refused.value.advice


async def test_a_server_as_shipped_answers_disabled_before_it_looks_at_the_secret(
    shipped: MiroTalkSim, pool: HttpPool
) -> None:
    wrong = client(shipped, pool, secret="wrong")
    with pytest.raises(VendorDisabled):
        await wrong.meetings()
    with pytest.raises(VendorAuthError):
        await wrong.stats()  # not switchable: the secret is checked
    assert "/join/" in await client(shipped, pool).meeting_link()  # `meeting` and `join` ship switched on


async def test_switches_are_learned_harmlessly_and_kept_for_ten_minutes(shipped: MiroTalkSim, pool: HttpPool) -> None:
    clock = FakeClock()
    shipped.add_peer("standup", "ann")
    mt = client(shipped, pool, clock=clock)
    learned = await mt.switches()
    assert (learned.meetings, learned.meeting_end, learned.token) == (False, False, False)
    assert learned.learned_at == clock.now() and not await mt.ending_on()
    shipped.switch_on("meetings", "meetingEnd", "token")
    probes = len(shipped.calls)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert (await mt.switches()).meeting_end is False and len(shipped.calls) == probes  # kept, nothing asked
    clock.advance(timedelta(seconds=1))
    relearned = await mt.switches()
    assert (relearned.meetings, relearned.meeting_end, relearned.token) == (True, True, True)
    assert relearned.learned_at == clock.now()
    # The probes end no room and make no token: a random room name, and a token request without a body.
    assert shipped.rooms.keys() == {"standup"} and not shipped.ended
    probe_end = [c for c in shipped.calls if c.method == "DELETE"][-1]
    assert probe_end.path.startswith("/api/v1/meeting/cohost-switch-probe-")
    assert [c.body for c in shipped.calls if c.path == "/api/v1/token"] == [b"", b""]


async def test_switches_read_through_a_refused_secret_and_an_older_server(shipped: MiroTalkSim, pool: HttpPool) -> None:
    shipped.switch_on("meetings")
    shipped.legacy = True  # no DELETE /meeting/:room at all
    learned = await client(shipped, pool, secret="wrong").switches()
    # `meetings` went past its switch to the secret (on); the others are off, or missing.
    assert (learned.meetings, learned.meeting_end, learned.token) == (True, False, False)


async def test_what_a_real_call_shows_corrects_the_switches_learned(sim: MiroTalkSim, pool: HttpPool) -> None:
    mt = client(sim, pool, clock=FakeClock())
    assert (await mt.switches()).meeting_end
    sim.switch_off("meetingEnd")
    with pytest.raises(EndpointSwitchedOff, match="Ending meetings is switched off") as refused:
        await mt.end_meeting("standup")
    assert "API_ALLOW_MEETING_END=true" in refused.value.advice
    assert not await mt.ending_on()  # known at once, not ten minutes later


async def test_switches_that_cannot_be_learned(sim: MiroTalkSim, pool: HttpPool) -> None:
    clock = FakeClock()
    mt = client(sim, pool, clock=clock)
    sim.faults.inject("*", "500", times=100)
    with pytest.raises(VendorUnavailable):
        await mt.switches()  # never learned: the failure says so
    assert await mt.ending_on()  # End stays offered; a click on it tells the truth
    sim.faults.clear()
    known = await mt.switches()
    clock.advance(timedelta(minutes=11))
    sim.faults.inject("*", "500", times=100)
    assert await mt.switches() == known  # the last known serve
    asked = len(sim.calls)
    clock.advance(timedelta(seconds=30))
    assert await mt.switches() == known and len(sim.calls) == asked  # not asked again within the minute


async def test_an_older_server_without_the_call_is_not_an_outage(sim: MiroTalkSim, pool: HttpPool) -> None:
    sim.add_peer("standup", "ann")
    sim.legacy = True
    with pytest.raises(VendorUnsupported, match="does not offer this call"):
        await client(sim, pool).end_meeting("standup")
    sim.faults.inject("/api/v1/stats", "500", times=4)
    with pytest.raises(VendorUnavailable, match="internal error"):
        await client(sim, pool).stats()


async def test_join_links_carry_every_field_and_never_break(sim: MiroTalkSim, pool: HttpPool) -> None:
    link = await client(sim, pool).join_link(
        JoinRequest(
            room="demo-42",
            room_password="s3cret.x",
            name="Ann O'Neil & co",
            audio=True,
            video=True,
            screen=True,
            chat=True,
            hide=True,
            notify=True,
            duration="01:30:00",
        ),
        presenter_for="2h",
    )
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).netloc == urlsplit(sim.url).netloc  # built from the Host header
    assert query["room"] == ["demo-42"] and query["roomPassword"] == ["s3cret.x"]
    assert query["name"] == ["Ann O'Neil & co"] and query["duration"] == ["01:30:00"]
    assert all(query[f] == ["true"] for f in ("audio", "video", "screen", "chat", "hide", "notify"))
    issued = sim.read_token(query["token"][0])
    assert issued is not None and (issued.username, issued.password, issued.presenter) == (
        HOST.username,
        HOST.password,
        True,
    )
    assert sim.check_join(link) == JOIN_OK


async def test_tokens_are_made_only_for_the_host_user(shipped: MiroTalkSim, pool: HttpPool) -> None:
    nobody = client(shipped, pool, host_user=None)
    with pytest.raises(PresenterLinksOff) as refused:
        await nobody.join_link(JoinRequest(room="standup", name="ann"), presenter_for="1h")
    assert "MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD" in refused.value.advice
    with pytest.raises(PresenterLinksOff):
        await nobody.token(presenter=True, expire="1h")
    assert not shipped.calls  # refused before any call
    plain = await nobody.join_link(JoinRequest(room="standup", name="ann"))
    assert "token=" not in plain and shipped.check_join(plain) == JOIN_OK
    # The server's own default host user: its tokens get their holder in, even with `token` switched off.
    host = client(shipped, pool, host_user=HostUser("username", "password"))
    assert shipped.check_join(await host.join_link(JoinRequest(room="standup"), presenter_for="1h")) == JOIN_OK
    with pytest.raises(EndpointSwitchedOff, match="Tokens are switched off"):
        await host.token(presenter=False, expire="1h")
    # A token for a pair the server does not know locks its holder out, as a real server does.
    stranger = client(shipped, pool, host_user=HostUser("ann", "password"))
    locked = await stranger.join_link(JoinRequest(room="standup", name="ann"), presenter_for="1h")
    assert shipped.check_join(locked) == "unauthorized"


def test_a_meetings_length_becomes_the_join_links_duration() -> None:
    assert [duration_of(m) for m in (None, 1, 30, 90, 5999)] == [
        "unlimited",
        "00:01:00",
        "00:30:00",
        "01:30:00",
        "99:59:00",
    ]
    with pytest.raises(InvalidMeetingInput, match="1 to 5,999 minutes"):
        duration_of(6000)


@pytest.mark.parametrize(
    "request_",
    [
        JoinRequest(room="a room"),
        JoinRequest(room="r&x=1"),
        JoinRequest(room="ok", room_password="p#w"),
        JoinRequest(room="ok", duration="90 minutes"),
    ],
)
async def test_what_a_join_link_could_not_carry_is_refused_before_any_call(
    sim: MiroTalkSim, pool: HttpPool, request_: JoinRequest
) -> None:
    with pytest.raises(InvalidMeetingInput):
        await client(sim, pool).join_link(request_)
    assert not sim.calls


async def test_a_token_lifetime_the_server_could_not_read_is_refused_before_any_call(
    sim: MiroTalkSim, pool: HttpPool
) -> None:
    with pytest.raises(InvalidMeetingInput, match="Expiry is a number and a unit"):
        await client(sim, pool).join_link(JoinRequest(room="ok"), presenter_for="soon")
    with pytest.raises(InvalidMeetingInput):
        await client(sim, pool).token(presenter=False, expire="1 hour")
    assert not sim.calls


async def test_meeting_links_tokens_and_ending(sim: MiroTalkSim, pool: HttpPool) -> None:
    mt = client(sim, pool)
    assert "/join/" in await mt.meeting_link()
    issued = sim.read_token(await mt.token(presenter=True, expire="7d"))
    assert issued is not None and issued.presenter is True and issued.username == HOST.username
    sim.add_peer("standup", "ann")
    await mt.end_meeting("standup", redirect="https://example.com/thanks")
    assert [(e.room, e.redirect) for e in sim.ended] == [("standup", "https://example.com/thanks")]
    with pytest.raises(VendorNotFound, match="Room not found"):
        await mt.end_meeting("standup")
