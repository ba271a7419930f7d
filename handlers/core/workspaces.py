"""Workspaces are walls (DESIGN.md, "Trust and safety").

Every stored row belongs to a team and every lookup a request can reach takes the request's team
(services/store.py), so nothing of one workspace is found from another. On top of that, with one workspace
(`SLACK_BOT_TOKEN`) Cohost learns its own team from Slack's `auth.test` at start, and a request from any other
team (a command, a click, a form, a shortcut) is acknowledged and acted on in no way: no vendor call, no
message, no row written, one short log line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

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

    @app.use
    async def only_our_workspace(
        context: AsyncBoltContext, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        authorized = context.authorize_result.team_id if context.authorize_result is not None else None
        ours = home.team_id or authorized
        team = request_team(context)
        if ours is not None and team == ours:
            await next_()
            return None
        log.warning("ignored a %s from another Slack workspace (%s)", _what(body), team or "no team")
        return BoltResponse(status=200, body="")
