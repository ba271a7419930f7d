"""Rendering of `/meeting`: cards, lists and stats as pure functions from meeting data to Block Kit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handlers.core import blocks, forms
from handlers.core.blocks import Block, LiveRow, LiveSection, Mrkdwn, SessionCard
from handlers.core.cards import card_of, ends_on_its_own
from handlers.core.live import live_row
from handlers.core.own import shared_account_note
from services import registry
from services.meetings import live_meeting
from services.mirotalk import Meeting, Stats
from services.registry import COVIU, MIROTALK, ROOM

FAMILY = "meeting"
DEFAULT_NAME = "Video meeting"
NEW_MEETING_VIEW = "meeting_new"
#: The global shortcut "Start a meeting", and the App Home button that does the same.
NEW_MEETING_SHORTCUT, OPEN_NEW_MEETING = "new_meeting", "open_new_meeting"
#: The form's own inputs (the provider, name, minutes and channel ones are every form's: handlers/core/forms.py).
ROOM_INPUT, INVITEES_INPUT = "room", "invitees"


def mirotalk_card(
    *, name: str, room: str, link: str, creator_id: str, can_end: bool, expires_at: datetime | None = None
) -> SessionCard:
    note = Mrkdwn("Get my link: a link with your name on it, for you alone.")
    if not can_end:
        note += Mrkdwn(" ") + ends_on_its_own(MIROTALK)
    return card_of(
        MIROTALK,
        room,
        name=name,
        creator_id=creator_id,
        join_url=link,
        expires_at=expires_at,
        can_end=can_end,
        note=note,
    )


def coviu_card(
    *, name: str, session_id: str, creator_id: str, starts_at: datetime | None, ends_at: datetime | None
) -> SessionCard:
    # No shared Join button: on Coviu every person enters by their own participant's link.
    note = Mrkdwn("Everyone joins by their own link: Get my link sends you yours, privately.")
    if starts_at is None or ends_at is None:
        note += Mrkdwn(" Coviu did not say when it runs.")
    return card_of(
        COVIU, session_id, name=name, creator_id=creator_id, starts_at=starts_at, expires_at=ends_at, note=note
    )


def mirotalk_rows(meetings: Sequence[Meeting]) -> list[LiveRow]:
    """A row per room, and who is in it."""
    return [live_row(live_meeting(m), "") for m in meetings]


def counts_section(stats: Stats) -> Block:
    """The server's rooms and people now (unknown where it did not say)."""
    return blocks.fields_section(
        [("Rooms now", blocks.number_text(stats.total_rooms)), ("People now", blocks.number_text(stats.total_users))]
    )


def stats_blocks(stats: Stats | None, live: LiveSection) -> list[Block]:
    """`stats` None: the server is shared between workspaces, and its counts left out."""
    figures = counts_section(stats) if stats is not None else shared_account_note("MiroTalk")
    out: list[Block] = [blocks.header("MiroTalk stats"), figures]
    if stats is not None and stats.timestamp:
        out.append(blocks.context(Mrkdwn("As of {}").format(blocks.date_token(stats.timestamp))))
    out.append(blocks.divider())
    if live.error is not None:
        out.append(blocks.section(Mrkdwn("*Live meetings*: {}").format(live.error)))
    elif not live.rows:
        out.append(blocks.context(Mrkdwn("No meetings running.")))
    else:
        out.extend(
            blocks.section(Mrkdwn("*{}* · {}").format(row.vendor_id, row.detail or ""))
            for row in live.rows[: blocks.MAX_ROWS]
        )
    if live.unreadable:
        out.append(blocks.context(blocks.unreadable_note(live.unreadable, live.vendor, "meeting")))
    return out


# -- the /meeting new form ------------------------------------------------------------------------------------


def new_meeting_view(channel_id: str | None, vendors: list[str], default: str) -> dict[str, Any]:
    """The form: opened by `/meeting new` with nothing after it, `private_metadata` carries the channel the card
    goes to; opened by the shortcut or the Home's button (`channel_id` None), the form asks for the channel."""
    pick_channel = channel_id is None
    with_rooms = " and ".join(v.name for v in registry.offering(FAMILY, ROOM))
    return {
        "type": "modal",
        "callback_id": NEW_MEETING_VIEW,
        "private_metadata": forms.metadata(channel_id),
        "title": blocks.plain("New meeting"),
        "submit": blocks.plain("Start"),
        "close": blocks.plain("Cancel"),
        "blocks": [
            *([forms.channel_picker()] if pick_channel else []),
            forms.provider_input(vendors, default),
            forms.input_block(
                ROOM_INPUT,
                f"Room ({with_rooms})",
                {"type": "plain_text_input", "max_length": 64, "placeholder": blocks.plain("standup")},
                hint="Its name, letters, digits, - and _. Empty: the server names a fresh one.",
            ),
            forms.name_input(),
            forms.minutes_input("Minutes", "How long it lasts. Empty: while people are in it (Coviu: an hour)."),
            forms.input_block(
                INVITEES_INPUT,
                "People to invite",
                {"type": "multi_users_select", "placeholder": blocks.plain("Who else comes")},
                hint="Each gets their own link by direct message.",
            ),
            forms.where_it_goes(pick_channel),
        ],
    }
