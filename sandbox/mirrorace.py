"""MirrorAce, as its servers behave (doc + NOTES.md): an API host (`file/upload`, `file/info`) and a separate
upload host (`server_file`, `server_remote`) on its own port, as the real service has.

Every answer is `{"status": "success"|"error", "result": ...}` (HTTP 200 either way); numbers come as strings
(settable). A direct upload is checked on every chunk: credentials, tracker and upload key (issued, unused, the
same for all chunks of a file), every field present and unchanged between chunks, mirrors (known, switched on, at
most `max_mirrors`), `Content-Range: bytes START-END/TOTAL` (START = bytes received so far, END inclusive and
matching the chunk's length, the chunk at most `max_chunk_size`, TOTAL constant and under `max_file_size`).
As the doc says ("MirrorAce only supports chunk upload for files larger than Maximum chuck size. A single request
should not upload more than Maximum chuck size"), a file of at most `max_chunk_size` bytes must come in one
request without `Content-Range`, and no request may carry more than `max_chunk_size` bytes: both are refused. Only
a running sha256 and a byte count are kept per upload, never the bytes, so a 1 GiB upload costs no memory here;
the finished file exposes its sha256.

Because nothing is kept, the upload key and tracker must come before the file part in the form (every client
sends the file last); a file part that comes first is refused.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from aiohttp import BodyPartReader, web

from sandbox.server import RecordedCall, SimServer

API_ROOT = "/api/v1"
UPLOAD_PATH = f"{API_ROOT}/upload"
REMOTE_PATH = f"{API_ROOT}/upload/remote"
STATUSES = ("active", "user removed", "admin removed", "copyright removed", "not found")
INFO_LIMIT = 50
KEY_LIFETIME_S = 3600
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_READ_SIZE = 1024 * 1024
#: Fields every chunk (and every remote upload) must carry.
_REQUIRED = ("api_key", "api_token", "cTracker", "upload_key", "mirrors[]")


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...
    def copy(self) -> _Hash: ...


@dataclass
class IssuedKey:
    c_tracker: str
    issued_at: float
    #: The file it finished, once it has: a used key is refused.
    slug: str | None = None


@dataclass
class Assembly:
    """A direct upload in progress: what its first chunk said, a running sha256 and a byte count."""

    name: str
    total: int
    fields: dict[str, Any]
    sha: _Hash
    received: int = 0
    chunks: int = 0


@dataclass
class StoredFile:
    id: int
    slug: str
    name: str
    size: int
    url: str
    mirrors: list[str]
    password: str | None
    source: str  # "direct" | "remote"
    status: str = "active"
    sha256: str | None = None
    chunks: int = 0
    remote_url: str | None = None


@dataclass
class ChunkRecord:
    """One direct-upload request as the simulator judged it (no bytes)."""

    upload_key: str
    c_tracker: str
    content_range: str | None
    length: int
    fields: dict[str, Any]
    filename: str | None
    error: str | None = None


class MirrorAceError(Exception):
    """A refusal, answered as MirrorAce does: `{"status": "error", "result": message}`."""


def _error(message: str) -> web.Response:
    return web.json_response({"status": "error", "result": message})


def _success(result: Any) -> web.Response:
    return web.json_response({"status": "success", "result": result})


class MirrorAceSim(SimServer):
    """The API host; `self.upload` is the upload host (started and stopped with it)."""

    name = "MirrorAce"

    def __init__(
        self,
        api_key: str = "ma-sandbox-key-0123456789abcdef",
        api_token: str = "ma-sandbox-token-0123456789abcdef",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.api_token = api_token
        self.clock = clock
        self.mirrors: dict[str, bool] = {"1": True, "2": True, "3": True, "4": False}
        self.default_mirrors = ["2", "1"]
        self.max_mirrors = 3
        self.max_chunk_size = 99_999_995
        self.max_file_size = 10_737_418_240
        #: As the doc's sample: every number a string.
        self.numbers_as_strings = True
        #: URLs (or parts of them) a remote upload cannot fetch; sizes of the ones it can.
        self.unreachable: set[str] = set()
        self.remote_sizes: dict[str, int] = {}
        self.keys: dict[str, IssuedKey] = {}
        self.assemblies: dict[str, Assembly] = {}
        self.files: dict[str, StoredFile] = {}
        self.chunks: list[ChunkRecord] = []
        self._ids = itertools.count(735_848)
        self.upload = MirrorAceUploadHost(self)
        super().__init__()

    def routes(self) -> None:
        self.app.router.add_post(f"{API_ROOT}/file/upload", self._file_upload)
        self.app.router.add_post(f"{API_ROOT}/file/info", self._file_info)
        self.app.router.add_post("/_sandbox/limits", self._set_limits)

    @property
    def api_url(self) -> str:
        """What `MIRRORACE_URL` is set to."""
        return self.url + API_ROOT

    def variables(self) -> dict[str, str]:
        return {"MIRRORACE_API_KEY": self.api_key, "MIRRORACE_API_TOKEN": self.api_token, "MIRRORACE_URL": self.api_url}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        await self.upload.start(host)
        return await super().start(host, port)

    async def stop(self) -> None:
        await self.upload.stop()
        await super().stop()

    def reset(self) -> None:
        super().reset()
        self.upload.reset()
        self.keys.clear()
        self.assemblies.clear()
        self.files.clear()
        self.chunks.clear()

    # -- for tests ------------------------------------------------------------------------------------------------

    def add_file(self, name: str, size: int, *, status: str = "active") -> str:
        """A file already on MirrorAce (as if uploaded elsewhere); returns its slug."""
        return self.store_file(name, size, mirrors=["1"], password=None, source="remote", status=status).slug

    def file_named(self, name: str) -> StoredFile:
        return next(f for f in reversed(self.files.values()) if f.name == name)

    def accepted_chunks(self, upload_key: str | None = None) -> list[ChunkRecord]:
        return [c for c in self.chunks if c.error is None and upload_key in (None, c.upload_key)]

    # -- the API host ---------------------------------------------------------------------------------------------

    def number(self, value: int) -> int | str:
        return str(value) if self.numbers_as_strings else value

    def check_credentials(self, form: dict[str, Any]) -> None:
        if not form.get("api_key") or not form.get("api_token"):
            raise MirrorAceError("API key and API token are required.")
        if form["api_key"] != self.api_key or form["api_token"] != self.api_token:
            raise MirrorAceError("Invalid API key or API token.")

    async def _file_upload(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        try:
            self.check_credentials(form)
        except MirrorAceError as exc:
            return _error(str(exc))
        upload_key, c_tracker = secrets.token_hex(16), secrets.token_hex(16)
        now = self.clock()
        self.keys[upload_key] = IssuedKey(c_tracker, now)
        upload_url = self.upload.url + API_ROOT
        expiry = datetime.fromtimestamp(now + KEY_LIFETIME_S, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return _success(
            {
                "server": self.upload.url,
                "server_file": upload_url + "/upload",
                "server_remote": upload_url + "/upload/remote",
                "cTracker": c_tracker,
                "mirrors": dict(self.mirrors),
                "default_mirrors": list(self.default_mirrors),
                "max_chunk_size": self.number(self.max_chunk_size),
                "max_file_size": self.number(self.max_file_size),
                "max_mirrors": self.number(self.max_mirrors),
                "upload_key": upload_key,
                "upload_key_expiry": expiry,
            }
        )

    async def _file_info(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        try:
            self.check_credentials(form)
        except MirrorAceError as exc:
            return _error(str(exc))
        slugs = [slug.strip() for slug in str(form.get("files") or "").split(",") if slug.strip()]
        if not slugs:
            return _error("Missing parameter: files.")
        if len(slugs) > INFO_LIMIT:
            return _error(f"You can check at most {INFO_LIMIT} files at once.")
        result: dict[str, Any] = {}
        for slug in slugs:
            stored = self.files.get(slug)
            if stored is None:
                result[slug] = {key: "null" for key in ("id", "name", "slug", "size", "url")} | {"status": "not found"}
                continue
            result[slug] = {
                "id": str(stored.id),
                "name": stored.name,
                "slug": stored.slug,
                "size": self.number(stored.size),
                "url": stored.url,
                "status": stored.status,
            }
        return _success(result)

    async def _set_limits(self, request: web.Request) -> web.Response:
        """`{"max_chunk_size": n, "max_file_size": n}` from another process (the benchmark's curl baseline)."""
        data = await request.json()
        for key in ("max_chunk_size", "max_file_size", "max_mirrors"):
            if key in data:
                setattr(self, key, int(data[key]))
        return web.json_response({"ok": True})

    # -- shared by both upload routes -------------------------------------------------------------------------------

    def check_upload_fields(self, fields: dict[str, Any]) -> IssuedKey:
        """Credentials, every required field, the key and its tracker, the mirrors; the issued key if all hold."""
        self.check_credentials(fields)
        for name in _REQUIRED:
            if not fields.get(name):
                raise MirrorAceError(f"Missing parameter: {name}.")
        issued = self.keys.get(str(fields["upload_key"]))
        if issued is None:
            raise MirrorAceError("Invalid upload key.")
        if issued.slug is not None:
            raise MirrorAceError("Upload key has already been used.")
        if issued.c_tracker != fields["cTracker"]:
            raise MirrorAceError("Invalid chunk tracker for this upload key.")
        if str(fields["upload_key"]) not in self.assemblies and self.clock() - issued.issued_at > KEY_LIFETIME_S:
            raise MirrorAceError("Upload key has expired.")
        mirrors: list[str] = fields["mirrors[]"]
        if len(set(mirrors)) != len(mirrors) or any(not self.mirrors.get(m) for m in mirrors):
            raise MirrorAceError("Invalid mirror(s) selected.")
        if len(mirrors) > self.max_mirrors:
            raise MirrorAceError(f"You can select at most {self.max_mirrors} mirrors.")
        return issued

    def store_file(
        self,
        name: str,
        size: int,
        *,
        mirrors: list[str],
        password: str | None,
        source: str,
        status: str = "active",
        sha256: str | None = None,
        chunks: int = 0,
        remote_url: str | None = None,
    ) -> StoredFile:
        slug = secrets.token_hex(3)
        stored = StoredFile(
            id=next(self._ids),
            slug=slug,
            name=name,
            size=size,
            url=f"{self.url}/m/{slug}",
            mirrors=mirrors,
            password=password,
            source=source,
            status=status,
            sha256=sha256,
            chunks=chunks,
            remote_url=remote_url,
        )
        self.files[slug] = stored
        return stored

    def complete(self, stored: StoredFile) -> web.Response:
        return _success(
            {
                "name": stored.name,
                "size": self.number(stored.size),
                "slug": stored.slug,
                "url": stored.url,
                "info": "complete",
            }
        )


class MirrorAceUploadHost(SimServer):
    """`server_file` and `server_remote`: a second listening port, sharing the API host's state."""

    name = "MirrorAce upload"

    def __init__(self, api: MirrorAceSim) -> None:
        self.api = api
        super().__init__()

    def routes(self) -> None:
        self.app.router.add_post(UPLOAD_PATH, self._direct)
        self.app.router.add_post(REMOTE_PATH, self._remote)

    async def record(self, request: web.Request) -> None:
        # Headers only: the body is a chunk of a file, read (and forgotten) by the route itself.
        self.calls.append(RecordedCall(request.method, request.path, dict(request.headers), b"", dict(request.query)))

    async def _remote(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, Any] = {key: str(value) for key, value in form.items() if key != "mirrors[]"}
        fields["mirrors[]"] = [str(m) for m in form.getall("mirrors[]", [])]
        api = self.api
        try:
            issued = api.check_upload_fields(fields)
            url = str(fields.get("url") or "")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise MirrorAceError("Invalid URL.")
            if any(marker in url for marker in api.unreachable):
                raise MirrorAceError("Could not download the file from the remote URL.")
        except MirrorAceError as exc:
            return _error(str(exc))
        name = unquote(parts.path.rsplit("/", 1)[-1]) or "remote-file"
        size = api.remote_sizes.get(url, 1_000 + int(hashlib.sha256(url.encode()).hexdigest()[:6], 16))
        stored = api.store_file(
            name,
            size,
            mirrors=fields["mirrors[]"],
            password=fields.get("file_password") or None,
            source="remote",
            remote_url=url,
        )
        issued.slug = stored.slug
        return api.complete(stored)

    async def _direct(self, request: web.Request) -> web.Response:
        api = self.api
        fields: dict[str, Any] = {"mirrors[]": []}
        filename: str | None = None
        length = 0
        sha: _Hash | None = None
        problem: str | None = None
        content_range = request.headers.get("Content-Range")
        if not request.content_type.startswith("multipart/form-data"):
            return _error("Upload requests must be multipart/form-data.")
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                problem = problem or "Nested multipart bodies are not accepted."
                continue
            if part.name != "files[]":
                value = (await part.read()).decode()
                if part.name == "mirrors[]":
                    fields["mirrors[]"].append(value)
                elif part.name:
                    fields[part.name] = value
                continue
            if filename is not None:
                problem = problem or "Only a single file per request."
            filename = part.filename
            assembly = api.assemblies.get(str(fields.get("upload_key")))
            if "upload_key" not in fields:
                problem = problem or "The file must come after upload_key and cTracker."
            # Hash into a copy: the running hash moves on only once the whole chunk is judged good.
            sha = assembly.sha.copy() if assembly is not None else hashlib.sha256()
            while piece := await part.read_chunk(_READ_SIZE):
                length += len(piece)
                if problem is None:
                    sha.update(piece)
        record = ChunkRecord(
            upload_key=str(fields.get("upload_key", "")),
            c_tracker=str(fields.get("cTracker", "")),
            content_range=content_range,
            length=length,
            fields={key: value for key, value in fields.items() if key not in ("api_key", "api_token")},
            filename=filename,
        )
        api.chunks.append(record)
        try:
            if problem is not None:
                raise MirrorAceError(problem)
            if sha is None or not filename:
                raise MirrorAceError("Missing parameter: files (with a file name).")
            response = self._accept(fields, filename, length, content_range, request, sha)
        except MirrorAceError as exc:
            record.error = str(exc)
            return _error(str(exc))
        return response

    def _accept(
        self,
        fields: dict[str, Any],
        filename: str,
        length: int,
        content_range: str | None,
        request: web.Request,
        sha: _Hash,
    ) -> web.Response:
        api = self.api
        issued = api.check_upload_fields(fields)
        key = str(fields["upload_key"])
        assembly = api.assemblies.get(key)
        if length > api.max_chunk_size:
            raise MirrorAceError(
                f"A single request may not upload more than the maximum chunk size of {api.max_chunk_size} bytes."
            )
        if content_range is None:
            start, end, total = 0, length - 1, length
        else:
            if request.content_length is None:
                raise MirrorAceError("Content-Length is required with Content-Range.")
            match = _RANGE.match(content_range.strip())
            if match is None:
                raise MirrorAceError("Invalid Content-Range header.")
            start, end, total = (int(group) for group in match.groups())
            if total <= api.max_chunk_size:
                raise MirrorAceError(
                    f"Chunk upload is only for files larger than the maximum chunk size of {api.max_chunk_size} "
                    "bytes: send this file in a single request."
                )
        if length == 0 or end - start + 1 != length:
            raise MirrorAceError(f"Content-Range says {end - start + 1} bytes but the chunk has {length}.")
        if total >= api.max_file_size:
            raise MirrorAceError("File is larger than the maximum file size.")
        if end >= total:
            raise MirrorAceError("Content-Range ends beyond the file's size.")
        fields_now = {k: v for k, v in fields.items() if k not in ("api_key", "api_token")} | {"name": filename}
        if assembly is None:
            if start != 0:
                raise MirrorAceError(f"Chunk out of order: expected byte 0, got {start}.")
            assembly = Assembly(filename, total, fields_now, sha)
        else:
            if start != assembly.received:
                raise MirrorAceError(f"Chunk out of order: expected byte {assembly.received}, got {start}.")
            if total != assembly.total:
                raise MirrorAceError("The file's total size changed between chunks.")
            if fields_now != assembly.fields:
                changed = sorted(
                    k for k in fields_now.keys() | assembly.fields.keys() if fields_now.get(k) != assembly.fields.get(k)
                )
                raise MirrorAceError(f"Fields changed between chunks: {', '.join(changed)}.")
        assembly.sha = sha
        assembly.received += length
        assembly.chunks += 1
        api.assemblies[key] = assembly
        if assembly.received < total:
            return _success({"name": filename, "size": api.number(total), "info": "continue"})
        del api.assemblies[key]
        stored = api.store_file(
            filename,
            total,
            mirrors=list(fields["mirrors[]"]),
            password=fields.get("file_password") or None,
            source="direct",
            sha256=assembly.sha.hexdigest(),
            chunks=assembly.chunks,
        )
        issued.slug = stored.slug
        return api.complete(stored)
