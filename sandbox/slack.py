"""A Slack Web API stand-in, and the signed requests Slack sends to an app.

The stand-in answers the Web API methods Cohost uses as Slack does (HTTP 200 with `ok: false` and an error
code for refusals; 429 with `Retry-After` when a fault is injected), keeps the channel messages so tests can
read cards as edited, records `response_url` posts, and lets a test wait for any of it without sleeping.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from sandbox.server import RecordedCall, SimServer

#: Form fields slack_sdk sends as JSON strings.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
#: Hosted files' bytes repeat a pattern of this length: not a power of two, so no chunk size lines up with it
#: (a chunk sent twice or skipped changes the checksum).
_PATTERN_LENGTH = 1_000_003
_DOWNLOAD_PIECE = 256 * 1024
#: Block Kit's limits (Slack's Block Kit reference): a message breaking one is refused with `invalid_blocks`.
MAX_BLOCKS, MAX_SECTION_TEXT, MAX_FIELDS, MAX_FIELD_TEXT, MAX_HEADER_TEXT = 50, 3000, 10, 2000, 150
MAX_CONTEXT_ELEMENTS, MAX_BUTTON_TEXT, MAX_BUTTON_URL, MAX_BUTTON_VALUE = 10, 75, 3000, 2000
#: What files.slack.com shows a download without the bot token (it redirects to the sign-in page).
_SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


@dataclass
class HostedFile:
    """A file shared in Slack, served at its `url_private_download` as a stream, never held whole."""

    id: str
    name: str
    size: int
    mimetype: str = "application/octet-stream"
    #: Drop the connection after this many bytes (a download cut short).
    cut_after: int | None = None


@functools.lru_cache(maxsize=8)
def _pattern(file_id: str) -> bytes:
    block = random.Random(file_id).randbytes(_PATTERN_LENGTH)
    return block + block  # any slice of up to one pattern length is contiguous in here


def file_pieces(file_id: str, size: int, piece: int = _DOWNLOAD_PIECE) -> Iterator[memoryview]:
    """The deterministic bytes of a hosted file, in pieces of at most `piece` bytes (views: no copies)."""
    pattern = memoryview(_pattern(file_id))
    offset = 0
    while offset < size:
        length = min(piece, size - offset, _PATTERN_LENGTH)
        start = offset % _PATTERN_LENGTH
        yield pattern[start : start + length]
        offset += length


def file_sha256(file_id: str, size: int) -> str:
    """The sha256 of a hosted file's bytes, computed piece by piece."""
    digest = hashlib.sha256()
    for piece in file_pieces(file_id, size, _PATTERN_LENGTH):
        digest.update(piece)
    return digest.hexdigest()


@dataclass
class SignedRequest:
    body: bytes
    headers: dict[str, str]
    response_url: str | None = None
    trigger_id: str | None = None


@dataclass
class ResponsePost:
    key: str
    body: dict[str, Any]


@dataclass
class SlackUser:
    id: str
    name: str
    display_name: str
    real_name: str
    tz: str = "UTC"
    is_admin: bool = False
    is_owner: bool = False

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_bot": False,
            "profile": {"display_name": self.display_name, "real_name": self.real_name},
        }


@dataclass
class _ApiCall:
    method: str
    payload: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)


class SlackStandIn(SimServer):
    name = "Slack"

    def __init__(
        self,
        bot_token: str = "xoxb-sandbox-token",
        signing_secret: str = "sandbox-signing-secret",
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0COHOST",
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.users: dict[str, SlackUser] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: list[tuple[str, str, dict[str, Any]]] = []
        self.responses: list[ResponsePost] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        #: Files shared in messages, downloadable with the bot token (`add_file`).
        self.hosted_files: dict[str, HostedFile] = {}
        self.not_in_channel: set[str] = set()
        self._api: list[_ApiCall] = []
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        super().__init__()
        self.add_user("U0ANN", "ann", tz="Europe/London")
        self.add_user("U0BOB", "bob", tz="America/New_York")
        self.add_user("U0ADA", "ada", tz="UTC", is_admin=True)

    def variables(self) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.url + "/api/",
        }

    def routes(self) -> None:
        self.app.router.add_route("*", "/api/{method}", self._api_method)
        self.app.router.add_post("/response/{key}", self._response)
        self.app.router.add_route("*", "/upload/{file_id}", self._upload)
        self.app.router.add_get("/files-pri/{team_file}/{tail:.*}", self._download)

    def reset(self) -> None:
        super().reset()
        self.messages.clear()
        self.history.clear()
        self.responses.clear()
        self.views.clear()
        self.files.clear()
        self.hosted_files.clear()
        self._api.clear()

    def add_file(
        self,
        file_id: str,
        name: str,
        size: int,
        *,
        mimetype: str = "application/octet-stream",
        cut_after: int | None = None,
    ) -> dict[str, Any]:
        """A file shared in Slack, of any size (its bytes are made as they are served); returns the file object
        as a message carries it, for `message_shortcut(..., message={"files": [...]})`."""
        self.hosted_files[file_id] = HostedFile(file_id, name, size, mimetype, cut_after)
        return self.file_object(file_id)

    def file_object(self, file_id: str) -> dict[str, Any]:
        hosted = self.hosted_files[file_id]
        base = f"{self.url}/files-pri/{self.team_id}-{file_id}"
        return {
            "id": file_id,
            "name": hosted.name,
            "title": hosted.name,
            "mimetype": hosted.mimetype,
            "filetype": "binary",
            "size": hosted.size,
            "mode": "hosted",
            "url_private": f"{base}/{hosted.name}",
            "url_private_download": f"{base}/download/{hosted.name}",
        }

    def file_sha256(self, file_id: str) -> str:
        return file_sha256(file_id, self.hosted_files[file_id].size)

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        display_name: str | None = None,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> None:
        self.users[user_id] = SlackUser(
            user_id,
            name,
            display_name if display_name is not None else name,
            real_name or name.title(),
            tz,
            is_admin,
            is_owner,
        )

    # -- reading what happened --------------------------------------------------------------------------------

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        """The payloads of the successful calls of `method`, oldest first (with `ts` added where one was made)."""
        return [{**c.payload, **_ts_of(c.answer)} for c in self._api if c.method == method and c.answer.get("ok")]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.api_calls("chat.postMessage") if channel is None or p.get("channel") == channel]

    def ephemerals(self) -> list[dict[str, Any]]:
        return self.api_calls("chat.postEphemeral")

    def payload(self, call: RecordedCall) -> dict[str, Any]:
        """The decoded payload of a recorded Web API call (for consoles that walk `calls`)."""
        return _decode(call.body, call.headers.get("Content-Type", ""))

    def ts_of(self, call: RecordedCall) -> str | None:
        index = [c for c in self.calls if c.path.startswith("/api/")].index(call)
        answer = self._api[index].answer if index < len(self._api) else {}
        return _ts_of(answer).get("ts")

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0, what: str = "a condition") -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {within} s waiting for {what}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_calls(self, method: str, count: int = 1, within: float = 5.0) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.api_calls(method)) >= count, within, f"{count} × {method}")
        return self.api_calls(method)

    async def wait_for_responses(self, count: int = 1, within: float = 5.0) -> list[ResponsePost]:
        await self.wait_for(lambda: len(self.responses) >= count, within, f"{count} response_url posts")
        return self.responses

    def response_url(self, key: str | None = None) -> str:
        return f"{self.url}/response/{key or uuid.uuid4().hex}"

    # -- the Web API --------------------------------------------------------------------------------------------

    async def _api_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        # slack_sdk sends some methods (users.info) as GET with query parameters.
        payload = {**request.query, **_decode(await request.read(), request.headers.get("Content-Type", ""))}
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or payload.pop("token", "")
        call = _ApiCall(method, payload)
        self._api.append(call)
        if token != self.bot_token:
            call.answer = {"ok": False, "error": "invalid_auth"}
        else:
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            call.answer = handler(payload) if handler else {"ok": False, "error": "unknown_method"}
        self._changed.set()
        return web.json_response(call.answer)

    def _auth_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://sandbox.slack.example/",
            "team": "Sandbox",
            "team_id": self.team_id,
            "user": "cohost",
            "user_id": self.bot_user_id,
            "bot_id": "B0COHOST",
            "is_enterprise_install": False,
        }

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _chat_postMessage(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = str(payload.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not payload.get("text") and not payload.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if blocks_problem(payload.get("blocks")):
            return {"ok": False, "error": "invalid_blocks"}
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        if channel.startswith("CX"):
            return {"ok": False, "error": "channel_not_found"}
        ts = self._next_ts()
        message = {"type": "message", "user": self.bot_user_id, "ts": ts, **_message_fields(payload)}
        self.messages[(channel, ts)] = message
        self.history.append((channel, ts, message))
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        key = (str(payload.get("channel", "")), str(payload.get("ts", "")))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        if blocks_problem(payload.get("blocks")):
            return {"ok": False, "error": "invalid_blocks"}
        message = {**self.messages[key], **_message_fields(payload)}
        if "blocks" not in payload:
            message.pop("blocks", None)
        self.messages[key] = message
        self.history.append((key[0], key[1], message))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.get("text", "")}

    def _chat_postEphemeral(self, payload: dict[str, Any]) -> dict[str, Any]:
        channel = str(payload.get("channel", ""))
        if channel in self.not_in_channel or channel.startswith("CX"):
            return {"ok": False, "error": "channel_not_found"}
        if payload.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        if blocks_problem(payload.get("blocks")):
            return {"ok": False, "error": "invalid_blocks"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        key = (str(payload.get("channel", "")), str(payload.get("ts", "")))
        if self.messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _views_open(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not payload.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self._store_view(payload.get("view") or {}, None)

    _views_push = _views_open

    def _views_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        view_id = str(payload.get("view_id", ""))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return self._store_view(payload.get("view") or {}, view_id)

    def _store_view(self, view: dict[str, Any], view_id: str | None) -> dict[str, Any]:
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored = {**view, "id": view_id, "hash": uuid.uuid4().hex[:12], "team_id": self.team_id}
        self.views[view_id] = stored
        return {"ok": True, "view": stored}

    def _users_info(self, payload: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(payload.get("user", "")))
        return {"ok": True, "user": user.as_api()} if user else {"ok": False, "error": "user_not_found"}

    def _conversations_open(self, payload: dict[str, Any]) -> dict[str, Any]:
        users = str(payload.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}

    def _files_getUploadURLExternal(self, payload: dict[str, Any]) -> dict[str, Any]:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, payload: dict[str, Any]) -> dict[str, Any]:
        files = payload.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        missing = [f["id"] for f in files if f.get("id") not in self.files]
        if missing:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def _files_info(self, payload: dict[str, Any]) -> dict[str, Any]:
        file_id = str(payload.get("file", ""))
        if file_id not in self.hosted_files:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self.file_object(file_id)}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """A hosted file's bytes, streamed piece by piece with its Content-Length: any size, never in memory."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token != self.bot_token:
            return web.Response(text=_SIGN_IN_PAGE, content_type="text/html")
        hosted = self.hosted_files.get(request.match_info["team_file"].rsplit("-", 1)[-1])
        if hosted is None:
            return web.Response(status=404, text="Not found")
        response = web.StreamResponse(headers={"Content-Type": hosted.mimetype, "Content-Length": str(hosted.size)})
        await response.prepare(request)
        sent = 0
        for piece in file_pieces(hosted.id, hosted.size):
            if hosted.cut_after is not None and sent + len(piece) > hosted.cut_after:
                await response.write(piece[: hosted.cut_after - sent])
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            await response.write(piece)
            sent += len(piece)
        await response.write_eof()
        return response

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.post() if request.content_type.startswith("multipart/") else None
        if data is not None:
            part = next(iter(data.values()))
            self.files[request.match_info["file_id"]] = (
                part.file.read() if hasattr(part, "file") else str(part).encode()
            )
        else:
            self.files[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - 1")

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        if blocks_problem(body.get("blocks")):
            self._changed.set()
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append(ResponsePost(request.match_info["key"], body))
        self._changed.set()
        return web.Response(text="ok")

    # -- what Slack sends to the app ------------------------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(self.signing_secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _signed(
        self,
        fields: dict[str, str],
        timestamp: int | None,
        retry_num: int | None,
        response_url: str | None,
        trigger_id: str | None,
    ) -> SignedRequest:
        body = urlencode(fields).encode()
        headers = self.sign(body, timestamp)
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return SignedRequest(body, headers, response_url, trigger_id)

    def slash_command(
        self,
        command: str,
        text: str,
        *,
        user_id: str = "U0ANN",
        user_name: str | None = None,
        channel_id: str = "C0GENERAL",
        channel_name: str = "general",
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        team_id: str | None = None,
    ) -> SignedRequest:
        """A slash command as Slack sends it; `team_id` another workspace's, to forge a request from there."""
        trigger_id = trigger_id or _trigger_id()
        response_url = response_url or self.response_url()
        user = self.users.get(user_id)
        fields = {
            "token": "verification-token-unused",
            "team_id": team_id or self.team_id,
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or (user.name if user else user_id.lower()),
            "command": command,
            "text": text,
            "api_app_id": "A0COHOST",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return self._signed(fields, timestamp, retry_num, response_url, trigger_id)

    def _interaction(self, payload: dict[str, Any], timestamp: int | None, retry_num: int | None) -> SignedRequest:
        return self._signed(
            {"payload": json.dumps(payload)},
            timestamp,
            retry_num,
            payload.get("response_url"),
            payload.get("trigger_id"),
        )

    def _user(self, user_id: str, team_id: str | None) -> dict[str, Any]:
        user = self.users.get(user_id)
        name = user.name if user else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": team_id or self.team_id}

    def _team(self, team_id: str | None) -> dict[str, str]:
        return {"id": team_id or self.team_id, "domain": "sandbox"}

    def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "card_actions",
        user_id: str = "U0ANN",
        channel_id: str = "C0GENERAL",
        message_ts: str = "",
        message: dict[str, Any] | None = None,
        action_ts: str | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        team_id: str | None = None,
    ) -> SignedRequest:
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "text": {"type": "plain_text", "text": "x"},
            "action_ts": action_ts or f"{time.time():.6f}{uuid.uuid4().int % 1000:03d}",
        }
        if value is not None:
            action["value"] = value
        payload = {
            "type": "block_actions",
            "user": self._user(user_id, team_id),
            "api_app_id": "A0COHOST",
            "token": "verification-token-unused",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
            "trigger_id": trigger_id or _trigger_id(),
            "team": self._team(team_id),
            "channel": {"id": channel_id, "name": "general"},
            "message": message or self.messages.get((channel_id, message_ts), {"ts": message_ts, "type": "message"}),
            "response_url": response_url or self.response_url(),
            "actions": [action],
        }
        return self._interaction(payload, timestamp, retry_num)

    def view_submission(
        self,
        callback_id: str,
        state_values: dict[str, Any],
        *,
        private_metadata: str = "",
        user_id: str = "U0ANN",
        view_id: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        team_id: str | None = None,
    ) -> SignedRequest:
        payload = {
            "type": "view_submission",
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "api_app_id": "A0COHOST",
            "token": "verification-token-unused",
            "trigger_id": trigger_id or _trigger_id(),
            "view": {
                "id": view_id or "V" + uuid.uuid4().hex[:10].upper(),
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": state_values},
                "team_id": team_id or self.team_id,
            },
            "response_urls": [],
        }
        return self._interaction(payload, timestamp, None)

    def message_shortcut(
        self,
        callback_id: str,
        *,
        message: dict[str, Any],
        user_id: str = "U0ANN",
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
        response_url: str | None = None,
        timestamp: int | None = None,
        team_id: str | None = None,
    ) -> SignedRequest:
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "channel": {"id": channel_id, "name": "general"},
            "message": message,
            "message_ts": message.get("ts", ""),
            "trigger_id": trigger_id or _trigger_id(),
            "response_url": response_url or self.response_url(),
            "token": "verification-token-unused",
        }
        return self._interaction(payload, timestamp, None)

    async def send(
        self, session: aiohttp.ClientSession, events_url: str, request: SignedRequest
    ) -> tuple[int, str, float]:
        """Posts a signed request as Slack does; (status, body, seconds until the answer)."""
        started = time.perf_counter()
        async with session.post(events_url, data=request.body, headers=request.headers) as resp:
            text = await resp.text()
            return resp.status, text, time.perf_counter() - started


def blocks_problem(blocks: Any) -> str | None:
    """What makes a message's blocks break Block Kit's limits (Slack then refuses it), or None."""
    if blocks is None or blocks == "":
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return f"more than {MAX_BLOCKS} blocks"
    for block in blocks:
        problem = _block_problem(block) if isinstance(block, dict) else "a block that is not an object"
        if problem:
            return problem
    return None


def _text_of(element: Any) -> str:
    return str(element.get("text", "")) if isinstance(element, dict) else ""


def _block_problem(block: dict[str, Any]) -> str | None:
    kind = block.get("type")
    if kind == "header" and not 0 < len(_text_of(block.get("text"))) <= MAX_HEADER_TEXT:
        return "a header's text is empty or too long"
    if kind == "section":
        fields = block.get("fields") or []
        if len(_text_of(block.get("text"))) > MAX_SECTION_TEXT:
            return "a section's text is too long"
        if len(fields) > MAX_FIELDS or any(len(_text_of(f)) > MAX_FIELD_TEXT for f in fields):
            return "a section's fields are too many or too long"
        if not block.get("text") and not fields:
            return "a section without text"
    if kind == "context":
        elements = block.get("elements") or []
        if not 0 < len(elements) <= MAX_CONTEXT_ELEMENTS or any(len(_text_of(e)) > MAX_SECTION_TEXT for e in elements):
            return "a context's elements are none, too many or too long"
    if kind == "actions":
        for element in block.get("elements") or []:
            if not 0 < len(_text_of(element.get("text"))) <= MAX_BUTTON_TEXT:
                return "a button's text is empty or too long"
            if (
                len(str(element.get("url", ""))) > MAX_BUTTON_URL
                or len(str(element.get("value", ""))) > MAX_BUTTON_VALUE
            ):
                return "a button's url or value is too long"
    return None


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"


def _ts_of(answer: dict[str, Any]) -> dict[str, str]:
    ts = answer.get("ts") or answer.get("message_ts")
    return {"ts": str(ts)} if ts else {}


def _message_fields(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: payload[k] for k in ("text", "blocks", "attachments", "thread_ts", "metadata") if k in payload}


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    """A Web API payload, form-encoded or JSON, with slack_sdk's JSON-string fields decoded."""
    if not raw:
        return {}
    if "json" in content_type:
        data = json.loads(raw)
    else:
        from urllib.parse import parse_qsl

        data = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(data.get(key), str) and data[key][:1] in ("[", "{"):
            data[key] = json.loads(data[key])
    return dict(data)
