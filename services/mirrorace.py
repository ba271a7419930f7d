"""MirrorAce: files mirrored to several download hosts. Upload variables, remote and direct (chunked) uploads,
file status.

Built to NOTES.md where the doc is silent or wrong: every answer is `{"status", "result"}` and `status: "error"`
carries the message in `result`, whatever the HTTP status; numbers may come as strings (and the doc's example of
`max_mirrors` is a URL: read as "no limit beyond the mirrors switched on"); uploads go to the hosts `file/upload`
names, never to the API base.

A direct upload goes as MirrorAce's doc says: "MirrorAce only supports chunk upload for files larger than Maximum
chuck size. A single request should not upload more than Maximum chuck size" (`max_chunk_size`, from
`file/upload`). So a file no larger than `max_chunk_size` goes in one multipart request without `Content-Range`,
its bytes streamed from the source as they arrive and never held (a resend opens the source again: for a Slack
file, a new download). A larger file goes in chunks, each a multipart request carrying every field, with
`Content-Range: bytes START-END/TOTAL` (END inclusive): the source is read into one buffer of at most a chunk,
reused for every chunk and resent as it is when a chunk is retried. Either way memory stays at about one chunk
(Cohost's own cap, `CHUNK_CAP`) whatever the file's size.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from services.clock import parse_vendor_time
from services.errors import VendorAccessLimited, VendorAuthError, VendorBadRequest, VendorError
from services.http import FilePart, MultipartFields, VendorHttp, VendorResponse
from services.phrases import human_size
from services.streams import Chunk, ChunkReader, OpenSource, Progress, WholeFile
from services.vendor_values import read_one

VENDOR = "MirrorAce"
#: `file/info` takes at most this many slugs a call.
INFO_BATCH = 50
#: Cohost's own bound on a chunk of a file sent in chunks (one larger than `max_chunk_size`). MirrorAce allows
#: about 100 MB, but a chunk is held in memory while it is sent (and resent if it fails): 8 MiB keeps the bot's
#: memory low and flat at a cost of one request per 8 MiB.
CHUNK_CAP = 8 * 1024 * 1024
#: A request that fails in a way a retry may cure (timeout, dropped connection, 5xx, 429) is sent once more.
CHUNK_RETRIES = 1
#: The slowest upload a chunk's time limit allows for, on top of the vendor's bound on a call.
MIN_UPLOAD_BYTES_PER_S = 1024 * 1024
#: A file's states in `file/info`; the `... removed` ones are gone for good.
STATUSES = ("active", "user removed", "admin removed", "copyright removed", "not found")
_AUTH_TEXT = re.compile(r"api[ _]?(key|token)|credential|unauthori", re.IGNORECASE)


def _int(value: Any) -> Any:
    """`"99999988"` -> 99999988 (numbers come as strings); anything else is left for pydantic to judge."""
    return int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else value


def _int_or_none(value: Any) -> int | None:
    value = _int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text_or_none(value: Any) -> str | None:
    # `file/info` answers a slug it does not know with the string "null" in every field.
    return None if value is None or str(value).strip() in ("", "null") else str(value)


def _mirror_flags(value: Any) -> Any:
    if isinstance(value, list):  # a bare list of ids means all of them are on
        return {str(mirror): True for mirror in value}
    if isinstance(value, dict):
        return {str(mirror): on for mirror, on in value.items()}
    return value


Number = Annotated[int, BeforeValidator(_int)]
OptionalNumber = Annotated[int | None, BeforeValidator(_int_or_none)]
OptionalText = Annotated[str | None, BeforeValidator(_text_or_none)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class UploadVariables(_Model):
    """What `file/upload` hands out for one file: where to send it, its tracker and key, and the limits."""

    server: str = ""
    server_file: str
    server_remote: str
    c_tracker: str = Field(alias="cTracker")
    upload_key: str
    upload_key_expiry: Annotated[datetime | None, BeforeValidator(parse_vendor_time)] = None
    mirrors: Annotated[dict[str, bool], BeforeValidator(_mirror_flags)]
    default_mirrors: Annotated[list[str], BeforeValidator(lambda v: [str(m) for m in v or []])] = Field(
        default_factory=list
    )
    max_chunk_size: Number
    max_file_size: Number
    max_mirrors: OptionalNumber = None

    def enabled_mirrors(self) -> list[str]:
        """The mirrors switched on: the account's default ones first (its own order), then the rest by id."""
        enabled = [mirror for mirror, on in self.mirrors.items() if on]
        defaults = [mirror for mirror in self.default_mirrors if mirror in enabled]
        others = sorted((m for m in enabled if m not in defaults), key=lambda m: (len(m), m))  # "2" before "10"
        return [*defaults, *others]


def _status(value: Any) -> str:
    return value if isinstance(value, str) and value.strip() else "unknown"


class UploadedFile(_Model):
    name: Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else "")] = ""
    size: OptionalNumber = None
    slug: str
    url: str


class FileInfo(_Model):
    slug: str
    #: One of STATUSES, as MirrorAce says it; "unknown" where it sent something else than text.
    status: Annotated[str, BeforeValidator(_status)] = "not found"
    id: OptionalText = None
    name: OptionalText = None
    size: OptionalNumber = None
    url: OptionalText = None

    @property
    def removed(self) -> bool:
        """Removed by its owner, by MirrorAce's admins or for copyright: gone for good."""
        return self.status.endswith("removed")


def error_text(body: Any) -> str | None:
    if isinstance(body, dict) and body.get("status") == "error" and body.get("result"):
        return str(body["result"])
    return None


def classify(status: int, body: Any) -> VendorError | None:
    """`status: "error"` is a refusal whatever the HTTP status; its `result` is MirrorAce's own message."""
    text = error_text(body)
    if text is None:
        return None
    if status in (401, 403) or _AUTH_TEXT.search(text):
        return VendorAuthError(VENDOR, text, status=status)
    return VendorBadRequest(VENDOR, text, status=status)


def _result(resp: VendorResponse) -> Any:
    body = resp.body
    if not isinstance(body, dict) or body.get("status") != "success":
        raise VendorError(VENDOR, "MirrorAce answered without saying whether it succeeded")
    return body.get("result")


def choose_mirrors(variables: UploadVariables, requested: Sequence[str] | None = None) -> list[str]:
    """The mirrors a file goes to: those asked for (each known and switched on), else the ones switched on;
    never more than the account's `max_mirrors`."""
    enabled = variables.enabled_mirrors()
    limit = variables.max_mirrors if variables.max_mirrors and variables.max_mirrors > 0 else len(enabled)
    on = ", ".join(enabled) or "none"
    if not requested:
        if not enabled:
            raise VendorBadRequest(VENDOR, "This MirrorAce account has no mirror switched on")
        return enabled[:limit]
    wanted = list(dict.fromkeys(str(mirror).strip() for mirror in requested))
    unknown = [mirror for mirror in wanted if mirror not in variables.mirrors]
    if unknown:
        raise VendorBadRequest(VENDOR, f"This MirrorAce account has no mirror {', '.join(unknown)} (switched on: {on})")
    off = [mirror for mirror in wanted if not variables.mirrors[mirror]]
    if off:
        raise VendorBadRequest(VENDOR, f"Mirror {', '.join(off)} is switched off on this MirrorAce account (on: {on})")
    if len(wanted) > limit:
        raise VendorBadRequest(VENDOR, f"MirrorAce allows at most {limit} mirrors a file, not {len(wanted)}")
    return wanted


def _host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise VendorError(VENDOR, "MirrorAce named an upload server that is not a web address")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", path


class MirrorAce:
    vendor = VENDOR

    def __init__(self, http: VendorHttp, api_key: str, api_token: str, *, chunk_cap: int = CHUNK_CAP) -> None:
        self._http = replace(http, classify=classify, error_text=error_text)
        self._api_key = api_key
        self._api_token = api_token
        self._chunk_cap = chunk_cap

    def _credentials(self) -> list[tuple[str, str]]:
        return [("api_key", self._api_key), ("api_token", self._api_token)]

    async def upload_variables(self) -> UploadVariables:
        """A fresh tracker and upload key (one per file), the upload hosts and the account's limits."""
        resp = await self._http.call("POST", "file/upload", form=dict(self._credentials()), safe_to_repeat=True)
        try:
            return UploadVariables.model_validate(_result(resp))
        except ValidationError:
            raise VendorError(VENDOR, "MirrorAce's upload variables were incomplete") from None

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase (a typed `VendorError` when it does not)."""
        variables = await self.upload_variables()
        mirrors = variables.enabled_mirrors()
        if not mirrors:
            raise VendorAccessLimited(
                VENDOR, "credentials accepted, but no mirror is switched on", advice="switch one on in MirrorAce"
            )
        limits = f"files up to {human_size(variables.max_file_size)}"
        return f"credentials accepted; mirrors on: {', '.join(mirrors)}; {limits}"

    async def file_info(self, slugs: Sequence[str]) -> list[FileInfo]:
        """The status of each slug, in the order asked (a slug MirrorAce does not know is `not found`)."""
        wanted = list(dict.fromkeys(slug.strip() for slug in slugs if slug.strip()))
        found: dict[str, FileInfo] = {}
        for start in range(0, len(wanted), INFO_BATCH):
            batch = wanted[start : start + INFO_BATCH]
            form = {**dict(self._credentials()), "files": ",".join(batch)}
            result = _result(await self._http.call("POST", "file/info", form=form, safe_to_repeat=True))
            entries = result if isinstance(result, dict) else {}
            for slug in batch:
                entry = entries.get(slug)
                data = entry if isinstance(entry, dict) else {}
                # An unknown slug comes back with "null" everywhere, its own slug included.
                found[slug] = FileInfo.model_validate(
                    {**data, "slug": slug, "status": data.get("status") or "not found"}
                )
        return [found[slug] for slug in wanted]

    def _fields(self, variables: UploadVariables, mirrors: list[str], password: str | None) -> list[tuple[str, str]]:
        fields = [*self._credentials(), ("cTracker", variables.c_tracker), ("upload_key", variables.upload_key)]
        fields += [("mirrors[]", mirror) for mirror in mirrors]
        if password:
            fields.append(("file_password", password))
        return fields

    def _complete(self, result: Any) -> UploadedFile:
        if not isinstance(result, dict) or result.get("info") != "complete" or not result.get("slug"):
            raise VendorError(VENDOR, "MirrorAce did not finish the upload or gave no link to it")
        return read_one(UploadedFile, result, VENDOR, "a finished upload")

    async def remote_upload(
        self, url: str, *, password: str | None = None, mirrors: Sequence[str] | None = None
    ) -> UploadedFile:
        """MirrorAce fetches `url` itself (http or https only)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise VendorBadRequest(VENDOR, "MirrorAce fetches only http:// and https:// addresses")
        variables = await self.upload_variables()
        fields: MultipartFields = [*self._fields(variables, choose_mirrors(variables, mirrors), password), ("url", url)]
        host, path = _host_and_path(variables.server_remote)
        resp = await self._http.elsewhere(host, secrets=(password or "",)).call("POST", path, multipart=fields)
        return self._complete(_result(resp))

    async def upload(
        self,
        name: str,
        size: int,
        open_source: OpenSource,
        *,
        password: str | None = None,
        mirrors: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> UploadedFile:
        """Streams `size` bytes from the source to MirrorAce: in one request when the file is no larger than
        MirrorAce's `max_chunk_size`, in chunks when it is. A file of `max_file_size` or more is refused before a
        byte is sent; a request that fails is retried once, then the failure is raised (the source's own failure
        as `SourceFailed`)."""
        if size <= 0:
            raise VendorBadRequest(VENDOR, f"{name} is empty: MirrorAce takes files of at least one byte")
        variables = await self.upload_variables()
        if size >= variables.max_file_size:
            raise VendorBadRequest(
                VENDOR, f"{name} is {size:,} bytes; MirrorAce takes files under {variables.max_file_size:,} bytes"
            )
        fields = self._fields(variables, choose_mirrors(variables, mirrors), password)
        host, path = _host_and_path(variables.server_file)
        uploads = self._http.elsewhere(host, secrets=(password or "",))
        if size <= variables.max_chunk_size:
            result = await self._send_whole(uploads, path, fields, name, WholeFile(open_source, size, progress))
            if progress is not None:
                await progress(size)
            return self._complete(result)
        async with open_source() as source:
            return await self._send_in_chunks(uploads, path, fields, name, size, source, variables, progress)

    async def _send_whole(
        self, uploads: VendorHttp, path: str, fields: list[tuple[str, str]], name: str, whole: WholeFile
    ) -> Any:
        """The file in one request, no `Content-Range`; retried once (reading the source again) through failures
        a retry may cure. A failing source is reported as itself, not as MirrorAce's failure."""
        try:
            resp = await uploads.call(
                "POST",
                path,
                multipart=[*fields, ("files[]", FilePart(name, whole))],
                safe_to_repeat=True,
                retries=CHUNK_RETRIES,
                timeout_s=self._request_timeout(whole.size),
            )
        except VendorError:
            if whole.failure is not None:
                raise whole.failure from None
            raise
        return _result(resp)

    async def _send_in_chunks(
        self,
        uploads: VendorHttp,
        path: str,
        fields: list[tuple[str, str]],
        name: str,
        size: int,
        source: AsyncIterable[bytes],
        variables: UploadVariables,
        progress: Progress | None,
    ) -> UploadedFile:
        chunk_size = max(1, min(variables.max_chunk_size, self._chunk_cap))
        buffer = memoryview(bytearray(min(chunk_size, size)))  # the one buffer, reused for every chunk
        reader = ChunkReader(source)
        start = 0
        while True:
            length = min(chunk_size, size - start)
            end = start + length - 1
            last = end + 1 == size
            chunk = Chunk(buffer[:length], last=last)
            result = await self._send_chunk(uploads, path, fields, name, chunk, reader, f"bytes {start}-{end}/{size}")
            start = end + 1
            if progress is not None:
                await progress(start)
            if last:
                return self._complete(result)
            if not isinstance(result, dict) or result.get("info") != "continue":
                raise VendorError(VENDOR, f"MirrorAce stopped taking the file after {start:,} of {size:,} bytes")

    def _request_timeout(self, size: int) -> float:
        return self._http.timeout_s + size / MIN_UPLOAD_BYTES_PER_S

    async def _send_chunk(
        self,
        uploads: VendorHttp,
        path: str,
        fields: list[tuple[str, str]],
        name: str,
        chunk: Chunk,
        reader: ChunkReader,
        content_range: str,
    ) -> Any:
        """Sends one chunk while it is read from the source; retried once through failures a retry may cure.
        A failing source is reported as itself, not as MirrorAce's failure."""
        filling = asyncio.create_task(chunk.fill(reader))
        try:
            resp = await uploads.call(
                "POST",
                path,
                multipart=[*fields, ("files[]", FilePart(name, chunk))],
                headers={"Content-Range": content_range},
                safe_to_repeat=True,
                retries=CHUNK_RETRIES,
                timeout_s=self._request_timeout(chunk.size),
            )
        except VendorError:
            if filling.done() and not filling.cancelled() and filling.exception() is not None:
                await filling  # raises the source's failure
            raise
        finally:
            if not filling.done():
                filling.cancel()
                await asyncio.gather(filling, return_exceptions=True)
        await filling  # done: the whole chunk was sent
        return _result(resp)
