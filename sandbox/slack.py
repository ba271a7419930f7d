"""A Slack Web API stand-in, and the signed requests Slack sends to an app.

The stand-in answers the Web API methods Cohost uses as Slack does (HTTP 200 with `ok: false` and an error
code for refusals; 429 with `Retry-After` when a fault is injected), keeps the channel messages so tests can
read cards as edited, records `response_url` posts, and lets a test wait for any of it without sleeping.

It is several workspaces at once, as Slack is: each token belongs to one workspace, and so does each person and
each channel (a channel is its workspace's from its first post on). A call whose token is unknown answers
`invalid_auth`, a revoked one `token_revoked`, an expired rotating one `token_expired`; a call that names a channel
or person of another workspace than its token's answers `channel_not_found` / `user_not_found`, as Slack does
for what the token cannot see, and is recorded (`wrong_token_calls`) so a test can assert there were none.

With an OAuth app set (`oauth_app`), it also serves Slack's side of an install: the authorize page
(`GET /oauth/v2/authorize`, where a person picks the workspace and allows), `oauth.v2.access` (the code for a bot
token of that workspace, or a refresh token for a new one where the app rotates tokens), `apps.uninstall`, and
the Events API envelopes Slack sends the app (`app_uninstalled`, `tokens_revoked`), signed. Told to
(`enforce_pace`), it keeps Slack's pace for `chat.postMessage` ("Web API rate limits": about one message a
second per channel, short bursts tolerated, and a workspace-wide limit of several hundred a minute), answering
429 with `Retry-After` beyond it.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import html
import itertools
import json
import math
import random
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
#: A Home tab's limits (views.publish, Block Kit's "Views" reference): 100 blocks, 250 kB.
MAX_HOME_BLOCKS, MAX_VIEW_BYTES = 100, 250_000
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
    team_id: str = ""

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
            "team_id": self.team_id,
            "profile": {"display_name": self.display_name, "real_name": self.real_name},
        }


@dataclass
class _ApiCall:
    method: str
    payload: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)
    #: The workspace of the call's token (None when the token is not one of a workspace).
    team: str | None = None
    token: str = ""


@dataclass
class Workspace:
    id: str
    name: str
    #: The bot user Cohost gets in this workspace, and its bot id.
    bot_user_id: str = "U0COHOST"
    bot_id: str = "B0COHOST"


@dataclass
class IssuedToken:
    team_id: str
    kind: Literal["bot", "refresh"]
    #: Epoch seconds; None for a token that never expires.
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class OAuthApp:
    """The app as configured at Slack: its credentials, redirect URLs, Events API request URL, token rotation."""

    client_id: str
    client_secret: str
    redirect_urls: list[str]
    events_url: str | None = None
    app_id: str = "A0COHOST"
    name: str = "Cohost"
    rotate_tokens: bool = False
    #: A rotating token's life: Slack's are 12 hours.
    token_lifetime_s: int = 43200


@dataclass
class _Grant:
    """What an authorize page's "Allow" granted, until its code is exchanged."""

    team_id: str
    user_id: str
    scopes: list[str]
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class WrongTokenCall:
    method: str
    #: The workspace of the token the call carried.
    token_team: str
    #: The workspace of the channel or person it named.
    named_team: str
    named: str


class _Bucket:
    """A token bucket: `rate` a second, up to `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> float:
        """0 when one more is allowed now (and it is taken), else the seconds until one is."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Pace:
    """Slack's pace for chat.postMessage, per workspace: per channel and workspace-wide."""

    per_channel_per_s: float = 1.0
    channel_burst: float = 2.0
    workspace_per_min: float = 300.0
    workspace_burst: float = 30.0
    channels: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    workspaces: dict[str, _Bucket] = field(default_factory=dict)

    def wait(self, team: str, channel: str) -> float:
        """0 when the post may go now, else the seconds Slack would ask to wait (nothing is taken then)."""
        workspace = self.workspaces.setdefault(team, _Bucket(self.workspace_per_min / 60, self.workspace_burst))
        per_channel = self.channels.setdefault((team, channel), _Bucket(self.per_channel_per_s, self.channel_burst))
        wait = per_channel.take()
        if wait:
            return wait
        wait = workspace.take()
        if wait:
            per_channel.tokens += 1  # not posted: the channel's turn is given back
        return wait


#: Bot scopes the authorize page knows; any other is refused as Slack refuses an invalid scope.
KNOWN_BOT_SCOPES = frozenset(
    {
        "app_mentions:read", "channels:history", "channels:read", "chat:write", "chat:write.customize",
        "chat:write.public", "commands", "files:read", "files:write", "groups:read", "im:history", "im:read",
        "im:write", "reactions:read", "reactions:write", "team:read", "users:read", "users:read.email",
    }
)  # fmt: skip


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
        self.workspaces: dict[str, Workspace] = {team_id: Workspace(team_id, "Sandbox", bot_user_id)}
        self.tokens: dict[str, IssuedToken] = {bot_token: IssuedToken(team_id, "bot")}
        #: Which workspace each channel belongs to: set with `add_channel`, or by its first post.
        self.channel_teams: dict[str, str] = {}
        self.wrong_token_calls: list[WrongTokenCall] = []
        self.oauth: OAuthApp | None = None
        self.pace: Pace | None = None
        #: Events API deliveries to the app: (event type, team, HTTP status the app answered).
        self.deliveries: list[tuple[str, str, int]] = []
        self._grants: dict[str, _Grant] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self.users: dict[str, SlackUser] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: list[tuple[str, str, dict[str, Any]]] = []
        self.responses: list[ResponsePost] = []
        self.views: dict[str, dict[str, Any]] = {}
        self._exchanged_triggers: set[str] = set()
        #: The Home tab each person sees in each workspace, as last published: (team, user) -> view.
        self.homes: dict[tuple[str, str], dict[str, Any]] = {}
        #: Whether the app has its Home tab switched on (manifest `app_home.home_tab_enabled`).
        self.home_tab_enabled = True
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

    def oauth_variables(self, client_id: str, client_secret: str) -> dict[str, str]:
        """On top of `variables()`: Cohost in OAuth mode as the app `client_id` (registered with `oauth_app`),
        installed through this stand-in's authorize page, with no bot token of its own."""
        return {
            "SLACK_BOT_TOKEN": "",
            "SLACK_CLIENT_ID": client_id,
            "SLACK_CLIENT_SECRET": client_secret,
            "SLACK_AUTHORIZE_URL": self.url + "/oauth/v2/authorize",
        }

    def routes(self) -> None:
        self.app.router.add_route("*", "/api/{method}", self._api_method)
        self.app.router.add_post("/response/{key}", self._response)
        self.app.router.add_route("*", "/upload/{file_id}", self._upload)
        self.app.router.add_get("/files-pri/{team_file}/{tail:.*}", self._download)
        self.app.router.add_get("/oauth/v2/authorize", self._authorize_page)
        self.app.router.add_post("/oauth/v2/authorize", self._authorize_decision)
        self.app.router.add_post("/_sandbox/oauth_app", self._set_oauth_app)

    def reset(self) -> None:
        super().reset()
        self.messages.clear()
        self.history.clear()
        self.responses.clear()
        self.views.clear()
        self._exchanged_triggers.clear()
        self.homes.clear()
        self.files.clear()
        self.hosted_files.clear()
        self._api.clear()
        self.wrong_token_calls.clear()
        self.deliveries.clear()
        if self.pace is not None:
            self.pace = Pace(
                self.pace.per_channel_per_s, self.pace.channel_burst, self.pace.workspace_per_min,
                self.pace.workspace_burst,
            )  # fmt: skip

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
        team_id: str | None = None,
    ) -> None:
        self.users[user_id] = SlackUser(
            user_id,
            name,
            display_name if display_name is not None else name,
            real_name or name.title(),
            tz,
            is_admin,
            is_owner,
            team_id or self.team_id,
        )

    # -- workspaces, OAuth, pace ---------------------------------------------------------------------------------

    def add_workspace(self, team_id: str, name: str, *, bot_user_id: str | None = None) -> Workspace:
        """Another workspace, with no token yet: it gets one by installing the app (`oauth_app`)."""
        workspace = Workspace(team_id, name, bot_user_id or f"U{team_id[1:]}BOT", f"B{team_id[1:]}BOT")
        self.workspaces[team_id] = workspace
        return workspace

    def add_channel(self, channel_id: str, team_id: str) -> None:
        self.channel_teams[channel_id] = team_id

    def oauth_app(
        self,
        client_id: str,
        client_secret: str,
        redirect_urls: list[str],
        *,
        events_url: str | None = None,
        rotate_tokens: bool = False,
        token_lifetime_s: int = 43200,
    ) -> OAuthApp:
        self.oauth = OAuthApp(
            client_id, client_secret, redirect_urls, events_url, rotate_tokens=rotate_tokens,
            token_lifetime_s=token_lifetime_s,
        )  # fmt: skip
        return self.oauth

    def enforce_pace(self, pace: Pace | None = None) -> None:
        """From now on chat.postMessage keeps Slack's pace (`Pace()`: its defaults), 429 beyond it."""
        self.pace = pace or Pace()

    def bot_tokens(self, team_id: str) -> list[str]:
        """The bot tokens issued to the app in a workspace, oldest first (revoked ones too)."""
        return [t for t, issued in self.tokens.items() if issued.team_id == team_id and issued.kind == "bot"]

    def revoke(self, team_id: str) -> None:
        """Every token of the workspace stops working (`token_revoked`)."""
        for issued in self.tokens.values():
            if issued.team_id == team_id:
                issued.revoked = True

    async def uninstall(self, team_id: str) -> list[int]:
        """The workspace removes the app: its tokens are revoked, and the app is sent `app_uninstalled` and
        `tokens_revoked`, as Slack sends them; returns the HTTP status of each delivery."""
        bots = [self.workspaces[team_id].bot_user_id] if team_id in self.workspaces else []
        self.revoke(team_id)
        return [
            await self.deliver(team_id, {"type": "app_uninstalled"}),
            await self.deliver(team_id, {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": bots}}),
        ]

    def calls_with_token_of(self, team_id: str) -> list[str]:
        """The Web API methods called with any token of the workspace (refused ones too), oldest first."""
        return [c.method for c in self._api if c.team == team_id]

    # -- reading what happened --------------------------------------------------------------------------------

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        """The payloads of the successful calls of `method`, oldest first (with `ts` added where one was made)."""
        return [{**c.payload, **_ts_of(c.answer)} for c in self._api if c.method == method and c.answer.get("ok")]

    def teams_of(self, method: str) -> list[tuple[str | None, dict[str, Any]]]:
        """(workspace of the token, payload) of each successful call of `method`, oldest first."""
        return [(c.team, c.payload) for c in self._api if c.method == method and c.answer.get("ok")]

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
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip() or payload.pop("token", "")
        if authorization.startswith("Basic ") or method == "oauth.v2.access":
            token = ""  # the app's own credentials, not a workspace's token
        issued = self.tokens.get(token) if token else None
        call = _ApiCall(method, payload, team=issued.team_id if issued else None, token=token)
        self._api.append(call)
        status, headers = 200, {}
        if method == "oauth.v2.access":
            call.answer = self._oauth_v2_access(payload, authorization)
        elif issued is None or issued.kind != "bot":
            call.answer = {"ok": False, "error": "not_authed" if not token else "invalid_auth"}
        elif issued.revoked:
            call.answer = {"ok": False, "error": "token_revoked"}
        elif issued.expires_at is not None and issued.expires_at <= time.time():
            call.answer = {"ok": False, "error": "token_expired"}
        elif (refused := self._other_workspace(method, payload, issued.team_id)) is not None:
            call.answer = refused
        elif method == "chat.postMessage" and (wait := self._pace_wait(issued.team_id, payload)):
            status, headers = 429, {"Retry-After": str(max(1, math.ceil(wait)))}
            call.answer = {"ok": False, "error": "ratelimited"}
        else:
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            call.answer = handler(payload) if handler else {"ok": False, "error": "unknown_method"}
            if call.answer.get("ok"):
                self._claim(method, payload, issued.team_id)
        self._changed.set()
        return web.json_response(call.answer, status=status, headers=headers)

    def _named(self, payload: dict[str, Any]) -> list[tuple[str, str | None]]:
        """(what, its workspace) of the channels and people a call names."""
        named: list[tuple[str, str | None]] = []
        channel = str(payload.get("channel") or payload.get("channel_id") or "")
        if channel:
            owner = self.channel_teams.get(channel)
            if owner is None and channel.startswith("D") and channel[1:] in self.users:
                owner = self.users[channel[1:]].team_id
            named.append((channel, owner))
        people = payload.get("user") or payload.get("users") or payload.get("user_id") or ""
        for user_id in filter(None, str(people).split(",")):
            named.append((user_id, self.users[user_id].team_id if user_id in self.users else None))
        return named

    def _other_workspace(self, method: str, payload: dict[str, Any], team: str) -> dict[str, Any] | None:
        """Slack's answer to a call naming what the token's workspace cannot see; None when all is its own."""
        for what, owner in self._named(payload):
            if owner is not None and owner != team:
                self.wrong_token_calls.append(WrongTokenCall(method, team, owner, what))
                return {"ok": False, "error": "user_not_found" if what.startswith(("U", "W")) else "channel_not_found"}
        return None

    def _claim(self, method: str, payload: dict[str, Any], team: str) -> None:
        if method == "chat.postMessage":
            self.channel_teams.setdefault(str(payload.get("channel")), team)

    def _pace_wait(self, team: str, payload: dict[str, Any]) -> float:
        return self.pace.wait(team, str(payload.get("channel", ""))) if self.pace is not None else 0.0

    # -- OAuth ----------------------------------------------------------------------------------------------------

    def _oauth_v2_access(self, payload: dict[str, Any], authorization: str) -> dict[str, Any]:
        """The code of an "Allow" (or, with token rotation, a refresh token) for a bot token, as Slack answers."""
        app = self.oauth
        client_id, client_secret = str(payload.get("client_id", "")), str(payload.get("client_secret", ""))
        if authorization.startswith("Basic "):
            try:
                client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_client_id"}
        if app is None or client_id != app.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if not hmac.compare_digest(client_secret, app.client_secret):
            return {"ok": False, "error": "bad_client_secret"}
        if payload.get("grant_type") == "refresh_token":
            refresh = self.tokens.get(str(payload.get("refresh_token", "")))
            if refresh is None or refresh.kind != "refresh" or refresh.revoked:
                return {"ok": False, "error": "invalid_refresh_token"}
            return self._granted(app, refresh.team_id, None, [], refresh_used=str(payload["refresh_token"]))
        grant = self._grants.get(str(payload.get("code", "")))
        if grant is None or grant.used or grant.expires_at <= time.time():
            return {"ok": False, "error": "invalid_code"}
        if payload.get("redirect_uri") not in (None, grant.redirect_uri):
            return {"ok": False, "error": "bad_redirect_uri"}
        grant.used = True
        return self._granted(app, grant.team_id, grant.user_id, grant.scopes)

    def _granted(
        self, app: OAuthApp, team_id: str, user_id: str | None, scopes: list[str], refresh_used: str | None = None
    ) -> dict[str, Any]:
        workspace = self.workspaces[team_id]
        if app.rotate_tokens:
            token = f"xoxe.xoxb-1-{team_id}-{secrets.token_hex(12)}"
            self.tokens[token] = IssuedToken(team_id, "bot", time.time() + app.token_lifetime_s)
        else:
            token = f"xoxb-{team_id}-{secrets.token_hex(12)}"
            self.tokens[token] = IssuedToken(team_id, "bot")
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": app.app_id,
            "access_token": token,
            "token_type": "bot",
            "scope": ",".join(scopes) if scopes else self._scopes_of(team_id),
            "bot_user_id": workspace.bot_user_id,
            "team": {"id": team_id, "name": workspace.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if user_id is not None:
            answer["authed_user"] = {"id": user_id}
        if app.rotate_tokens:
            if refresh_used is not None:
                self.tokens[refresh_used].revoked = True  # a refresh token is good once: a new one comes back
            refresh = f"xoxe-1-{team_id}-{secrets.token_hex(16)}"
            self.tokens[refresh] = IssuedToken(team_id, "refresh")
            answer |= {"refresh_token": refresh, "expires_in": app.token_lifetime_s}
        return answer

    def _scopes_of(self, team_id: str) -> str:
        return next((",".join(g.scopes) for g in reversed(self._grants.values()) if g.team_id == team_id), "")

    def _apps_uninstall(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Called with the workspace's token: the app leaves that workspace (its events follow)."""
        app = self.oauth
        credentials = (payload.get("client_id"), payload.get("client_secret"))
        if app is None or credentials != (app.client_id, app.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        team = self._api[-1].team
        assert team is not None
        task = asyncio.ensure_future(self.uninstall(team))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return {"ok": True}

    async def _set_oauth_app(self, request: web.Request) -> web.Response:
        """`oauth_app` from another process (benchmarks): `{"client_id", "client_secret", "redirect_urls",
        "events_url"?, "workspaces"?: {team_id: name}}`."""
        data = await request.json()
        for team_id, name in (data.get("workspaces") or {}).items():
            if team_id not in self.workspaces:
                self.add_workspace(str(team_id), str(name))
        self.oauth_app(
            str(data["client_id"]),
            str(data["client_secret"]),
            [str(url) for url in data["redirect_urls"]],
            events_url=data.get("events_url"),
        )
        return web.json_response({"ok": True})

    def _authorize_error(self, error: str) -> web.Response:
        # What Slack shows: a page of its own naming the problem, and no redirect anywhere.
        return web.Response(
            status=400,
            text=f"<!DOCTYPE html><html><body><h1>Something went wrong</h1><p id=error>{error}</p></body></html>",
            content_type="text/html",
        )

    def _authorize_checks(self, query: dict[str, str]) -> tuple[str, str] | web.Response:
        """The redirect URL and scopes of an authorize request, or Slack's error page."""
        app = self.oauth
        if app is None or query.get("client_id") != app.client_id:
            return self._authorize_error("invalid_client_id")
        redirect_uri = query.get("redirect_uri") or app.redirect_urls[0]
        if redirect_uri not in app.redirect_urls:
            return self._authorize_error("bad_redirect_uri")
        scopes = [s for s in query.get("scope", "").split(",") if s]
        if not scopes or any(scope not in KNOWN_BOT_SCOPES for scope in scopes):
            return self._authorize_error("invalid_scope")
        return redirect_uri, ",".join(scopes)

    async def _authorize_page(self, request: web.Request) -> web.Response:
        """Slack's authorize page: which workspace, what the app asks for, Allow or Cancel."""
        query = dict(request.query)
        checked = self._authorize_checks(query)
        if isinstance(checked, web.Response):
            return checked
        _, scopes = checked
        assert self.oauth is not None
        options = "".join(
            f'<option value="{html.escape(w.id)}"{" selected" if w.id == query.get("team") else ""}>'
            f"{html.escape(w.name)}</option>"
            for w in self.workspaces.values()
        )
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query.get(name, ""))}">'
            for name in ("client_id", "scope", "state", "redirect_uri")
        )
        listed = "".join(f"<li>{html.escape(scope)}</li>" for scope in scopes.split(","))
        page = f"""<!DOCTYPE html><html><head><title>Slack</title></head><body>
<h1>{html.escape(self.oauth.name)} is requesting permission to access a Slack workspace</h1>
<form method="post" action="/oauth/v2/authorize">{hidden}
<label>Workspace <select name="team">{options}</select></label>
<ul id="scopes">{listed}</ul>
<button type="submit" name="decision" value="deny">Cancel</button>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
</form></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def _authorize_decision(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        checked = self._authorize_checks(form)
        if isinstance(checked, web.Response):
            return checked
        redirect_uri, scopes = checked
        state = form.get("state", "")
        team = form.get("team", "")
        if form.get("decision") != "allow":
            return _redirect(redirect_uri, error="access_denied", state=state)
        if team not in self.workspaces:
            return self._authorize_error("invalid_team")
        installer = next((u.id for u in self.users.values() if u.team_id == team), f"U{team[1:]}INSTALLER")
        code = f"{int(time.time())}.{secrets.token_hex(16)}"
        self._grants[code] = _Grant(team, installer, scopes.split(","), redirect_uri, time.time() + 600)
        return _redirect(redirect_uri, code=code, state=state)

    # -- the Events API -----------------------------------------------------------------------------------------

    def event_callback(self, team_id: str, event: dict[str, Any], *, event_id: str | None = None) -> SignedRequest:
        """An Events API envelope as Slack sends it to the app's request URL, signed."""
        now = int(time.time())
        envelope = {
            "token": "verification-token-unused",
            "team_id": team_id,
            "api_app_id": self.oauth.app_id if self.oauth else "A0COHOST",
            "event": {**event, "event_ts": f"{now}.000100"},
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": now,
            "authorizations": [{"team_id": team_id, "is_bot": True, "is_enterprise_install": False}],
        }
        body = json.dumps(envelope).encode()
        headers = {**self.sign(body), "Content-Type": "application/json"}
        return SignedRequest(body, headers)

    async def deliver(self, team_id: str, event: dict[str, Any]) -> int:
        """Sends one event to the app's request URL; the HTTP status it answered (0: not reachable)."""
        url = self.oauth.events_url if self.oauth is not None else None
        if url is None:
            raise RuntimeError("the app has no Events API request URL (oauth_app(events_url=...))")
        request = self.event_callback(team_id, event)
        try:
            async with aiohttp.ClientSession() as http, http.post(url, data=request.body, headers=request.headers) as r:
                status = r.status
        except aiohttp.ClientError:
            status = 0
        self.deliveries.append((str(event.get("type")), team_id, status))
        self._changed.set()
        return status

    def _auth_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        team = self._api[-1].team or self.team_id
        workspace = self.workspaces[team]
        return {
            "ok": True,
            "url": f"https://{workspace.name.lower().replace(' ', '-')}.slack.example/",
            "team": workspace.name,
            "team_id": team,
            "user": "cohost",
            "user_id": workspace.bot_user_id,
            "bot_id": workspace.bot_id,
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
        if not channel or channel in self.not_in_channel or channel.startswith("CX"):
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
        trigger = str(payload.get("trigger_id") or "")
        if not _TRIGGER.fullmatch(trigger):
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger in self._exchanged_triggers:  # views.open: "already exchanged in a previous call"
            return {"ok": False, "error": "exchanged_trigger_id"}
        answer = self._store_view(payload.get("view") or {}, None)
        if answer.get("ok"):
            self._exchanged_triggers.add(trigger)
        return answer

    _views_push = _views_open

    def _views_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        view_id = str(payload.get("view_id", ""))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return self._store_view(payload.get("view") or {}, view_id)

    def _store_view(self, view: dict[str, Any], view_id: str | None) -> dict[str, Any]:
        problems = modal_problems(view)
        if problems:
            # What Slack answers a view it refuses: the reasons, each with a JSON pointer into the view.
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        view_id = view_id or "V" + uuid.uuid4().hex[:10].upper()
        stored = {**view, "id": view_id, "hash": uuid.uuid4().hex[:12], "team_id": self.team_id}
        self.views[view_id] = stored
        return {"ok": True, "view": stored}

    def _views_publish(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A person's Home tab, as Slack's `views.publish` takes it: `user_id` a person of the token's workspace
        (another workspace's is refused before this, as for every call), `view` a `home` view of at most 100
        blocks and 250 kB, its block ids unique; the Home tab switched on for the app (else `not_enabled`)."""
        user = self.users.get(str(payload.get("user_id") or ""))
        team = self._api[-1].team or self.team_id
        if user is None or user.team_id != team:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["invalid `user_id`"]}}
        view = payload.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["invalid `view`"]}}
        if not self.home_tab_enabled:
            return {"ok": False, "error": "not_enabled"}
        if len(json.dumps(view)) > MAX_VIEW_BYTES:
            return {"ok": False, "error": "view_too_large"}
        problem = home_blocks_problem(view.get("blocks"))
        if problem is not None:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
        stored = {**view, "id": "V" + uuid.uuid4().hex[:10].upper(), "hash": uuid.uuid4().hex[:12], "team_id": team}
        self.homes[(team, user.id)] = stored
        return {"ok": True, "view": stored}

    def home_of(self, user_id: str, team_id: str | None = None) -> dict[str, Any] | None:
        """The Home tab `user_id` sees now (in `team_id`, the stand-in's own workspace by default)."""
        return self.homes.get((team_id or self.team_id, user_id))

    def publishes_for(self, user_id: str, team_id: str | None = None) -> int:
        """How many times a Home was published for the person (successful `views.publish` calls)."""
        team = team_id or self.team_id
        return sum(1 for t, p in self.teams_of("views.publish") if t == team and p.get("user_id") == user_id)

    def _users_info(self, payload: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(payload.get("user", "")))
        return {"ok": True, "user": user.as_api()} if user else {"ok": False, "error": "user_not_found"}

    def _conversations_open(self, payload: dict[str, Any]) -> dict[str, Any]:
        users = str(payload.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        user = users.split(",")[0]
        if user not in self.users:
            # Slack's conversations.open reference: `user_not_found`, "Value(s) passed for users was invalid".
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + user}}

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
        issued = self.tokens.get(token)
        team = request.match_info["team_file"].rsplit("-", 1)[0]
        if issued is None or issued.revoked or issued.kind != "bot" or issued.team_id != team:
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
        where = {
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
            "channel": {"id": channel_id, "name": "general"},
            "message": message or self.messages.get((channel_id, message_ts), {"ts": message_ts, "type": "message"}),
            "response_url": response_url or self.response_url(),
        }
        click = _button_click(action_id, block_id, value, action_ts)
        return self._interaction(self._block_actions(click, user_id, team_id, trigger_id, where), timestamp, retry_num)

    def _block_actions(
        self, action: dict[str, Any], user_id: str, team_id: str | None, trigger_id: str | None, where: dict[str, Any]
    ) -> dict[str, Any]:
        """A `block_actions` payload: who clicked what, and `where` (a message in a channel, or a view)."""
        return {
            "type": "block_actions",
            "user": self._user(user_id, team_id),
            "api_app_id": "A0COHOST",
            "token": "verification-token-unused",
            "trigger_id": trigger_id or _trigger_id(),
            "team": self._team(team_id),
            **where,
            "actions": [action],
        }

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

    def global_shortcut(
        self,
        callback_id: str,
        *,
        user_id: str = "U0ANN",
        trigger_id: str | None = None,
        timestamp: int | None = None,
        team_id: str | None = None,
    ) -> SignedRequest:
        """A global shortcut as Slack sends it (Slack's "Shortcuts payloads"): type `shortcut`, and unlike a message
        shortcut no channel, no message and no response_url: only who, where (the team) and a trigger."""
        payload = {
            "type": "shortcut",
            "token": "verification-token-unused",
            "action_ts": f"{time.time():.6f}",
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id or _trigger_id(),
        }
        return self._interaction(payload, timestamp, None)

    def view_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        view_type: str = "home",
        block_id: str = "home_actions",
        user_id: str = "U0ANN",
        action_ts: str | None = None,
        trigger_id: str | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        team_id: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> SignedRequest:
        """A button clicked on a view (the App Home, a modal): a `block_actions` payload whose container is the view,
        with no channel, no message and no response_url, as Slack sends it for a surface that is not a message."""
        if view is None:
            view_id = "V" + uuid.uuid4().hex[:10].upper()
            view = {"id": view_id, "type": view_type, "team_id": team_id or self.team_id, "blocks": []}
        where = {"container": {"type": "view", "view_id": view["id"]}, "view": view}
        click = _button_click(action_id, block_id, value, action_ts)
        return self._interaction(self._block_actions(click, user_id, team_id, trigger_id, where), timestamp, retry_num)

    def home_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "home",
        user_id: str = "U0ANN",
        team_id: str | None = None,
        action_ts: str | None = None,
    ) -> SignedRequest:
        """A click on a button of the person's Home tab as last published (`view_action` on that view): no channel,
        no message and no `response_url` (an answer to the person goes by direct message)."""
        home = self.homes.get((team_id or self.team_id, user_id))
        return self.view_action(
            action_id, value=value, block_id=block_id, user_id=user_id, team_id=team_id, action_ts=action_ts, view=home
        )

    def submitted(
        self,
        view_id: str,
        answers: dict[str, Any],
        *,
        user_id: str = "U0ANN",
        team_id: str | None = None,
    ) -> SignedRequest:
        """The `view_submission` of a form this stand-in opened (`views.open`), filled in as Slack's client fills
        it: each input's state in the shape of its element (`form_state`), the form's own callback_id and
        private_metadata. Refuses, as Slack's client does, a form it would not let be submitted."""
        view = self.views[view_id]
        return self.view_submission(
            str(view.get("callback_id") or ""),
            form_state(view, answers),
            private_metadata=str(view.get("private_metadata") or ""),
            user_id=user_id,
            view_id=view_id,
            team_id=team_id,
        )

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


#: Slack's modal view object ("Modal views"): a title and the submit and close buttons of at most 24 characters,
#: at most 100 blocks, `submit` required with any input block, private_metadata up to 3,000 characters, a
#: callback_id up to 255; inputs need a label (up to 2,000) and an element, block ids are unique (up to 255).
MAX_MODAL_BLOCKS, MAX_MODAL_TITLE, MAX_METADATA, MAX_ID, MAX_LABEL = 100, 24, 3000, 255, 2000
#: Elements an input block takes, by what the client sends back for each in `state.values`.
_VALUE_ELEMENTS = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
_INPUT_ELEMENTS = _VALUE_ELEMENTS | {"static_select", "conversations_select", "multi_users_select", "users_select"}
#: The kinds of conversation a conversations filter may include (Slack's "Conversation filter object").
_CONVERSATION_KINDS = {"im", "mpim", "private", "public"}
#: A trigger as Slack makes them (`12345.98765.abcd2358fdea`): views.open refuses any other as invalid.
_TRIGGER = re.compile(r"\d+\.\d+\.[0-9a-f]+")


def modal_problems(view: Any) -> list[str]:
    """Why Slack would refuse `view` as a modal (each reason with its JSON pointer), or nothing."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        return ["[ERROR] must be a modal view [json-pointer:/view/type]"]
    problems = []
    for key in ("title", "submit", "close"):
        text = view.get(key)
        if text is None and key != "title":
            continue
        if not isinstance(text, dict) or text.get("type") != "plain_text" or not text.get("text"):
            problems.append(f"[ERROR] must be a plain_text object with text [json-pointer:/view/{key}]")
        elif len(str(text["text"])) > MAX_MODAL_TITLE:
            problems.append(f"[ERROR] must be at most {MAX_MODAL_TITLE} characters [json-pointer:/view/{key}/text]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_MODAL_BLOCKS:
        return [*problems, f"[ERROR] must be a list of at most {MAX_MODAL_BLOCKS} blocks [json-pointer:/view/blocks]"]
    if len(str(view.get("private_metadata") or "")) > MAX_METADATA:
        problems.append(f"[ERROR] must be at most {MAX_METADATA} characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id") or "")) > MAX_ID:
        problems.append(f"[ERROR] must be at most {MAX_ID} characters [json-pointer:/view/callback_id]")
    inputs = [(i, b) for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") == "input"]
    if inputs and view.get("submit") is None:
        problems.append("[ERROR] submit is required when an input block is in the view [json-pointer:/view/submit]")
    block_ids = [str(b["block_id"]) for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(block_ids) != len(set(block_ids)) or any(len(b) > MAX_ID for b in block_ids):
        problems.append("[ERROR] block_id values must be unique and at most 255 characters [json-pointer:/view/blocks]")
    for index, block in inputs:
        problems += [f"{p} [json-pointer:/view/blocks/{index}]" for p in _input_problems(block)]
    other = [b for b in blocks if not (isinstance(b, dict) and b.get("type") == "input")]
    problem = blocks_problem(other) if other else None
    if problem:
        problems.append(f"[ERROR] {problem} [json-pointer:/view/blocks]")
    return problems


def _input_problems(block: dict[str, Any]) -> list[str]:
    label = block.get("label")
    problems = []
    if not isinstance(label, dict) or not 0 < len(str(label.get("text") or "")) <= MAX_LABEL:
        problems.append("[ERROR] an input needs a plain_text label of at most 2,000 characters")
    element = block.get("element")
    if not isinstance(element, dict) or element.get("type") not in _INPUT_ELEMENTS:
        return [*problems, "[ERROR] an input needs an element of a kind it takes"]
    include = (element.get("filter") or {}).get("include")
    if include is not None and (not include or not set(include) <= _CONVERSATION_KINDS):
        problems.append("[ERROR] a conversations filter includes im, mpim, private or public, at least one")
    if element.get("type") == "static_select" and not element.get("options"):
        problems.append("[ERROR] a static_select needs options")
    return problems


def form_state(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """`state.values` of a submitted form as Slack's client sends it: `{block_id: {action_id: state}}` for every
    input, in the shape of its element (Slack's view_submission payloads, and its "full state" changelog):
    `value` for a typed one, `selected_option` for a static select (the option object, the initial one if not
    changed), `selected_conversation`, `selected_user` or `selected_users` for a picker, null where left empty.
    `answers` are by block id (a value, an option's value, a conversation id, user ids). Raises ValueError where
    the client would not submit the form: a required input left empty, an option the select does not offer, a
    number out of the input's bounds, an answer for an input the form does not have."""
    inputs = {str(b.get("block_id")): b for b in view.get("blocks") or [] if b.get("type") == "input"}
    unknown = set(answers) - set(inputs)
    if unknown:
        raise ValueError(f"the form has no input {sorted(unknown)}")
    state: dict[str, Any] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        kind, answer = element["type"], answers.get(block_id)
        if kind in _VALUE_ELEMENTS:
            _check_number(element, answer)
            entry: dict[str, Any] = {"value": str(answer) if answer not in (None, "") else None}
        elif kind == "static_select":
            offered = {o["value"]: o for o in element.get("options") or []}
            if answer is not None and answer not in offered:
                raise ValueError(f"{block_id}: {answer!r} is not one of its options")
            entry = {"selected_option": offered[answer] if answer is not None else element.get("initial_option")}
        elif kind == "conversations_select":
            entry = {"selected_conversation": answer or None}
        elif kind == "users_select":
            entry = {"selected_user": answer or None}
        else:
            entry = {"selected_users": list(answer or [])}
        if not block.get("optional") and not any(entry.values()):
            raise ValueError(f"{block_id} is required: Slack's client does not submit the form without it")
        state[block_id] = {str(element.get("action_id") or block_id): {"type": kind, **entry}}
    return state


def _check_number(element: dict[str, Any], answer: Any) -> None:
    if element.get("type") != "number_input" or answer in (None, ""):
        return
    try:
        number = float(str(answer))
    except ValueError:
        raise ValueError(f"{answer!r} is not a number: Slack's client does not submit it") from None
    low, high = element.get("min_value"), element.get("max_value")
    whole = element.get("is_decimal_allowed") or number.is_integer()
    if not whole or (low is not None and number < float(low)) or (high is not None and number > float(high)):
        raise ValueError(f"{answer!r} is out of the number input's bounds: Slack's client does not submit it")


def home_blocks_problem(blocks: Any) -> str | None:
    """What makes a Home tab's blocks break Block Kit's limits: more than 100 blocks, a block id used twice, or
    any of a message's block limits."""
    if not isinstance(blocks, list) or len(blocks) > MAX_HOME_BLOCKS:
        return f"no blocks, or more than {MAX_HOME_BLOCKS}"
    ids = [b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id")]
    if len(ids) != len(set(ids)):
        return "a block_id is used twice"
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
    buttons = list(block.get("elements") or []) if kind == "actions" else []
    if kind == "section" and isinstance(block.get("accessory"), dict):
        buttons.append(block["accessory"])
    for element in buttons:
        if not 0 < len(_text_of(element.get("text"))) <= MAX_BUTTON_TEXT:
            return "a button's text is empty or too long"
        if len(str(element.get("url", ""))) > MAX_BUTTON_URL or len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            return "a button's url or value is too long"
    return None


def _redirect(url: str, **params: str) -> web.Response:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    raise web.HTTPFound(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)))


def _button_click(action_id: str, block_id: str, value: str | None, action_ts: str | None) -> dict[str, Any]:
    """The `actions` entry of a button's click, as a `block_actions` payload carries it."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "text": {"type": "plain_text", "text": "x"},
        "action_ts": action_ts or f"{time.time():.6f}{uuid.uuid4().int % 1000:03d}",
    }
    if value is not None:
        action["value"] = value
    return action


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
    data = json.loads(raw) if "json" in content_type else dict(parse_qsl(raw.decode(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        if isinstance(data.get(key), str) and data[key][:1] in ("[", "{"):
            data[key] = json.loads(data[key])
    return dict(data)
