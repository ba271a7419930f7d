"""Contract: every MiroTalk SFU request the client makes is checked by Prism against the server's own swagger.

Prism serves a Swagger 2.0 spec's paths at its root (without `basePath`), so the client is pointed at Prism's
root and Prism forwards to the simulator's `/api/v1`. The swagger is wrong about two answers (NOTES.md): stats
carry `totalUsers`, not `totalPeers`, and peers carry no `avatar`. Neither breaks the schema (no property is
required), so Prism lets the real forms through; the client is checked to read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from services.errors import VendorNotFound
from services.http import HttpPool, VendorHttp
from services.mirotalk import JoinRequest, MiroTalk, TokenRequest
from tests.prism import prism_proxy, sandbox_process

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def prism() -> Iterator[tuple[str, str, str]]:
    """(Prism's URL, the simulator's URL, the API secret)."""
    with sandbox_process() as urls:
        sim = urls["mirotalk"]
        with prism_proxy("mirotalk-sfu-swagger.yaml", sim["url"] + "/api/v1") as url:
            yield url, sim["url"], sim["api_secret"]


@pytest.fixture
async def client(prism: tuple[str, str, str]) -> AsyncIterator[MiroTalk]:
    url, _, secret = prism
    pool = HttpPool()
    yield MiroTalk(VendorHttp(vendor="MiroTalk", base_url=url, pool=pool, timeout_s=10), secret)
    await pool.close()


async def test_every_mirotalk_call_keeps_to_the_swagger(client: MiroTalk, prism: tuple[str, str, str]) -> None:
    _, sim_url, _ = prism
    async with aiohttp.ClientSession() as http:
        await http.post(sim_url + "/_sandbox/peer", json={"room": "standup", "name": "ann"})
    stats = await client.stats()
    assert stats.total_rooms >= 1 and stats.total_users >= 1  # read from `totalUsers`, as a real server sends
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
            token=TokenRequest(username="ann", password="pw", presenter=True, expire="1h"),
        )
    )
    assert parse_qs(urlsplit(link).query)["room"] == ["standup"]
    assert await client.token(TokenRequest(presenter=True, expire="2h"))
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
