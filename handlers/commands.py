"""Slash commands: one listener per family, reading that family's grammar table.

Parsing happens before the acknowledgement, so a typo is answered in the ack itself (usage line included). A
command that will act is recorded before it is acknowledged (handlers/intake.py: acknowledged means recorded,
and a redelivery finds its record and acts on nothing); everything slower runs after `ack()`, well inside
Slack's 3 s.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, intake
from handlers.cobrowse import COBROWSE
from handlers.context import Deps, Interaction
from handlers.meeting import MEETING
from handlers.parsing import Family, ParseError
from handlers.upload import UPLOAD

FAMILIES: tuple[Family, ...] = (COBROWSE, MEETING, UPLOAD)


def register(app: AsyncApp, deps: Deps) -> None:
    for family in FAMILIES:
        app.command(family.command)(_listener(family, deps))


def _listener(family: Family, deps: Deps) -> Any:
    help_hint = f"`{family.command} help` lists what it can do."

    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        text = str(command.get("text") or "")
        typed = f"{family.command} {text}".strip()
        try:
            parsed = family.parse(text)
        except ParseError as exc:
            answer = blocks.usage_error_text(exc.message, exc.usage, typed, help_hint)
            await ack(text=answer if exc.usage else f"{answer}\n\n{family.help_text()}")
            return
        if parsed is None:
            await ack(text=family.help_text())
            return
        team_id, user_id = str(command.get("team_id", "")), str(command["user_id"])
        channel_id = str(command["channel_id"])
        try:
            ticket = await intake.receive(
                deps,
                command,
                team_id=team_id,
                user_id=user_id,
                channel_id=channel_id,
                command=family.command,
                text=text,
                response_url=command.get("response_url"),
            )
        except intake.IntakeUnavailable:
            await ack(text=intake.unavailable_text(typed))
            return
        await ack()
        if ticket is None:  # a redelivery of a command already taken
            return
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            respond=respond,
            typed=typed,
            trigger_id=command.get("trigger_id"),
            intake=ticket,
        )
        await intake.run(ix, lambda: parsed.sub.handler(ix, parsed), help_hint=help_hint)

    return on_command
