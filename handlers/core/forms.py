"""The new-session forms every family shares: their inputs drawn (pure Block Kit) and read back.

A form opened by a slash command posts its card where the command was typed (the channel rides in the view's
`private_metadata`). One opened by a global shortcut, or by a button on the App Home, knows no channel (Slack sends
none with them), so it carries a channel picker, and the card goes where the person picks.

What a submitted form holds is checked against the command's own bounds (handlers/core/bounds.py) before it
closes: a field out of bounds comes back in the form, under that field.
"""

from __future__ import annotations

import json
from typing import Any

from handlers.core.blocks import Block, Mrkdwn, mrkdwn, plain
from handlers.core.bounds import MAX_MINUTES, MAX_NAME, ParseError, person_name
from services.registry import VendorEntry, display_name

#: The block (and action) id of the channel picker.
CHANNEL = "channel"
PROVIDER, NAME, MINUTES = "provider", "name", "minutes"
_PICK = "pick_channel"


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def input_block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = True, hint: str = "") -> Block:
    """An input whose action id is its block id, so its value is read back by the block id alone."""
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def provider_input(vendors: list[str], default: str) -> Block:
    """The vendor, one of those switched on (the family's default first chosen)."""
    providers = [option(v, display_name(v)) for v in vendors or [default]]
    initial = next((o for o in providers if o["value"] == default), providers[0])
    return input_block(
        PROVIDER, "Vendor", {"type": "static_select", "options": providers, "initial_option": initial}, optional=False
    )


def name_input(label: str = "Name") -> Block:
    return input_block(NAME, label, {"type": "plain_text_input", "max_length": MAX_NAME})


def minutes_input(label: str, hint: str) -> Block:
    element = {"type": "number_input", "is_decimal_allowed": False, "min_value": "1", "max_value": str(MAX_MINUTES)}
    return input_block(MINUTES, label, element, hint=hint)


def channel_picker() -> Block:
    """Where the card goes: any channel the person can see. Cohost can post in every public one; a private one
    only once it is invited there (the form says so, and a refusal is answered privately)."""
    return input_block(
        CHANNEL,
        "Post the card in",
        {
            "type": "conversations_select",
            "default_to_current_conversation": True,
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        },
        optional=False,
        hint="A private channel needs Cohost in it first: /invite @Cohost there.",
    )


def where_it_goes(pick_channel: bool) -> Block:
    said = (
        Mrkdwn("The card is posted in the channel you pick; links that are yours alone come to you privately.")
        if pick_channel
        else Mrkdwn("The card is posted in the channel where you typed the command.")
    )
    return {"type": "context", "elements": [mrkdwn(said)]}


def metadata(channel_id: str | None) -> str:
    """What the form carries for its submission: the channel it was opened in, or that the person picks one."""
    return json.dumps({"channel_id": channel_id} if channel_id is not None else {_PICK: True})


# -- reading a submitted form -------------------------------------------------------------------------------------


def values(view: dict[str, Any]) -> dict[str, str]:
    """`{block_id: value}` of a submitted view's single-valued inputs, whatever the element type (a typed text, a
    chosen option, a picked conversation); inputs left empty are left out."""
    out: dict[str, str] = {}
    for block_id, actions in _state(view).items():
        for element in actions.values():
            selected = element.get("selected_option") or {}
            value = selected.get("value") if selected else element.get("value")
            value = value if value not in (None, "") else element.get("selected_conversation")
            if value not in (None, ""):
                out[block_id] = str(value)
    return out


def people(view: dict[str, Any], block_id: str) -> list[str]:
    """The user ids picked in a `multi_users_select`."""
    for element in (_state(view).get(block_id) or {}).values():
        return [str(user) for user in element.get("selected_users") or []]
    return []


def _state(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    state = (view.get("state") or {}).get("values") or {}
    return state if isinstance(state, dict) else {}


def channel(view: dict[str, Any], fields: dict[str, str], errors: dict[str, str]) -> tuple[str, bool]:
    """The channel the card goes to, and whether the person picked it (rather than typed the command there)."""
    try:
        carried = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        carried = {}
    carried = carried if isinstance(carried, dict) else {}
    if not carried.get(_PICK):
        return str(carried.get("channel_id") or ""), False
    picked = fields.get(CHANNEL, "")
    if not picked:
        errors[CHANNEL] = "Pick the channel the card goes to."
    return picked, True


def name(fields: dict[str, str], errors: dict[str, str]) -> str | None:
    """The typed name, within the bounds of `--name`."""
    typed = fields.get(NAME)
    if typed is not None:
        try:
            person_name(typed, "The name")
        except ParseError as exc:
            errors[NAME] = exc.message
    return typed


def minutes(fields: dict[str, str], errors: dict[str, str], entry: VendorEntry[Any] | None = None) -> int | None:
    """The minutes asked for, within the bounds of `--minutes` and those of the vendor `entry` picked."""
    raw = fields.get(MINUTES, "")
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None
    if MINUTES in fields and (number is None or not 1 <= number <= MAX_MINUTES):
        errors[MINUTES] = f"A whole number of minutes, from 1 to {MAX_MINUTES:,} (a week)."
        return None
    if number is not None and entry is not None and entry.max_minutes is not None and number > entry.max_minutes:
        # Said here, in the form, rather than after it closed, when the vendor's links could not carry it.
        errors[MINUTES] = f"{entry.name} {entry.runs} last at most {entry.max_minutes:,} minutes."
        return None
    return number
