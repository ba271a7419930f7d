"""Rendering of `/cobrowse` lists and analytics: pure functions from vendor data to Block Kit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from handlers.core import blocks, forms
from handlers.core.blocks import Block, LiveSection, Mrkdwn, SessionCard
from handlers.core.cards import card_of
from handlers.core.own import shared_account_note
from services.cobrowsing import StartedCobrowse
from services.registry import CardButton, VendorEntry
from services.samesurf import AnalyticsRoom, AnalyticsRooms, Overview, RoomAnalytics


def session_card(
    entry: VendorEntry[Any],
    started: StartedCobrowse,
    name: str,
    creator_id: str,
    *,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> SessionCard:
    """A co-browsing card: its buttons as the vendor's entry lists them, and a note of what they do and of how
    the session ends where it ends on its own (or the vendor did not say when)."""
    label = entry.id_label.lower()
    notes = []
    if CardButton.INVITE_LINK in entry.buttons:
        notes.append(Mrkdwn("Invite link: a one-use link just for you."))
    if not entry.endable:
        notes.append(Mrkdwn("{}s end when everyone has left.").format(entry.id_label))
    if started.end_unknown:
        notes.append(Mrkdwn("{} did not say when this {} ends: unknown.").format(entry.name, label))
    return card_of(
        entry,
        started.vendor_id,
        name=name,
        creator_id=creator_id,
        join_url=started.join_url,
        code=started.code,
        starts_at=starts_at,
        expires_at=expires_at or started.expires_at,
        note=Mrkdwn(" ").join(notes) if notes else None,
    )


def overview_blocks(overview: Overview, *, all_time: bool = True) -> list[Block]:
    """SameSurf's analytics overview: rooms and average durations by period, the latest and most popular URL."""
    rooms = [("Rooms today", overview.rooms_today), ("This week", overview.rooms_thisweek)]
    rooms.append(("This month", overview.rooms_thismonth))
    averages = [
        ("Average today", overview.averageduration_today),
        ("Average this week", overview.averageduration_thisweek),
        ("Average this month", overview.averageduration_thismonth),
    ]
    if all_time:
        rooms.append(("All time", overview.rooms_total))
        averages.append(("Average all time", overview.averageduration_alltime))
    pairs = [(label, blocks.number_text(count)) for label, count in rooms]
    pairs += [(label, blocks.number_text(minutes, "min")) for label, minutes in averages]
    out: list[Block] = [blocks.fields_section(pairs)]
    urls = []
    if overview.url_latest:
        urls.append(Mrkdwn("Latest URL: {}").format(overview.url_latest))
    if overview.url_most_popular:
        urls.append(Mrkdwn("Most popular: {}").format(overview.url_most_popular))
    if urls:
        out.append(blocks.context(Mrkdwn(" · ").join(urls)))
    return out


def stats_blocks(overview: Overview | None, live: Sequence[LiveSection]) -> list[Block]:
    """`overview` None: SameSurf's account is shared between workspaces, and its overview left out."""
    figures = overview_blocks(overview) if overview is not None else [shared_account_note("SameSurf")]
    out: list[Block] = [blocks.header("Co-browsing stats"), *figures]
    counts = [
        Mrkdwn("{}: {} live").format(s.vendor, len(s.rows))
        if s.error is None
        else Mrkdwn("{}: unavailable ({})").format(s.vendor, s.error)
        for s in live
    ]
    if counts:
        out.extend([blocks.divider(), blocks.section(Mrkdwn("*Live now* — ") + Mrkdwn(" · ").join(counts))])
    return out


def duration_text(seconds: int | None) -> Mrkdwn:
    if seconds is None:
        return Mrkdwn("unknown length")
    minutes, secs = divmod(seconds, 60)
    return Mrkdwn("{} min {} s").format(minutes, secs) if minutes else Mrkdwn("{} s").format(secs)


def _room_lines(rooms: Sequence[AnalyticsRoom], unreadable: int, empty: str = "No rooms on this page.") -> list[Block]:
    out: list[Block] = [] if rooms else [blocks.context(Mrkdwn("{}").format(empty))]
    for room in rooms[: blocks.MAX_ROWS]:
        when = blocks.date_token(room.date) if room.date else Mrkdwn("unknown date")
        recordings = Mrkdwn(" · {} recording(s)").format(room.screenrecordings) if room.screenrecordings else ""
        line = Mrkdwn("*{}* {} · {} · {}{}").format(
            room.title or "Untitled", blocks.code(room.room), when, duration_text(room.duration), recordings
        )
        out.append(blocks.section(line))
    if unreadable:
        out.append(blocks.context(blocks.unreadable_note(unreadable, "SameSurf", "room")))
    return out


def rooms_blocks(page: AnalyticsRooms, skip: int) -> list[Block]:
    total = page.total_rooms
    out: list[Block] = [blocks.header(f"SameSurf rooms ({total if total is not None else 'unknown number'} in all)")]
    out.extend(_room_lines(page.rooms, page.unreadable))
    shown_to = skip + len(page.rooms) + page.unreadable
    if total is not None and shown_to < total:
        next_page = blocks.code(f"/cobrowse rooms --skip {shown_to}")
        out.append(blocks.context(Mrkdwn("Rooms {}–{}. Next page: {}").format(skip + 1, shown_to, next_page)))
    return out


def own_rooms_blocks(
    rooms: Sequence[AnalyticsRoom], skip: int, unreadable: int, *, more: bool, searched: int | None
) -> list[Block]:
    """With many workspaces: this workspace's rooms alone (`skip` counts them), found among the account's newest.
    `more`: more of them follow; `searched`: how many of the account's rooms were looked through, where that
    stopped before the account's list ended."""
    out: list[Block] = [blocks.header("SameSurf rooms started in this workspace")]
    out.extend(_room_lines(rooms, unreadable, "No rooms started in this workspace." if not skip else "No more rooms."))
    if more:
        next_page = blocks.code(f"/cobrowse rooms --skip {skip + len(rooms)}")
        out.append(blocks.context(Mrkdwn("Rooms {}–{}. Next page: {}").format(skip + 1, skip + len(rooms), next_page)))
    elif searched is not None:
        out.append(blocks.context(Mrkdwn("Only the account's {} newest rooms were looked through.").format(searched)))
    return out


def report_blocks(room: str, analytics: RoomAnalytics) -> list[Block]:
    out: list[Block] = [blocks.header(f"Room {room}: {analytics.title or 'Untitled'}")]
    out.append(blocks.section(Mrkdwn("*People* ({})").format(len(analytics.users))))
    for user in analytics.users[:20]:
        place = ", ".join(part for part in (user.city, user.country) if part)
        span = Mrkdwn(" – ").join(blocks.date_token(t) for t in (user.joinedat, user.leftat) if t)
        role = " (host)" if user.host else ""
        out.append(
            blocks.context(
                Mrkdwn("{}{} · {}{}").format(
                    user.name or "Someone", role, span or "no times", f" · {place}" if place else ""
                )
            )
        )
    events = analytics.events
    out.append(blocks.section(Mrkdwn("*Events* ({})").format(len(events))))
    lines = [
        Mrkdwn("{} · {}{}").format(
            blocks.date_token(e.date) if e.date else "—", e.type or "unknown", f" · {e.data}" if e.data else ""
        )
        for e in events[:15]
    ]
    if lines:
        out.append(blocks.context(Mrkdwn("\n").join(lines)))
    if len(events) > 15:
        out.append(blocks.context(Mrkdwn("… and {} more events.").format(len(events) - 15)))
    return out


# -- the /cobrowse new form ------------------------------------------------------------------------------

NEW_SESSION_VIEW = "cobrowse_new"
#: The global shortcut "Start a co-browsing session", and the App Home button that does the same.
NEW_SESSION_SHORTCUT, OPEN_NEW_SESSION = "new_cobrowse", "open_new_cobrowse"
ACCESS_LABELS = {"gocode": "Anyone with the join code", "open": "Anyone with the link", "account": "MirrorTab accounts"}


def new_session_view(channel_id: str | None, vendors: list[str], default: str) -> dict[str, Any]:
    """The form. Opened by the command, `private_metadata` carries the channel the card goes to; opened by the
    shortcut or the Home's button (`channel_id` None), the form asks for the channel."""
    pick_channel = channel_id is None
    return {
        "type": "modal",
        "callback_id": NEW_SESSION_VIEW,
        "private_metadata": forms.metadata(channel_id),
        "title": blocks.plain("New co-browsing session"),
        "submit": blocks.plain("Start"),
        "close": blocks.plain("Cancel"),
        "blocks": [
            *([forms.channel_picker()] if pick_channel else []),
            forms.provider_input(vendors, default),
            forms.input_block(
                "urls",
                "Pages to open",
                {"type": "plain_text_input", "multiline": True, "placeholder": blocks.plain("https://example.com")},
                hint="One URL a line. SameSurf starts on the first and bookmarks them all.",
            ),
            forms.name_input(),
            forms.minutes_input("Minutes (MirrorTab)", "How long until MirrorTab removes the session; 45 when empty."),
            forms.input_block(
                "access",
                "Who may join (MirrorTab)",
                {"type": "static_select", "options": [forms.option(k, v) for k, v in ACCESS_LABELS.items()]},
            ),
            forms.where_it_goes(pick_channel),
        ],
    }
