"""The front door of `POST /slack/events` (HTTP mode): a request is proven to come from Slack before its body is
parsed, and nothing in a request can make the process answer 500, log a traceback or hold a connection for long.

In order, each step answering on its own:
1. the signature headers: missing, malformed, or a timestamp more than five minutes off -> 401, before a byte of
   the body is read;
2. the size: a declared `Content-Length` over `MAX_BODY_BYTES` -> 413 at once; a body that turns out longer is
   not read past the limit -> 413;
3. the time: a body not all there within `BODY_TIMEOUT_S` -> the connection is closed (no answer; a client that
   sends that slowly is not Slack); a client that leaves mid-body -> nothing to answer;
4. the HMAC over the bytes as sent (slack_sdk's `SignatureVerifier`) -> 401 when it does not match;
5. only then the parse: not UTF-8, not the form or JSON object Slack sends, a `payload` that is not a JSON object
   -> 400; so is a signed body whose fields have types Bolt's routing code trips on (`_MisreadBodies`).

Each refusal is one short line (never the body, never a header's value), and those lines are rate limited
(`QuietLog`) so a flood of bad requests cannot fill a disk. The same goes for what happens below the route:
requests aiohttp cannot parse as HTTP (`ServerLog`) and connections the process cannot accept at its open-files
limit (`quiet_accept_failures`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware_error_handler import AsyncMiddlewareErrorHandler
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from services.clock import Clock

#: Slack's payloads are a few kilobytes; a message shortcut carrying a long message stays far below this.
MAX_BODY_BYTES = 1024 * 1024
#: Slack sends a request's body with its headers; one still arriving after this is not Slack's.
BODY_TIMEOUT_S = 10.0
#: Slack's rule: a timestamp more than five minutes from now is a replay.
MAX_CLOCK_SKEW_S = 5 * 60
#: Options of every aiohttp server that serves Cohost (`AppRunner` / `run_app` keyword arguments).
#: `keepalive_timeout` is aiohttp's only bound on a connection that has not finished sending its request's headers
#: (it is armed when the connection opens and re-armed after each answer), so it doubles as the slow-headers
#: timeout: aiohttp's default is an hour. Slack opens a connection per request anyway. `auto_decompress` off:
#: Slack never compresses what it sends, and a compressed body is then verified as the bytes sent instead of being
#: inflated first.
SERVER_OPTIONS: dict[str, Any] = {"keepalive_timeout": BODY_TIMEOUT_S, "auto_decompress": False, "access_log": None}


class QuietLog:
    """Log lines under a token bucket: `burst` lines at once, then one every `every_s`; the lines it drops are
    counted, and the count ("N more `what` ...") is logged once `report_every_s` has passed since the first of them
    (at the next line offered, or at `flush()` when the process stops)."""

    def __init__(
        self,
        logger: logging.Logger,
        clock: Clock,
        what: str,
        *,
        burst: int = 10,
        every_s: float = 6.0,
        report_every_s: float = 60.0,
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._what = what
        self._burst = burst
        self._every_s = every_s
        self._report_every_s = report_every_s
        self._tokens = float(burst)
        self._refilled_at = clock.monotonic()
        self._dropped = 0
        self._dropping_since = 0.0

    def warning(self, message: str, *args: object) -> None:
        now = self._clock.monotonic()
        self._tokens = min(float(self._burst), self._tokens + (now - self._refilled_at) / self._every_s)
        self._refilled_at = now
        if self._dropped and now - self._dropping_since >= self._report_every_s:
            self.flush()
        if self._tokens >= 1:
            self._tokens -= 1
            self._logger.warning(message, *args)
            return
        if not self._dropped:
            self._dropping_since = now
        self._dropped += 1

    def flush(self) -> None:
        if self._dropped:
            seconds = self._clock.monotonic() - self._dropping_since
            self._logger.warning("%d more %s in %.0f s, not logged one by one", self._dropped, self._what, seconds)
            self._dropped = 0


def quiet_accept_failures(loop: asyncio.AbstractEventLoop, quiet_log: QuietLog) -> None:
    """At its open-files limit the process cannot accept a connection, and asyncio logs that with a traceback at
    every try, many times a second (a thousand slow clients wrote megabytes a second of them). Those go through
    `quiet_log`, one short line each; every other loop error goes where it went before."""
    previous = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "socket.accept() out of system resource":
            error = context.get("exception")
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "out of resources"
            quiet_log.warning("not accepting connections for now: %s", reason.lower())
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server log (`aiohttp.server`), but a request aiohttp could not even parse (a bad header, a line
    too long, TLS on the HTTP port) is one short line through `quiet_log`: aiohttp logs it as an error with a
    traceback and the offending bytes, one per request, which a flood turns into gigabytes."""

    def __init__(self, quiet_log: QuietLog) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self._quiet_log = quiet_log

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError) and level > logging.DEBUG:
            remote = args[0] if args else "an unknown address"
            self._quiet_log.warning(
                "refused a malformed request from %s: %s (%s)", remote, error.code, type(error).__name__
            )
            return
        super().log(level, msg, *args, **kwargs)


class Refused(Exception):
    """A request the front door turns away: `status` is the answer, or None to close the connection unanswered."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _BytesSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier (its clock window and constant-time comparison), with the HMAC taken over the body's
    bytes as sent: the library's own decodes the body as UTF-8 first and raises on one that is not, so a body that
    is not UTF-8 could not be told signed (400) from unsigned (401)."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        if isinstance(body, str):
            return super().generate_signature(timestamp=timestamp, body=body)
        message = b"v0:" + timestamp.encode() + b":" + body
        return "v0=" + hmac.new(self.signing_secret.encode(), message, hashlib.sha256).hexdigest()


class FrontDoor:
    """Turns an aiohttp request into a Bolt request, or refuses it (see the module's docstring)."""

    def __init__(self, signing_secret: str, quiet_log: QuietLog) -> None:
        self._verifier = _BytesSignatureVerifier(signing_secret)
        self.log = quiet_log

    async def admit(self, request: web.Request) -> AsyncBoltRequest:
        timestamp, signature = self._signature_headers(request)
        raw = await _read_body(request)
        if not self._verifier.is_valid(raw, timestamp, signature):
            raise Refused(401, "signature does not match")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "body is not UTF-8") from None
        content_type = (request.headers.get("Content-Type") or "").split(";")[0]
        fields = _parse(text, content_type)
        # Bolt is handed the fields read here rather than reading the body again itself: once is enough, and its
        # own reading takes any form body containing the letters "payload" (a command's text, a URL) for an
        # interaction, finds no `payload` field and reads it as empty (the command would be dropped unanswered).
        # The query, if any, straight from the request line: aiohttp's `query_string` parses the whole URL for it.
        query = request.raw_path.partition("?")[2] or None
        bolt_request = AsyncBoltRequest(body="", query=query, headers=dict(request.headers))
        bolt_request.raw_body, bolt_request.body = text, fields
        try:
            bolt_request.context = build_async_context(AsyncBoltContext({}), fields)
        except Exception as exc:  # Bolt reading a field of an unexpected type: the body's fault, not ours
            raise Refused(400, f"body not understood ({type(exc).__name__})") from None
        return bolt_request

    def _signature_headers(self, request: web.Request) -> tuple[str, str]:
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if timestamp is None or signature is None:
            raise Refused(401, "not signed")
        if not signature.isascii():  # the constant-time comparison raises on anything else
            raise Refused(401, "malformed signature")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(401, "malformed timestamp")
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:  # Slack's clock, not the one tests drive
            raise Refused(401, "stale timestamp")
        return timestamp, signature


async def _read_body(request: web.Request) -> bytes:
    """The body, never more than `MAX_BODY_BYTES` of it, within `BODY_TIMEOUT_S`."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise Refused(413, f"body of {declared} bytes declared")
    if request.content.is_eof():
        # All of it arrived with the headers (a Slack payload is a few KB): nothing to wait for, so no timer.
        body = request.content.read_nowait()
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, "body over the limit")
        return body
    pieces: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            while piece := await request.content.read(MAX_BODY_BYTES + 1 - size):
                pieces.append(piece)
                size += len(piece)
                if size > MAX_BODY_BYTES:
                    raise Refused(413, "body over the limit")
    except TimeoutError:
        raise Refused(None, f"body not received within {BODY_TIMEOUT_S:g} s") from None
    except (ConnectionError, RequestPayloadError):
        raise Refused(None, "client left before sending the whole body") from None
    return b"".join(pieces)


def _parse(text: str, content_type: str) -> dict[str, Any]:
    """The body as Slack sends it: a JSON object (Events API), or a form (commands; interactions carry a JSON object
    in `payload`). Bolt reads a body as JSON on the same test (`application/json`, or a leading `{`)."""
    if content_type == "application/json" or text.startswith("{"):
        return _json_object(text, "body")
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=1000))
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "form not understood") from None
    if "payload" in fields:
        return _json_object(fields["payload"], "payload")
    return fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is not a JSON object")
    return value


def slack_events(
    door: FrontDoor,
    dispatch: Callable[[AsyncBoltRequest], Awaitable[web.StreamResponse]],
    awaiting_answer: Callable[[], AbstractContextManager[None]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of `POST /slack/events`: the front door, then `dispatch` (Bolt). Each request is
    `awaiting_answer` from its arrival to its answer (acknowledged work waits for those: AcksFirst)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        with awaiting_answer():
            try:
                admitted = await door.admit(request)
            except Refused as refusal:
                answer = refusal.status or "connection closed"
                door.log.warning("refused %s from %s: %s (%s)", request.path, request.remote, answer, refusal.reason)
                if refusal.status is None:
                    _hang_up(request)
                    return web.Response(status=408)  # never sent: the connection is already closed
                return web.json_response({"ok": False, "error": refusal.reason}, status=refusal.status)
            return await dispatch(admitted)

    return handler


def _hang_up(request: web.Request) -> None:
    """Closes the connection now. aiohttp would otherwise answer and then keep reading ("lingering") what is left
    of the body for up to ten more seconds."""
    transport = request.transport
    if transport is not None:
        transport.close()


#: Cohost's own code: an error raised from here is a bug to see in full, never the body's fault.
_OUR_PACKAGES = tuple(Path(__file__).resolve().parents[1] / name for name in ("bot", "handlers", "services"))
#: What reading a field of the wrong type raises (`"view": 5`, `"actions": []`).
_MISREAD = (AttributeError, TypeError, KeyError, IndexError, ValueError)


class _MisreadBodies(AsyncMiddlewareErrorHandler):
    """Bolt's handler of errors raised while it routes a request, with one case taken out: a signed body whose
    fields have types Bolt does not expect (`"view": 5`) makes Bolt's own code raise while matching listeners.
    That is the body's fault: 400 and one short line, not 500 and a traceback. Anything else (a bug of ours, a
    network error) goes to Bolt's handler as before."""

    def __init__(self, fallback: AsyncMiddlewareErrorHandler, quiet_log: QuietLog) -> None:
        self._fallback = fallback
        self._log = quiet_log

    async def handle(self, error: Exception, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        if response is None or not _misread_by_bolt(error):
            await self._fallback.handle(error, request, response)
            return
        reason = f"body not understood ({type(error).__name__})"
        self._log.warning("refused /slack/events: 400 (%s)", reason)
        response.status = 400
        response.body = json.dumps({"ok": False, "error": reason})
        response.headers = {"content-type": ["application/json"]}


def _misread_by_bolt(error: Exception) -> bool:
    if not isinstance(error, _MISREAD):
        return False
    files = [Path(frame.f_code.co_filename) for frame, _ in traceback.walk_tb(error.__traceback__)]
    in_bolt = any("slack_bolt" in file.parts for file in files)
    return in_bolt and not any(file.is_relative_to(package) for file in files for package in _OUR_PACKAGES)


def refuse_misread_bodies(bolt: AsyncApp, quiet_log: QuietLog) -> None:
    """Installs `_MisreadBodies` on `bolt` (Bolt has no public setter for this one handler: `AsyncApp.error`
    would replace the listeners' error handler too, and errors of listeners are bugs to log in full)."""
    bolt._async_middleware_error_handler = _MisreadBodies(bolt._async_middleware_error_handler, quiet_log)
