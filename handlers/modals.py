"""Submitted forms: `/cobrowse new` (the form itself is drawn in `cobrowse_views`)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from handlers import cobrowse, intake
from handlers.cobrowse_views import NEW_SESSION_VIEW
from handlers.context import Deps, Interaction
from handlers.parsing import ParseError, web_url
from services.vendors import CobrowseVendor

_UNAVAILABLE = "Cohost could not take this just now (its database did not answer). Please submit it again."


def _values(view: dict[str, Any]) -> dict[str, str]:
    """`{block_id: value}` from a submitted view's state, whatever the element type."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for element in actions.values():
            selected = element.get("selected_option") or {}
            value = selected.get("value") if selected else element.get("value")
            if value not in (None, ""):
                out[block_id] = str(value)
    return out


def request_from_form(values: dict[str, str]) -> tuple[cobrowse.NewSession, dict[str, str]]:
    """The session the form asks for, and the fields in error (block id -> message) if any."""
    errors: dict[str, str] = {}
    urls = [line.strip() for line in values.get("urls", "").splitlines() if line.strip()]
    for url in urls:
        try:
            web_url(url)
        except ParseError as exc:
            errors["urls"] = exc.message
    minutes = int(values["minutes"]) if values.get("minutes", "").isdigit() else None
    if "minutes" in values and (minutes is None or minutes < 1):
        errors["minutes"] = "A whole number of minutes, 1 or more."
    vendor: CobrowseVendor = "samesurf" if values.get("provider") == "samesurf" else "mirrortab"
    request = cobrowse.NewSession(
        vendor=vendor,
        urls=urls,
        name=values.get("name"),
        # The MirrorTab-only fields are simply not used for SameSurf, rather than refused.
        minutes=minutes if vendor == "mirrortab" else None,
        access=values.get("access") if vendor == "mirrortab" else None,
    )
    return request, errors


def as_command(request: cobrowse.NewSession) -> str:
    """The command that asks for the same session: given back with a failure so the form's input is not lost."""
    parts = ["/cobrowse", "new", *request.urls]
    for flag, value in (("--name", request.name), ("--minutes", request.minutes), ("--access", request.access)):
        if value:
            parts += [flag, shlex.quote(str(value))]
    return " ".join([*parts, "--provider", request.vendor])


def register(app: AsyncApp, deps: Deps) -> None:
    @app.view(NEW_SESSION_VIEW)
    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        request, errors = request_from_form(_values(view))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        metadata = json.loads(view.get("private_metadata") or "{}")
        team_id, user_id = str((body.get("team") or {}).get("id", "")), str(body["user"]["id"])
        channel_id = str(metadata.get("channel_id", ""))
        typed = as_command(request)
        try:
            ticket = await intake.receive(
                deps,
                body,
                team_id=team_id,
                user_id=user_id,
                channel_id=channel_id,
                command=cobrowse.COBROWSE.command,
                text=typed.removeprefix(cobrowse.COBROWSE.command).strip(),
                response_url=None,
            )
        except intake.IntakeUnavailable:
            # The form stays open with the reason, so nothing typed into it is lost.
            await ack(response_action="errors", errors={"provider": _UNAVAILABLE})
            return
        await ack()
        if ticket is None:  # a redelivery of a form already taken
            return
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            typed=typed,
            intake=ticket,
        )
        await intake.run(ix, lambda: cobrowse.start_session(ix, request))
