"""The `/meeting new` form: opened by the command with nothing after it (the card goes where it was typed), or by
the global shortcut "Start a meeting" and the App Home's button (the form asks for the channel). Submitted, it
starts the meeting exactly as the command would (`commands.new`), after the same bounds are checked in the form."""

from __future__ import annotations

import shlex
from typing import Any

from handlers.core import form_start, forms
from handlers.core.bounds import InputRules
from handlers.core.interaction import Interaction
from handlers.core.listeners import Submission
from handlers.meeting import commands as meeting
from handlers.meeting.views import FAMILY, INVITEES_INPUT, ROOM_INPUT
from services import registry
from services.registry import ROOM


def request_from_form(view: dict[str, Any]) -> tuple[meeting.New, dict[str, str]]:
    """The meeting the form asks for, and the fields in error (block id -> message) if any."""
    fields = forms.values(view)
    errors: dict[str, str] = {}
    vendors = registry.family_vendors(FAMILY)
    entry = next((v for v in vendors if v.key == fields.get(forms.PROVIDER)), vendors[0])
    room = fields.get(ROOM_INPUT)
    if room is not None and ROOM not in entry.options:
        errors[ROOM_INPUT] = f"{entry.name} {entry.runs} have no room name: leave Room empty and name it under Name."
    request = meeting.New(
        room=room,
        invitees=forms.people(view, INVITEES_INPUT),
        provider=entry.key,
        minutes=forms.minutes(fields, errors, entry),
        name=forms.name(fields, errors),
    )
    return request, errors


def as_command(request: meeting.New) -> str:
    """The command that asks for the same meeting: given back with a failure so the form's input is not lost."""
    parts = ["/meeting", "new", *([shlex.quote(request.room)] if request.room else [])]
    parts += ["--provider", str(request.provider)]
    for flag, value in (("--minutes", request.minutes), ("--name", request.name)):
        if value:
            parts += [flag, shlex.quote(str(value))]
    return " ".join([*parts, *(f"<@{user}>" for user in request.invitees)])


def read_form(view: dict[str, Any], rules: InputRules) -> Submission:
    """The submitted form: its errors, or the meeting to start in the channel it came from (or the one picked)."""
    request, errors = request_from_form(view)
    channel_id, picked = forms.channel(view, forms.values(view), errors)

    async def start(ix: Interaction) -> None:
        await form_start.start_from_form(ix, FAMILY, lambda: meeting.new(ix, request), picked=picked)

    return Submission(start, as_command(request), channel_id, errors)
