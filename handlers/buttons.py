"""Buttons on cards. Each click is acknowledged, claimed once, then handed to its command family."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import cobrowse, meeting, meeting_views
from handlers.blocks import JOIN_ACTION
from handlers.context import Deps, Interaction
from handlers.workspaces import request_team

#: What a click does, given who clicked (and where) and the button's value.
ClickHandler = Callable[[Interaction, str], Awaitable[None]]

CLICKS: dict[str, ClickHandler] = {
    cobrowse.END_ACTION: cobrowse.end_card,
    cobrowse.INVITE_LINK_ACTION: cobrowse.invite_link_for_clicker,
    meeting_views.MY_LINK_ACTION: meeting.my_link,
    meeting_views.END_ACTION: meeting.end_card,
}


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(JOIN_ACTION)
    async def on_join(ack: AsyncAck) -> None:
        # A URL button opens its link in the browser; Slack still expects the click acknowledged.
        await ack()

    for action_id, handler in CLICKS.items():
        app.action(action_id)(_listener(deps, handler))


def _listener(deps: Deps, handler: ClickHandler) -> Any:
    async def on_click(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        team_id = request_team(context)
        if not await deps.first_delivery(team_id, body):
            return
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=str(body["user"]["id"]),
            channel_id=str(channel),
            respond=respond,
            trigger_id=body.get("trigger_id"),
            message_ts=(body.get("container") or {}).get("message_ts"),
        )
        await ix.guarded(lambda: handler(ix, str(action.get("value", ""))))

    return on_click
