"""Submitted forms: `/cobrowse new` (the form itself is drawn in `cobrowse_views`)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import cobrowse
from handlers.cobrowse_views import NEW_SESSION_VIEW
from handlers.context import Deps, Interaction
from handlers.parsing import MAX_MINUTES, InputRules, ParseError, person_name, web_url
from handlers.workspaces import request_team
from services.vendors import CobrowseVendor


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


def request_from_form(values: dict[str, str], rules: InputRules) -> tuple[cobrowse.NewSession, dict[str, str]]:
    """The session the form asks for, and the fields in error (block id -> message) if any: the same bounds as
    the command's, checked before the form closes."""
    errors: dict[str, str] = {}
    urls = [line.strip() for line in values.get("urls", "").splitlines() if line.strip()]
    for url in urls:
        try:
            web_url(url, rules, "A page")
        except ParseError as exc:
            errors["urls"] = exc.message
    if "name" in values:
        try:
            person_name(values["name"], "The name")
        except ParseError as exc:
            errors["name"] = exc.message
    raw_minutes = values.get("minutes", "")
    minutes = int(raw_minutes) if raw_minutes.isascii() and raw_minutes.isdigit() and len(raw_minutes) <= 6 else None
    if "minutes" in values and (minutes is None or not 1 <= minutes <= MAX_MINUTES):
        errors["minutes"] = f"A whole number of minutes, from 1 to {MAX_MINUTES:,} (a week)."
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
    async def on_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        request, errors = request_from_form(_values(view), deps.input_rules)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        team_id = request_team(context)
        if not await deps.first_delivery(team_id, body):
            return
        metadata = json.loads(view.get("private_metadata") or "{}")
        ix = Interaction(
            deps=deps,
            client=client,
            team_id=team_id,
            user_id=str(body["user"]["id"]),
            channel_id=str(metadata.get("channel_id", "")),
            typed=as_command(request),
        )
        await ix.guarded(lambda: cobrowse.start_session(ix, request))
