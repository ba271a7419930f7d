"""What `/cobrowse` cards and forms do: the Invite link button (End is every card's: handlers/core/cards.py) and
the `/cobrowse new` form submitted (the form itself is drawn in `views`)."""

from __future__ import annotations

import shlex
from typing import Any

from handlers.cobrowse import commands as cobrowse
from handlers.cobrowse.commands import FAMILY
from handlers.core import form_start, forms
from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import InputRules, ParseError, web_url
from handlers.core.interaction import Interaction
from handlers.core.listeners import Submission
from services import registry
from services.cobrowsing import ACCESS, MINUTES


def request_from_form(fields: dict[str, str], rules: InputRules) -> tuple[cobrowse.NewSession, dict[str, str]]:
    """The session the form asks for, and the fields in error (block id -> message) if any: the same bounds as
    the command's, checked before the form closes."""
    errors: dict[str, str] = {}
    urls = [line.strip() for line in fields.get("urls", "").splitlines() if line.strip()]
    for url in urls:
        try:
            web_url(url, rules, "A page")
        except ParseError as exc:
            errors["urls"] = exc.message
    name = forms.name(fields, errors)
    minutes = forms.minutes(fields, errors)
    vendors = registry.family_vendors(FAMILY)
    entry = next((v for v in vendors if v.key == fields.get(forms.PROVIDER)), vendors[0])
    request = cobrowse.NewSession(
        vendor=entry.key,
        urls=urls,
        name=name,
        # Fields of another vendor's options are simply not used, rather than refused.
        minutes=minutes if MINUTES in entry.options else None,
        access=fields.get("access") if ACCESS in entry.options else None,
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
    """The submitted `/cobrowse new` form: its errors, or the session to start in the channel it came from (or the
    one picked in it)."""
    fields = forms.values(view)
    request, errors = request_from_form(fields, rules)
    channel_id, picked = forms.channel(view, fields, errors)

    async def start(ix: Interaction) -> None:
        await form_start.start_from_form(ix, FAMILY, lambda: cobrowse.start_session(ix, request), picked=picked)

    return Submission(start, as_command(request), channel_id, errors)


async def invite_link_for_clicker(ix: Interaction, room: str) -> None:
    """The Invite link button: a new one-use follower invitation, named after the person who clicked."""
    person = await ix.person()
    invitation = await ix.deps.vendors.samesurf.create_invitation(room, usagelimit=1, usersname=person.name)
    await ix.private(Mrkdwn(":link: Your one-use link to SameSurf room {}: {}").format(code(room), invitation.link))
