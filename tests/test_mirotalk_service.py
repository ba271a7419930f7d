"""MiroTalk SFU's client against a simulator that answers as a real v2.3.77 server does (NOTES.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from sandbox.mirotalk import MiroTalkSim
from services.errors import (
    VendorAuthError,
    VendorDisabled,
    VendorNotFound,
    VendorUnavailable,
    VendorUnsupported,
)
from services.http import HttpPool, VendorHttp
from services.mirotalk import InvalidMeetingInput, JoinRequest, MiroTalk, TokenRequest


@pytest.fixture
async def sim() -> AsyncIterator[MiroTalkSim]:
    server = MiroTalkSim()
    await server.start()
    yield server
    await server.stop()


def client(sim: MiroTalkSim, pool: HttpPool, secret: str | None = None) -> MiroTalk:
    http = VendorHttp(vendor="MiroTalk", base_url=sim.url + "/api/v1/", pool=pool, timeout_s=5, backoff_s=0.01)
    return MiroTalk(http, sim.api_secret if secret is None else secret)


async def test_stats_and_meetings_in_the_real_servers_forms(sim: MiroTalkSim, pool: HttpPool) -> None:
    sim.add_peer("standup", "ann", presenter=True, video=True)
    sim.add_peer("standup", "bob", hand=True)
    mt = client(sim, pool)
    stats = await mt.stats()
    assert (stats.total_rooms, stats.total_users) == (1, 2)  # `totalUsers`, though the swagger says `totalPeers`
    (meeting,) = await mt.meetings()
    assert meeting.room == "standup"
    assert [(p.name, p.presenter, p.hand) for p in meeting.peers] == [("ann", True, False), ("bob", False, True)]
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
    with pytest.raises(VendorDisabled, match="disabled by the server's admin"):
        await client(sim, pool).meetings()


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
            token=TokenRequest(username="ann", password="pw", presenter=True, expire="2h"),
        )
    )
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).netloc == urlsplit(sim.url).netloc  # built from the Host header
    assert query["room"] == ["demo-42"] and query["roomPassword"] == ["s3cret.x"]
    assert query["name"] == ["Ann O'Neil & co"] and query["duration"] == ["01:30:00"]
    assert all(query[f] == ["true"] for f in ("audio", "video", "screen", "chat", "hide", "notify"))
    claims = jwt.decode(query["token"][0], sim.api_secret, algorithms=["HS256"])
    assert claims["presenter"] is True and claims["username"] == "ann"


@pytest.mark.parametrize(
    "request_",
    [
        JoinRequest(room="a room"),
        JoinRequest(room="r&x=1"),
        JoinRequest(room="ok", room_password="p#w"),
        JoinRequest(room="ok", duration="90 minutes"),
        JoinRequest(room="ok", token=TokenRequest(expire="soon")),
    ],
)
async def test_what_a_join_link_could_not_carry_is_refused_before_any_call(
    sim: MiroTalkSim, pool: HttpPool, request_: JoinRequest
) -> None:
    with pytest.raises(InvalidMeetingInput):
        await client(sim, pool).join_link(request_)
    assert not sim.calls


async def test_meeting_links_tokens_and_ending(sim: MiroTalkSim, pool: HttpPool) -> None:
    mt = client(sim, pool)
    assert "/join/" in await mt.meeting_link()
    token = await mt.token(TokenRequest(presenter=True, expire="7d"))
    assert jwt.decode(token, sim.api_secret, algorithms=["HS256"])["presenter"] is True
    sim.add_peer("standup", "ann")
    await mt.end_meeting("standup", redirect="https://example.com/thanks")
    assert [(e.room, e.redirect) for e in sim.ended] == [("standup", "https://example.com/thanks")]
    with pytest.raises(VendorNotFound, match="Room not found"):
        await mt.end_meeting("standup")
