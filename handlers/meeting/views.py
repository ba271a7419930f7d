"""Rendering of `/meeting`: cards, lists and stats as pure functions from meeting data to Block Kit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from handlers.core.blocks import (
    MAX_ROWS,
    Block,
    LiveRow,
    LiveSection,
    Mrkdwn,
    SessionCard,
    context,
    date_token,
    divider,
    fields_section,
    header,
    number_text,
    section,
    unreadable_note,
)
from handlers.core.cards import card_of, ends_on_its_own
from handlers.core.live import live_row
from services.meetings import live_meeting
from services.mirotalk import Meeting, Stats
from services.registry import COVIU, MIROTALK

FAMILY = "meeting"
DEFAULT_NAME = "Video meeting"


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
    return fields_section(
        [("Rooms now", number_text(stats.total_rooms)), ("People now", number_text(stats.total_users))]
    )


def stats_blocks(stats: Stats, live: LiveSection) -> list[Block]:
    out: list[Block] = [header("MiroTalk stats"), counts_section(stats)]
    if stats.timestamp:
        out.append(context(Mrkdwn("As of {}").format(date_token(stats.timestamp))))
    out.append(divider())
    if live.error is not None:
        out.append(section(Mrkdwn("*Live meetings*: {}").format(live.error)))
    elif not live.rows:
        out.append(context(Mrkdwn("No meetings running.")))
    else:
        out.extend(section(Mrkdwn("*{}* · {}").format(row.vendor_id, row.detail or "")) for row in live.rows[:MAX_ROWS])
    if live.unreadable:
        out.append(context(unreadable_note(live.unreadable, live.vendor, "meeting")))
    return out
