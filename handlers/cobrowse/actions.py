"""What `/cobrowse` cards and forms do: the End and Invite link buttons, and the `/cobrowse new` form submitted
(the form itself is drawn in `views`)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from handlers.cobrowse import commands as cobrowse
from handlers.cobrowse.commands import FAMILY
from handlers.core import cards
from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import MAX_MINUTES, InputRules, ParseError, person_name, web_url
from handlers.core.interaction import Interaction
from handlers.core.listeners import Submission
from services import registry
from services.cobrowsing import ACCESS, MINUTES


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
    vendors = registry.family_vendors(FAMILY)
    entry = next((v for v in vendors if v.key == values.get("provider")), vendors[0])
    request = cobrowse.NewSession(
        vendor=entry.key,
        urls=urls,
        name=values.get("name"),
        # Fields of another vendor's options are simply not used, rather than refused.
        minutes=minutes if MINUTES in entry.options else None,
        access=values.get("access") if ACCESS in entry.options else None,
    )
    return request, errors


def as_command(request: cobrowse.NewSession) -> str:
    """The command that asks for the same session: given back with a failure so the form's input is not lost."""
    parts = ["/cobrowse", "new", *request.urls]
    for flag, value in (("--name", request.name), ("--minutes", request.minutes), ("--access", request.access)):
        if value:
            parts += [flag, shlex.quote(str(value))]
    return " ".join([*parts, "--provider", request.vendor])


def read_form(view: dict[str, Any], rules: InputRules) -> Submission:
    """The submitted `/cobrowse new` form: its errors, or the session to start in the channel it came from."""
    request, errors = request_from_form(_values(view), rules)
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    channel_id = str(metadata.get("channel_id", "")) if isinstance(metadata, dict) else ""

    async def start(ix: Interaction) -> None:
        await cobrowse.start_session(ix, request)

    return Submission(start, as_command(request), channel_id, errors)


async def end_card(ix: Interaction, value: str) -> None:
    """The End button of a co-browsing card."""
    await cards.end_clicked(ix, FAMILY, value)


async def invite_link_for_clicker(ix: Interaction, room: str) -> None:
    """The Invite link button: a new one-use follower invitation, named after the person who clicked."""
    person = await ix.person()
    invitation = await ix.deps.vendors.samesurf.create_invitation(room, usagelimit=1, usersname=person.name)
    await ix.private(Mrkdwn(":link: Your one-use link to SameSurf room {}: {}").format(code(room), invitation.link))
