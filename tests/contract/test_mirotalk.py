"""Contract: every MiroTalk SFU request the client makes is checked by Prism against the server's own swagger.

Prism serves a Swagger 2.0 spec's paths at its root (without `basePath`), so the client is pointed at Prism's
root and Prism forwards to the simulator's `/api/v1`. The swagger is wrong about two answers (NOTES.md): stats
carry `totalUsers`, not `totalPeers`, and peers carry no `avatar`. Neither breaks the schema (no property is
required), so Prism lets the real forms through; the client is checked to read them. The probes that learn
which endpoints the server has switched on go through Prism too, on a server as shipped and once switched on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from services.errors import VendorNotFound
from services.http import HttpPool, VendorHttp
from services.mirotalk import HostUser, JoinRequest, MiroTalk
from services.mirotalk_switches import EndpointSwitchedOff
from tests.prism import prism_proxy, sandbox_process

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def prism() -> Iterator[tuple[str, str, str]]:
    """(Prism's URL, the simulator's URL, the API secret)."""
    with sandbox_process() as wiring:
        sim = wiring["mirotalk"]
        with prism_proxy("mirotalk-sfu-swagger.yaml", sim["MIROTALK_URL"] + "/api/v1") as url:
            yield url, sim["MIROTALK_URL"], sim["MIROTALK_API_SECRET"]


@pytest.fixture
async def client(prism: tuple[str, str, str]) -> AsyncIterator[MiroTalk]:
    url, _, secret = prism
    pool = HttpPool()
    # The server's default host user.
    http = VendorHttp(vendor="MiroTalk", base_url=url, pool=pool, timeout_s=10)
    yield MiroTalk(http, secret, host_user=HostUser("username", "password"))
    await pool.close()


async def switch(sim_url: str, **changes: list[str]) -> None:
    async with aiohttp.ClientSession() as http, http.post(sim_url + "/_sandbox/switches", json=changes) as resp:
        assert resp.status == 200


async def test_learning_the_switches_keeps_to_the_swagger(prism: tuple[str, str, str]) -> None:
    url, sim_url, secret = prism
    for on in (False, True):
        await switch(sim_url, **{"on" if on else "off": ["meetings", "meetingEnd", "token"]})
        pool = HttpPool()
        try:
            learned = await MiroTalk(
                VendorHttp(vendor="MiroTalk", base_url=url, pool=pool, timeout_s=10), secret
            ).switches()
        finally:
            await pool.close()
        assert (learned.meetings, learned.meeting_end, learned.token) == (on, on, on)


async def test_every_mirotalk_call_keeps_to_the_swagger(client: MiroTalk, prism: tuple[str, str, str]) -> None:
    _, sim_url, _ = prism
    await switch(sim_url, off=["meetings", "meetingEnd", "token"])
    with pytest.raises(EndpointSwitchedOff):
        await client.meetings()  # a server as shipped: the "disabled" 403, as the swagger allows
    await switch(sim_url, on=["meetings", "meetingEnd", "token"])
    async with aiohttp.ClientSession() as http:
        await http.post(sim_url + "/_sandbox/peer", json={"room": "standup", "name": "ann"})
    stats = await client.stats()
    assert stats.total_rooms is not None and stats.total_rooms >= 1
    assert stats.total_users is not None and stats.total_users >= 1  # read from `totalUsers`, as a real server sends
    meetings = await client.meetings()
    assert any(m.room == "standup" and m.peers[0].name == "ann" for m in meetings)  # peers without `avatar`
    assert "/join/" in await client.meeting_link()
    link = await client.join_link(
        JoinRequest(
            room="standup",
            room_password="pw",
            name="Ann",
            audio=True,
            video=False,
            screen=True,
            chat=True,
            hide=False,
            notify=True,
            duration="00:30:00",
        ),
        presenter_for="1h",
    )
    assert parse_qs(urlsplit(link).query)["room"] == ["standup"]
    assert await client.token(presenter=True, expire="2h")
    await client.end_meeting("standup", redirect="https://example.com/bye")
    with pytest.raises(VendorNotFound):
        await client.end_meeting("standup")


async def test_prism_does_refuse_a_request_that_breaks_the_swagger(prism: tuple[str, str, str]) -> None:
    url, _, secret = prism
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + "/join", json={"room": "x", "audio": "yes"}, headers={"authorization": secret}) as resp,
    ):
        assert resp.status == 422
        assert "audio" in await resp.text()
