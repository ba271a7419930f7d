"""What every stand-in server shares: start/stop on a loopback port, a record of the calls it received, and
settable latency and faults per route (from Python in tests, or over HTTP at `/_sandbox/*` from another
process).

Faults: `timeout` (never answers in time), `500`, `429` (with `Retry-After: 1`), `html` (200 with a web page),
`malformed` (200 with broken JSON), `reset` (the connection is dropped). A fault is injected for the next
`times` requests, or steadily for every Nth request (`every`: load with a share of faults).

For tests that fuzz what a vendor answers, `answer_with(method, path, body)` makes a route answer the given JSON,
whatever it was asked, until `reset()`: the simulator's own rules are bypassed on purpose for that route.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import aiohttp
from aiohttp import web

FaultKind = Literal["timeout", "500", "429", "html", "malformed", "reset"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int


@dataclass
class _SteadyFault:
    """Every `nth` request answers with `kind`, for as long as it is set (a share of faults under load)."""

    kind: FaultKind
    nth: int
    seen: int = 0


class Faults:
    """Latency and faults per route; a route is a request path such as `/new_session`, or `*` for all."""

    def __init__(self) -> None:
        self._latency: dict[str, float] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._steady: dict[str, _SteadyFault] = {}

    def set_latency(self, route: str, seconds: float) -> None:
        self._latency[route] = seconds

    def inject(self, route: str, kind: FaultKind, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        self._faults.setdefault(route, []).append(_Fault(kind, times))

    def every(self, route: str, kind: FaultKind, nth: int) -> None:
        """Every `nth` request to `route` answers with `kind` (`nth=5`: one in five), until `clear()`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if nth < 1:
            raise ValueError("every: nth is at least 1")
        self._steady[route] = _SteadyFault(kind, nth)

    def clear(self) -> None:
        self._latency.clear()
        self._faults.clear()
        self._steady.clear()

    def latency(self, path: str) -> float:
        return self._latency.get(path, self._latency.get("*", 0.0))

    def take(self, path: str) -> FaultKind | None:
        for route in (path, "*"):
            queue = self._faults.get(route)
            while queue:
                fault = queue[0]
                if fault.remaining <= 0:
                    queue.pop(0)
                    continue
                fault.remaining -= 1
                return fault.kind
        for route in (path, "*"):
            steady = self._steady.get(route)
            if steady is not None:
                steady.seen += 1
                if steady.seen % steady.nth == 0:
                    return steady.kind
        return None


async def json_body(request: web.Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when the body is not one (vendors answer that with their own error)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def fault_response(kind: FaultKind, request: web.Request) -> web.StreamResponse:
    if kind == "timeout":
        await asyncio.sleep(3600)
    if kind == "500":
        return web.json_response({"error": "Internal Server Error"}, status=500)
    if kind == "429":
        return web.json_response({"error": "Too Many Requests"}, status=429, headers={"Retry-After": "1"})
    if kind == "html":
        return web.Response(text="<!doctype html><html><body>Maintenance</body></html>", content_type="text/html")
    if kind == "malformed":
        return web.Response(text='{"success": true, "room": ', content_type="application/json")
    # reset: drop the connection without an answer.
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError


class SimServer:
    """Base of every stand-in: subclasses add their routes to `self.app` in `routes()`."""

    name = "sandbox"

    def __init__(self) -> None:
        self.faults = Faults()
        self.calls: list[RecordedCall] = []
        #: (method, path) -> (status, JSON body): answers set by `answer_with`.
        self.scripted: dict[tuple[str, str], tuple[int, Any]] = {}
        self.app = web.Application(middlewares=[self._middleware], client_max_size=1024**3)
        self.app.router.add_post("/_sandbox/latency", self._set_latency)
        self.app.router.add_post("/_sandbox/fault", self._set_fault)
        self.app.router.add_post("/_sandbox/reset", self._reset)
        self.app.router.add_get("/_sandbox/calls", self._list_calls)
        self.routes()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def variables(self) -> dict[str, str]:
        """The settings that point Cohost at this stand-in (with its credentials), as environment variables
        carry them; none for a part Cohost finds through another (MirrorAce's upload host)."""
        return {}

    def routes(self) -> None:
        """Adds the vendor's routes to `self.app`."""

    def reset(self) -> None:
        """Forgets recorded calls, faults and scripted answers; subclasses also forget their state."""
        self.calls.clear()
        self.faults.clear()
        self.scripted.clear()

    def answer_with(self, method: str, path: str, body: Any, *, status: int = 200) -> None:
        """For tests: `method path` answers `body` (JSON) whatever it is asked, until `reset()`."""
        self.scripted[(method.upper(), path)] = (status, body)

    def calls_to(self, path: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.path == path]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        await self.record(request)
        delay = self.faults.latency(request.path)
        if delay:
            await asyncio.sleep(delay)
        kind = self.faults.take(request.path)
        if kind is not None:
            return await fault_response(kind, request)
        scripted = self.scripted.get((request.method, request.path))
        if scripted is not None:
            status, body = scripted
            return web.json_response(body, status=status)
        return await handler(request)

    async def record(self, request: web.Request) -> None:
        """Keeps the call; streaming routes (large uploads) override this to keep only the headers."""
        body = await request.read() if request.can_read_body else b""
        self.calls.append(RecordedCall(request.method, request.path, dict(request.headers), body, dict(request.query)))

    async def _set_latency(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.faults.set_latency(str(data["route"]), float(data["seconds"]))
        return web.json_response({"ok": True})

    async def _set_fault(self, request: web.Request) -> web.Response:
        data = await request.json()
        try:
            if "every" in data:  # `{"route", "kind", "every": 5}`: one request in five, until reset
                self.faults.every(str(data["route"]), data["kind"], int(data["every"]))
            else:
                self.faults.inject(str(data["route"]), data["kind"], int(data.get("times", 1)))
        except ValueError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _list_calls(self, request: web.Request) -> web.Response:
        """The calls received, optionally only those to `?path=`; `?count=1` answers just their number."""
        path = request.query.get("path")
        calls = [c for c in self.calls if path is None or c.path == path]
        if request.query.get("count"):
            return web.json_response({"count": len(calls)})
        return web.json_response([{"method": c.method, "path": c.path} for c in calls])


async def wait_until_healthy(session: aiohttp.ClientSession, base_url: str, within_s: float = 30.0) -> None:
    """Polls `{base_url}/healthz` until it answers 200 (for processes started by tests and benchmarks)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with session.get(base_url + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{base_url} did not become healthy within {within_s:g} s")
