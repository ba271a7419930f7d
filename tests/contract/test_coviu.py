"""Contract: every Coviu API request the client makes is checked by Prism against `coviu-swagger.json`.

The swagger has no `basePath`, so Prism serves its paths at its root, which stands for `$COVIU_URL`; every
operation requires oauth2, so a request without `Authorization: Bearer ...` would be refused with 401. The token
endpoint is not an operation of the swagger (only its `tokenUrl`), so tokens come from the simulator directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from services.client_credentials import TokenSource
from services.coviu import Coviu, NewParticipant
from services.http import HttpPool, VendorHttp
from tests.prism import prism_proxy, sandbox_process

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def prism() -> Iterator[tuple[str, dict[str, str]]]:
    with sandbox_process() as wiring, prism_proxy("coviu-swagger.json", wiring["coviu"]["COVIU_URL"]) as url:
        yield url, wiring["coviu"]


@pytest.fixture
async def client(prism: tuple[str, dict[str, str]]) -> AsyncIterator[Coviu]:
    url, sim = prism
    pool = HttpPool()
    tokens = TokenSource(
        VendorHttp(vendor="Coviu", base_url=sim["COVIU_URL"], pool=pool, timeout_s=10),
        sim["COVIU_API_KEY"],
        sim["COVIU_API_SECRET"],
    )
    yield Coviu(VendorHttp(vendor="Coviu", base_url=url, pool=pool, timeout_s=10), tokens)
    await pool.close()


async def test_every_coviu_operation_keeps_to_the_swagger(client: Coviu) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    session = await client.create_session(
        start=soon,
        end=soon + timedelta(hours=1),
        name="Contract",
        participants=[NewParticipant("Ann", "host")],
        picture="https://example.com/p.png",
        feature_flags=["recording"],
    )
    await client.sessions_page(
        page=0,
        page_size=200,
        starting_from=soon - timedelta(days=1),
        starting_until=soon + timedelta(days=1),
        include_canceled=True,
        participant_state="waiting",
    )
    await client.live_sessions(datetime.now(UTC))
    await client.get_session(session.session_id)
    await client.update_session(session.session_id, name="Contract 2", end=soon + timedelta(hours=2))
    guest = await client.add_participant(session.session_id, NewParticipant("Bob"))
    await client.participants(session.session_id)
    await client.get_participant(guest.participant_id)
    await client.update_participant(guest.participant_id, display_name="Robert", role="guest")
    await client.cancel_participant(guest.participant_id)
    await client.cancel_session(session.session_id)


async def test_prism_refuses_a_call_without_a_bearer_token(prism: tuple[str, dict[str, str]]) -> None:
    url, _ = prism
    async with aiohttp.ClientSession() as http, http.get(url + "/sessions") as resp:
        assert resp.status == 401
