"""Workspaces are walls (DESIGN.md, "Trust and safety").

Every stored row belongs to a team and every lookup a request can reach takes the request's team
(services/store.py), so nothing of one workspace is found from another. On top of that, with one workspace
(`SLACK_BOT_TOKEN`) Cohost learns its own team from Slack's `auth.test` at start, and a request from any other
team (a command, a click, a form, a shortcut) is acknowledged and acted on in no way: no vendor call, no
message, no row written, one short log line. With any number of workspaces (OAuth), Bolt's authorization serves
only a workspace that installed Cohost, each request with that workspace's own token; `Workspaces` gives the work
no request started (the scheduler's) the token of the workspace it is for, and stops a workspace's work once it
uninstalled Cohost or Slack revoked its token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger("cohost.workspaces")


class HomeTeam:
    """The one workspace a bot token serves: the `team_id` Slack's `auth.test` answers for it."""

    def __init__(self) -> None:
        self.team_id: str | None = None

    async def learn(self, client: AsyncWebClient) -> str | None:
        """Asks Slack which team the token is for; None (and one log line) when Slack cannot say now."""
        try:
            answer = await client.auth_test()
        except (SlackApiError, aiohttp.ClientError, TimeoutError, ValueError) as exc:  # ValueError: not JSON
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            # Not fatal: each request is then checked against the team Bolt's own auth.test authorizes.
            log.warning("Slack auth.test did not say which workspace this is (%s); check SLACK_BOT_TOKEN", reason)
            return None
        team = answer.get("team_id")
        self.team_id = str(team) if team else None
        if self.team_id:
            log.info("serving Slack workspace %s", self.team_id)
        return self.team_id


def request_team(context: AsyncBoltContext) -> str:
    """The team a request comes from, as Bolt reads it from the payload (also what it authorizes against)."""
    return str(context.team_id or "")


def _what(body: dict[str, Any]) -> str:
    if body.get("command"):
        return f"{body['command']} command"
    return str(body.get("type") or "request")


def register(app: AsyncApp, home: HomeTeam) -> None:
    """The wall, as a global middleware: it runs after the signature check and Bolt's authorization (whose
    `auth.test` of the same token stands in if the team could not be learned at start), before any listener."""
    app.use(_OnlyOurWorkspace(home))


class _OnlyOurWorkspace(AsyncMiddleware):
    """A class rather than a function: Bolt calls it with the request as it is, where it would look up a function
    middleware's arguments by name on every request (a twentieth of what an acknowledgement cost)."""

    def __init__(self, home: HomeTeam) -> None:
        self._home = home

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context
        authorized = context.authorize_result.team_id if context.authorize_result is not None else None
        ours = self._home.team_id or authorized
        team = request_team(context)
        if ours is not None and team == ours:
            return await next()
        log.warning("ignored a %s from another Slack workspace (%s)", _what(req.body), team or "no team")
        return BoltResponse(status=200, body="")


# -- many workspaces ------------------------------------------------------------------------------------------------

#: Web API answers that mean the workspace's token is gone for good (uninstalled, revoked, workspace deactivated):
#: retrying cannot help, so that workspace's work stops.
TOKEN_GONE = frozenset({"invalid_auth", "account_inactive", "token_revoked"})


class NotInstalled(Exception):
    """Work for a workspace that has no installation of Cohost (any more): nothing is sent to Slack."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"Cohost is not installed in workspace {team_id}")
        self.team_id = team_id


def token_gone(error: BaseException) -> bool:
    """True for a failure that says the workspace's token will never work again."""
    if isinstance(error, NotInstalled):
        return True
    return isinstance(error, SlackApiError) and str(error.response.get("error")) in TOKEN_GONE


class Directory(Protocol):
    """The installed workspaces, as the store keeps them (bot/oauth.py): each one's token, and their removal."""

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's current bot token (refreshed first where Slack rotates it); None when not installed."""

    async def remove(self, team_id: str, why: str) -> None:
        """The workspace's installation removed, its pending jobs cancelled and its digests removed."""


class _InstalledClient(AsyncWebClient):
    """A workspace's Web API client: each call carries the token the directory has for that workspace now (looked
    up in memory almost always; see services/installations.py), so a refreshed token is used from the next call on
    and an uninstalled workspace gets no call at all."""

    def __init__(self, team_id: str, directory: Directory, like: AsyncWebClient) -> None:
        super().__init__(
            base_url=like.base_url, retry_handlers=like.retry_handlers, session=like.session, timeout=like.timeout
        )
        self.workspace = team_id
        self._directory = directory

    async def api_call(
        self, api_method: str, *, auth: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        if auth is None:  # a call with the app's own credentials (OAuth) needs no workspace token
            token = await self._directory.bot_token(self.workspace)
            if token is None:
                raise NotInstalled(self.workspace)
            # Read by the call below before it first yields: concurrent calls each send the token they looked up.
            self.token = token
        return await super().api_call(api_method, auth=auth, **kwargs)


class Workspaces:
    """The Web API client of each workspace Cohost serves: the one bot token's (one workspace), or each
    installation's own (many, `directory` given)."""

    def __init__(self, client: AsyncWebClient, directory: Directory | None = None) -> None:
        self._client = client
        self._directory = directory
        self._clients: dict[str, _InstalledClient] = {}

    @property
    def many(self) -> bool:
        return self._directory is not None

    def client_for(self, team_id: str) -> AsyncWebClient:
        if self._directory is None:
            return self._client
        client = self._clients.get(team_id)
        if client is None or client.session is not self._client.session:
            client = self._clients[team_id] = _InstalledClient(team_id, self._directory, self._client)
        return client

    async def gone(self, team_id: str, why: str) -> None:
        """The workspace's token will not work again: with many workspaces its installation is removed and its
        jobs and digests stopped; with one, the token is the operator's to replace, so it is only said."""
        if self._directory is None:
            log.error("Slack says the bot token no longer works (%s): replace SLACK_BOT_TOKEN", why)
            return
        self._clients.pop(team_id, None)
        await self._directory.remove(team_id, why)


def register_uninstall(app: AsyncApp, workspaces: Workspaces) -> None:
    """`app_uninstalled` and `tokens_revoked` (the bot's token among them) stop that workspace's work."""

    @app.event("app_uninstalled")
    async def uninstalled(context: AsyncBoltContext) -> None:
        await workspaces.gone(request_team(context), "Cohost was uninstalled")

    @app.event("tokens_revoked")
    async def revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        bots = (event.get("tokens") or {}).get("bot") or []
        if not bots:
            return  # only people's tokens, which Cohost does not keep
        await workspaces.gone(request_team(context), "its bot token was revoked")
