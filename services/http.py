"""The one HTTP layer every vendor client goes through.

It owns the process's single `aiohttp.ClientSession`, bounds every call with connect and total timeouts,
retries with jittered exponential backoff only the calls a vendor module marks as safe to repeat, and turns
every transport-level failure into a typed `VendorError` naming the vendor. Vendor modules only say how
their own error bodies read (`error_text`) and how to authenticate.

Nothing here logs a request body, a header or a query string: those carry API keys and tokens.

Multipart forms (`call(..., multipart=...)`) are built afresh for every attempt, and a file part is written
from the caller's buffer in slices (or as the caller produces it: `StreamedBytes`): a large upload chunk is
never copied, and a retry resends the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from services.errors import (
    VendorAuthError,
    VendorBadRequest,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
    VendorUnsupported,
)

log = logging.getLogger("cohost.http")

#: Statuses a retry may cure, for calls that are safe to repeat.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class VendorResponse:
    status: int
    body: Any
    headers: Mapping[str, str]


class StreamedBytes(Protocol):
    """Bytes of a known length produced while they are sent (e.g. copied from a download into a buffer as they
    arrive). `pieces()` is called once per attempt: a resend must yield the same bytes again."""

    @property
    def size(self) -> int: ...

    def pieces(self) -> AsyncGenerator[memoryview, None]: ...


@dataclass(frozen=True)
class FilePart:
    """A file in a multipart form, sent from the caller's buffer as it is (never copied), or as it is produced."""

    filename: str
    data: bytes | bytearray | memoryview | StreamedBytes
    content_type: str = "application/octet-stream"


#: A multipart/form-data body: (name, value) pairs in order; a name may repeat (`mirrors[]` once per mirror).
MultipartFields = Sequence[tuple[str, "str | FilePart"]]

#: How much of a file part goes to the socket at a time, so the transport never holds a copy of the whole part.
_WRITE_SLICE = 256 * 1024


class _FilePayload(Payload):
    """A file part written in slices of memoryviews: no copy of the caller's bytes, whatever their size."""

    def __init__(self, part: FilePart) -> None:
        data = part.data
        self._source: StreamedBytes | None = None
        self._view = memoryview(b"")
        if isinstance(data, bytes | bytearray | memoryview):
            self._view = memoryview(data).cast("B")
        else:
            self._source = data
        super().__init__(data, content_type=part.content_type, filename=part.filename)
        self._size = self._source.size if self._source is not None else self._view.nbytes

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._view).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        if self._source is not None:
            # Closed as soon as this write ends, however it ends: a source may hold a download open.
            async with contextlib.aclosing(self._source.pieces()) as pieces:
                async for piece in pieces:
                    for start in range(0, piece.nbytes, _WRITE_SLICE):
                        await writer.write(piece[start : start + _WRITE_SLICE])
            return
        for start in range(0, self._view.nbytes, _WRITE_SLICE):
            await writer.write(self._view[start : start + _WRITE_SLICE])


def multipart_body(fields: MultipartFields) -> aiohttp.MultipartWriter:
    """A multipart/form-data body with a known length (so it goes with `Content-Length`, not chunked)."""
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in fields:
        if isinstance(value, FilePart):
            part = writer.append_payload(_FilePayload(value))
            part.set_content_disposition("form-data", name=name, filename=value.filename)
        else:
            writer.append(value).set_content_disposition("form-data", name=name)
    return writer


def join_url(base: str, path: str) -> str:
    """`base` + `path` with exactly one slash between them, whatever either side carries."""
    return base.rstrip("/") + "/" + path.lstrip("/")


class HttpPool:
    """The process-wide client session, created on first use and closed at shutdown."""

    def __init__(self, *, connect_timeout_s: float = 5.0, limit: int = 600, limit_per_host: int = 200) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._connect_timeout_s = connect_timeout_s
        self._limit = limit
        # Per host too: a slow vendor holding its connections must not starve Slack or the other vendors.
        self._limit_per_host = limit_per_host

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit_per_host),
                timeout=aiohttp.ClientTimeout(sock_connect=self._connect_timeout_s),
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class VendorHealth:
    """How a vendor's last call went, as its HTTP layer saw it: failing (down, or Cohost's credentials refused)
    with the reason, or not. Kept in memory for whoever asks (the admins' Home tab), never by a call of its own."""

    def __init__(self) -> None:
        #: Why the last call failed, as a person may read it (never a secret); None after one that got an answer.
        self.failure: str | None = None

    def saw(self, error: VendorError | None) -> None:
        """A call ended: with an answer (None, or a refusal of what was asked, which the vendor answered) or
        with a failure of the vendor itself."""
        self.failure = error.message if isinstance(error, VendorUnavailable | VendorAuthError) else None


@dataclass
class VendorHttp:
    """One vendor's view of the shared HTTP layer."""

    vendor: str
    base_url: str
    pool: HttpPool
    timeout_s: float
    #: Pulls the vendor's own error text out of an error body, or None when it has none.
    error_text: Callable[[Any], str | None] = lambda body: None
    #: For vendors that report failures inside a body (any status): the error to raise, or None.
    classify: Callable[[int, Any], VendorError | None] | None = None
    #: Values that must never appear in an error text (keys, secrets, tokens).
    secrets: Sequence[str] = ()
    retries: int = 3
    backoff_s: float = 0.25
    #: A web page with a 2xx status means "this server has no such call" (MiroTalk answers unknown paths so).
    page_means_unsupported: bool = False
    #: Added to every request's headers (computed per call, e.g. a fresh JWT).
    auth_headers: Callable[[], Mapping[str, str]] | None = None
    extra_success: frozenset[int] = field(default_factory=frozenset)
    #: How its calls have been going (shared with its copies on other hosts).
    health: VendorHealth = field(default_factory=VendorHealth)

    def elsewhere(self, base_url: str, *, secrets: Sequence[str] = ()) -> VendorHttp:
        """The same vendor on another of its hosts (an upload server an API call named): same pool, timeouts
        and error handling; `secrets` adds values to keep out of error texts (e.g. a file's password)."""
        return replace(self, base_url=base_url, secrets=(*self.secrets, *secrets))

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        multipart: MultipartFields | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        safe_to_repeat: bool = False,
        retries: int | None = None,
        timeout_s: float | None = None,
        expect_json: bool = True,
    ) -> VendorResponse:
        """Makes the call; returns a 2xx answer or raises the typed error. Retries only `safe_to_repeat` calls
        (`retries` times, default the vendor's), and only through failures a retry may cure (`VendorUnavailable`).
        `timeout_s` replaces the vendor's bound for one call (a large upload chunk needs longer)."""
        attempts = 1 + ((self.retries if retries is None else retries) if safe_to_repeat else 0)
        bound_s = self.timeout_s if timeout_s is None else timeout_s
        for attempt in range(1, attempts + 1):
            try:
                # A form body is consumed by sending it: each attempt builds its own.
                data: Any = multipart_body(multipart) if multipart is not None else form
                answer = await self._once(method, path, json_body, data, params, headers, expect_json, bound_s)
            except VendorUnavailable as exc:
                if attempt == attempts:
                    self.health.saw(exc)
                    raise
                delay = exc.retry_after if isinstance(exc, _RetryAfter) else None
                await asyncio.sleep(delay if delay is not None else self._backoff(attempt))
                continue
            except VendorError as exc:
                self.health.saw(exc)
                raise
            self.health.saw(None)
            return answer
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads the retries of many concurrent callers.
        return float(random.uniform(0, self.backoff_s * 2 ** (attempt - 1)))

    async def _once(
        self,
        method: str,
        path: str,
        json_body: Any,
        data: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        expect_json: bool,
        timeout_s: float,
    ) -> VendorResponse:
        url = join_url(self.base_url, path)
        all_headers: dict[str, str] = {"Accept": "application/json"}
        if self.auth_headers is not None:
            all_headers.update(self.auth_headers())
        if headers:
            all_headers.update(headers)
        started = time.perf_counter()
        try:
            async with self.pool.session.request(
                method,
                url,
                json=json_body,
                data=data,
                params=params,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                raw = await resp.read()
                status = resp.status
                content_type = resp.headers.get("Content-Type", "")
                resp_headers = dict(resp.headers)
        except TimeoutError:
            log.warning("%s %s %s: timed out after %.1fs", self.vendor, method, path, timeout_s)
            raise VendorUnavailable(self.vendor, f"{self.vendor} did not answer within {timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            log.warning("%s %s %s: %s", self.vendor, method, path, type(exc).__name__)
            raise VendorUnavailable(self.vendor, f"{self.vendor} could not be reached") from None
        log.info("%s %s %s -> %s in %.0f ms", self.vendor, method, path, status, 1000 * (time.perf_counter() - started))
        body = self._parse(raw, content_type, status, expect_json)
        if self.classify is not None and status < 500 and status != 429:
            error = self.classify(status, body)
            if error is not None:
                error.message = redact(error.message, self.secrets)
                raise error
        if 200 <= status < 300:
            return VendorResponse(status, body, resp_headers)
        raise self._error(status, body, resp_headers)

    def _parse(self, raw: bytes, content_type: str, status: int, expect_json: bool) -> Any:
        if not raw.strip():
            return None
        if not expect_json:
            return raw
        looks_json = "json" in content_type or raw.lstrip()[:1] in (b"{", b"[")
        if not looks_json and self.page_means_unsupported and 200 <= status < 300:
            raise VendorUnsupported(
                self.vendor,
                f"{self.vendor} does not offer this call (its server answered with a web page)",
                status=status,
            )
        if not looks_json:
            raise VendorUnavailable(
                self.vendor, f"{self.vendor} answered with a web page instead of data (HTTP {status})", status=status
            )
        try:
            return json.loads(raw)
        except ValueError:
            raise VendorUnavailable(
                self.vendor, f"{self.vendor} sent an answer that is not valid JSON", status=status
            ) from None

    def _error(self, status: int, body: Any, headers: Mapping[str, str]) -> VendorError:
        text = self.error_text(body) if body is not None else None
        text = redact(text, self.secrets) if text else None
        if status == 429:
            return _RetryAfter(
                self.vendor, f"{self.vendor} is rate limiting Cohost", status=status, retry_after=_retry_after(headers)
            )
        if status >= 500:
            return VendorUnavailable(self.vendor, f"{self.vendor} had an internal error (HTTP {status})", status=status)
        if status in (401, 403):
            return VendorAuthError(self.vendor, text or f"{self.vendor} refused Cohost's credentials", status=status)
        if status == 404:
            return VendorNotFound(self.vendor, text or f"{self.vendor} does not know that id", status=status)
        return VendorBadRequest(
            self.vendor, text or f"{self.vendor} refused the request (HTTP {status})", status=status
        )


class _RetryAfter(VendorUnavailable):
    def __init__(self, vendor: str, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(vendor, message, status=status)
        self.retry_after = retry_after


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return min(float(value), 30.0) if value is not None else None
    except ValueError:
        return None
