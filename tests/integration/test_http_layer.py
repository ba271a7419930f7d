"""The shared HTTP layer against a real loopback server: retries only where safe, typed errors, no secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from sandbox.server import SimServer
from services.errors import VendorAuthError, VendorBadRequest, VendorNotFound, VendorUnavailable
from services.http import HttpPool, VendorHttp

SECRET = "sk-very-secret-value"


class Echo(SimServer):
    name = "Echo"

    def routes(self) -> None:
        self.app.router.add_route("*", "/ok", self._ok)
        self.app.router.add_post("/refuse/{status}", self._refuse)

    async def _ok(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _refuse(self, request: web.Request) -> web.Response:
        status = int(request.match_info["status"])
        return web.json_response({"message": f"no, and your key {SECRET} is wrong"}, status=status)


@pytest.fixture
async def server() -> AsyncIterator[Echo]:
    echo = Echo()
    await echo.start()
    yield echo
    await echo.stop()


@pytest.fixture
async def http(server: Echo) -> AsyncIterator[VendorHttp]:
    pool = HttpPool()
    yield VendorHttp(
        vendor="Echo",
        base_url=server.url + "/",
        pool=pool,
        timeout_s=0.5,
        error_text=lambda body: body.get("message") if isinstance(body, dict) else None,
        secrets=(SECRET,),
        backoff_s=0.01,
    )
    await pool.close()


async def test_safe_calls_are_retried_through_transient_failures(server: Echo, http: VendorHttp) -> None:
    server.faults.inject("/ok", "500", times=2)
    resp = await http.call("GET", "ok", safe_to_repeat=True)
    assert resp.body == {"ok": True}
    assert len(server.calls_to("/ok")) == 3


async def test_creates_are_never_repeated(server: Echo, http: VendorHttp) -> None:
    server.faults.inject("/ok", "500")
    with pytest.raises(VendorUnavailable, match="internal error"):
        await http.call("POST", "ok")
    assert len(server.calls_to("/ok")) == 1


async def test_retry_after_is_honoured(server: Echo, http: VendorHttp) -> None:
    server.faults.inject("/ok", "429")
    resp = await http.call("GET", "ok", safe_to_repeat=True)
    assert resp.status == 200
    assert len(server.calls_to("/ok")) == 2


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("timeout", "did not answer within 0.5 s"),
        ("html", "web page instead of data"),
        ("malformed", "not valid JSON"),
        ("reset", "could not be reached"),
        ("429", "rate limiting"),
    ],
)
async def test_transport_failures_are_typed_and_name_the_vendor(
    server: Echo, http: VendorHttp, fault: str, message: str
) -> None:
    server.faults.inject("/ok", fault)  # type: ignore[arg-type]
    with pytest.raises(VendorUnavailable) as caught:
        await http.call("POST", "ok")
    assert caught.value.vendor == "Echo"
    assert message in str(caught.value)


async def test_a_closed_port_is_unavailable() -> None:
    pool = HttpPool()
    http = VendorHttp(vendor="Echo", base_url="http://127.0.0.1:9", pool=pool, timeout_s=0.5)
    with pytest.raises(VendorUnavailable, match="could not be reached"):
        await http.call("GET", "ok")
    await pool.close()


@pytest.mark.parametrize(
    ("status", "kind"), [(401, VendorAuthError), (403, VendorAuthError), (404, VendorNotFound), (400, VendorBadRequest)]
)
async def test_refusals_carry_the_vendors_words_without_secrets(http: VendorHttp, status: int, kind: type) -> None:
    with pytest.raises(kind) as caught:
        await http.call("POST", f"refuse/{status}")
    assert "no, and your key" in str(caught.value)
    assert SECRET not in str(caught.value)
