"""Message shortcuts. "Mirror to MirrorAce" (`mirror_file`) streams the message's files to MirrorAce.

The shortcut is acknowledged at once and claimed once (a redelivery acts on nothing); the upload, however long,
runs after the acknowledgement.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import upload
from handlers.context import Deps, Interaction
from handlers.workspaces import request_team

MIRROR_FILE = "mirror_file"


def register(app: AsyncApp, deps: Deps) -> None:
    @app.message_shortcut(MIRROR_FILE)
    async def on_mirror(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        team_id = request_team(context)
        if not await deps.first_delivery(team_id, body):
            return
        message: dict[str, Any] = body.get("message") or {}
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=str(body["user"]["id"]),
            channel_id=str((body.get("channel") or {}).get("id", "")),
            respond=respond,
            trigger_id=body.get("trigger_id"),
            message_ts=message.get("ts"),
        )
        await ix.guarded(lambda: upload.mirror_message(ix, message))
