"""Slash commands: one listener per family, reading that family's grammar table.

Parsing happens before the acknowledgement, so a typo is answered in the ack itself (usage line included);
everything slower runs after `ack()`, well inside Slack's 3 s.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks
from handlers.cobrowse import COBROWSE
from handlers.context import Deps, Interaction
from handlers.meeting import MEETING
from handlers.parsing import Family, ParseError, as_typed
from handlers.upload import UPLOAD
from handlers.workspaces import request_team

FAMILIES: tuple[Family, ...] = (COBROWSE, MEETING, UPLOAD)


def register(app: AsyncApp, deps: Deps) -> None:
    for family in FAMILIES:
        app.command(family.command)(_listener(family, deps))


def _listener(family: Family, deps: Deps) -> Any:
    help_hint = blocks.Mrkdwn("{} lists what it can do.").format(blocks.code(f"{family.command} help"))

    async def on_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        text = str(command.get("text") or "")
        typed = f"{family.command} {as_typed(text)}".strip()
        try:
            parsed = family.parse(text, deps.input_rules)
        except ParseError as exc:
            answer = blocks.usage_error_text(exc.message, exc.usage, typed, help_hint)
            await ack(text=answer if exc.usage else answer + blocks.Mrkdwn("\n\n") + family.help_text())
            return
        if parsed is None:
            await ack(text=family.help_text())
            return
        await ack()
        team_id = request_team(context)
        if not await deps.first_delivery(team_id, command):
            return
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=str(command["user_id"]),
            channel_id=str(command["channel_id"]),
            respond=respond,
            typed=typed,
            trigger_id=command.get("trigger_id"),
        )
        await ix.guarded(lambda: parsed.sub.handler(ix, parsed), help_hint=help_hint)

    return on_command
