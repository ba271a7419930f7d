"""Buttons on cards. Each listener acknowledges, then hands the click to its command family."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import cobrowse
from handlers.blocks import JOIN_ACTION
from handlers.context import Deps, Interaction


def register(app: AsyncApp, deps: Deps) -> None:
    def interaction(body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> Interaction:
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        return Interaction(
            deps=deps,
            client=client,
            team_id=str((body.get("team") or {}).get("id", "")),
            user_id=str(body["user"]["id"]),
            channel_id=str(channel),
            respond=respond,
            trigger_id=body.get("trigger_id"),
        )

    @app.action(JOIN_ACTION)
    async def on_join(ack: AsyncAck) -> None:
        # A URL button opens its link in the browser; Slack still expects the click acknowledged.
        await ack()

    @app.action(cobrowse.END_ACTION)
    async def on_end(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if await deps.first_delivery(body):
            ix = interaction(body, client, respond)
            await ix.guarded(lambda: cobrowse.end_card(ix, str(action["value"])))

    @app.action(cobrowse.INVITE_LINK_ACTION)
    async def on_invite_link(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if await deps.first_delivery(body):
            ix = interaction(body, client, respond)
            await ix.guarded(lambda: cobrowse.invite_link_for_clicker(ix, str(action["value"])))
