"""SameSurf's client against its simulator: the fields the commands seldom use, and the unsigned JWT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from sandbox.samesurf import SameSurfSim
from services.errors import VendorAuthError, VendorBadRequest, VendorNotFound
from services.http import HttpPool, VendorHttp
from services.samesurf import DEFAULT_START_URL, Bookmark, Cookie, SameSurf, Schedule, SessionData, StorageItem


@pytest.fixture
async def sim() -> AsyncIterator[SameSurfSim]:
    server = SameSurfSim(allow_none_alg=True)
    await server.start()
    yield server
    await server.stop()


def client(sim: SameSurfSim, pool: HttpPool, *, secret: str | None = None, alg: str = "HS256") -> SameSurf:
    http = VendorHttp(vendor="SameSurf", base_url=sim.url + "/api/v3", pool=pool, timeout_s=5)
    return SameSurf(http, sim.api_key, sim.api_secret if secret is None else secret, alg)


async def test_every_create_field_reaches_samesurf(sim: SameSurfSim, pool: HttpPool) -> None:
    room = await client(sim, pool).create_room(
        starturl="https://a.example",
        title="Full",
        bookmarks=[Bookmark(name="Docs", link="https://docs.example")],
        session=SessionData(
            cookies=[Cookie(domain="a.example", name="sid", value="v", secure=True, httponly=True)],
            storage=[StorageItem(domain="a.example", name="k", value="v")],
        ),
        disabledfeatures=["TOOLS_VIDEO_CHAT"],
        schedule=Schedule(
            eventtime=datetime(2030, 1, 2, 15, 0, tzinfo=ZoneInfo("Europe/Paris")),
            timezone="Europe/Paris",
            lengthinminutes=45,
            invitees=["a@b.example", "c@d.example"],
            invitemessage="Hello",
        ),
    )
    stored = sim.rooms[room.room]
    assert stored["session"]["cookies"][0] == {
        "domain": "a.example",
        "path": "/",
        "name": "sid",
        "value": "v",
        "secure": True,
        "httponly": True,
    }
    assert stored["session"]["storage"] == [{"domain": "a.example", "name": "k", "value": "v"}]
    assert stored["eventtime"] == "2030-01-02T15:00:00" and stored["timezone"] == "Europe/Paris"
    assert stored["scheduled_at"] == datetime(2030, 1, 2, 15, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert stored["invitees"] == "a@b.example,c@d.example"
    assert room.privateinvitation and room.privateinvitation.endswith(room.leadertoken or "-")
    assert room.publicinvitation.endswith(room.token or "-")


async def test_the_unsigned_algorithm_when_the_vendor_allows_it(sim: SameSurfSim, pool: HttpPool) -> None:
    rooms, total = await client(sim, pool, secret="", alg="none").running_rooms()
    assert rooms == [] and total == 0
    sim.allow_none_alg = False
    with pytest.raises(VendorAuthError, match="Invalid JWT"):
        await client(sim, pool, secret="", alg="none").running_rooms()


async def test_running_rooms_are_read_page_by_page(sim: SameSurfSim, pool: HttpPool) -> None:
    ss = client(sim, pool)
    ss.page_size = 2
    for n in range(5):
        await ss.create_room(title=f"R{n}")
    assert [r.title for r in await ss.all_running_rooms()] == [f"R{n}" for n in range(5)]
    assert len(sim.calls_to("/api/v3/runningrooms")) == 3


async def test_errorcodes_become_typed_errors(sim: SameSurfSim, pool: HttpPool) -> None:
    ss = client(sim, pool)
    with pytest.raises(VendorNotFound, match="Invalid room"):
        await ss.create_invitation("000000000")
    with pytest.raises(VendorBadRequest, match="time zone"):
        await ss.create_room(schedule=Schedule(eventtime=datetime(2030, 1, 1, 9, 0), timezone="Mars/Olympus"))
    sim.reseller = False
    with pytest.raises(VendorAuthError, match="reseller"):
        await ss.create_subscription("Acme", licensecount=1)


async def test_a_room_always_gets_a_start_page_and_samesurf_refuses_one_without(
    sim: SameSurfSim, pool: HttpPool
) -> None:
    ss = client(sim, pool)
    room = await ss.create_room(title="No URL given")
    assert sim.rooms[room.room]["starturl"] == DEFAULT_START_URL == "https://www.samesurf.com"
    with pytest.raises(VendorBadRequest, match="starturl required") as refused:
        await ss._post("create", {"title": "Sent without a start page"})  # as Cohost once sent it
    assert refused.value.code == 105


async def test_a_scheduled_time_goes_as_the_wall_clock_of_the_zone_sent_whatever_zone_it_came_in(
    sim: SameSurfSim, pool: HttpPool
) -> None:
    ss = client(sim, pool)
    moment = datetime(2030, 1, 2, 14, 0, tzinfo=UTC)  # 15:00 in Paris
    await ss.create_room(schedule=Schedule(eventtime=moment, timezone="Europe/Paris"))
    await ss.create_room(schedule=Schedule(eventtime=moment.astimezone(ZoneInfo("Asia/Tokyo"))))
    sent = [call.json() for call in sim.calls_to("/api/v3/create")]
    assert [(s["eventtime"], s.get("timezone")) for s in sent] == [
        ("2030-01-02T15:00:00", "Europe/Paris"),
        ("2030-01-02T14:00:00Z", None),
    ]
