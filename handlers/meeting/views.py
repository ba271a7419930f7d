"""Rendering of `/meeting`: cards, lists and stats as pure functions from meeting data to Block Kit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from handlers.core.blocks import (
    MAX_ROWS,
    Block,
    Button,
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
from services.coviu import Session
from services.mirotalk import Meeting, Stats

MY_LINK_ACTION = "meeting_my_link"
END_ACTION = "meeting_end"
DEFAULT_NAME = "Video meeting"


def button_value(vendor: str, vendor_id: str) -> str:
    """What a meeting card's buttons carry: the vendor and its id for the meeting."""
    return f"{vendor}:{vendor_id}"


def parse_button_value(value: str) -> tuple[str, str]:
    vendor, _, vendor_id = value.partition(":")
    return vendor, vendor_id


def _buttons(vendor: str, vendor_id: str, *, can_end: bool = True) -> list[Button]:
    value = button_value(vendor, vendor_id)
    buttons = [Button(MY_LINK_ACTION, "Get my link", value=value)]
    if can_end:
        confirm = Mrkdwn("This ends the meeting for everyone in it.")
        buttons.append(Button(END_ACTION, "End", value=value, style="danger", confirm=confirm))
    return buttons


#: Said on a MiroTalk card (and its expiry warning) where the server has ending by API switched off.
MIROTALK_ENDS_ON_ITS_OWN = Mrkdwn(
    "This MiroTalk server does not let Cohost end meetings: the meeting ends when everyone leaves."
)


def mirotalk_card(
    *, name: str, room: str, link: str, creator_id: str, can_end: bool, expires_at: datetime | None = None
) -> SessionCard:
    note = Mrkdwn("Get my link: a link with your name on it, for you alone.")
    return SessionCard(
        name=name,
        vendor="MiroTalk",
        id_label="Room",
        vendor_id=room,
        creator_id=creator_id,
        join_url=link,
        expires_at=expires_at,
        buttons=_buttons("mirotalk", room, can_end=can_end),
        note=note if can_end else note + Mrkdwn(" ") + MIROTALK_ENDS_ON_ITS_OWN,
    )


def coviu_card(
    *, name: str, session_id: str, creator_id: str, starts_at: datetime | None, ends_at: datetime | None
) -> SessionCard:
    # No shared Join button: on Coviu every person enters by their own participant's link.
    return SessionCard(
        name=name,
        vendor="Coviu",
        id_label="Session",
        vendor_id=session_id,
        creator_id=creator_id,
        starts_at=starts_at,
        expires_at=ends_at,
        buttons=_buttons("coviu", session_id),
        note=Mrkdwn("Everyone joins by their own link: Get my link sends you yours, privately.")
        if starts_at is not None and ends_at is not None
        else Mrkdwn(
            "Everyone joins by their own link: Get my link sends you yours, privately. Coviu did not say when it runs."
        ),
    )


def _peers(meeting: Meeting) -> str:
    names = ", ".join((peer.name or "someone")[:80] for peer in meeting.peers[:8])
    more = f" and {len(meeting.peers) - 8} more" if len(meeting.peers) > 8 else ""
    presenting = sum(1 for peer in meeting.peers if peer.screen)
    sharing = f" ({presenting} sharing a screen)" if presenting else ""
    return f"{len(meeting.peers)} in the room: {names}{more}{sharing}"


def mirotalk_rows(meetings: Sequence[Meeting], names: Mapping[str, str] | None = None) -> list[LiveRow]:
    """A row per room: its card's name where Cohost started it (`names`: room -> name), else the room alone."""
    names = names or {}
    return [LiveRow(m.room, names.get(m.room, ""), detail=_peers(m)) for m in meetings]


def coviu_rows(sessions: Sequence[Session]) -> list[LiveRow]:
    return [
        LiveRow(
            s.session_id,
            s.session_name or DEFAULT_NAME,
            started_at=s.start_time,
            expires_at=s.end_time,
            detail="times unknown" if s.start_time is None or s.end_time is None else None,
        )
        for s in sessions
    ]


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
