"""Rendering of `/cobrowse` lists and analytics: pure functions from vendor data to Block Kit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from handlers.blocks import (
    MAX_ROWS,
    Block,
    LiveSection,
    context,
    date_token,
    divider,
    escape,
    fields_section,
    header,
    mrkdwn,
    plain,
    section,
)
from services.samesurf import AnalyticsRooms, Overview, RoomAnalytics
from services.vendors import DISPLAY_NAMES, CobrowseVendor


def _minutes(value: float) -> str:
    return f"{value:g} min"


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
    pairs = [(label, str(count)) for label, count in rooms] + [(label, _minutes(v)) for label, v in averages]
    out: list[Block] = [fields_section(pairs)]
    urls = []
    if overview.url_latest:
        urls.append(f"Latest URL: {escape(overview.url_latest)}")
    if overview.url_most_popular:
        urls.append(f"Most popular: {escape(overview.url_most_popular)}")
    if urls:
        out.append(context(" · ".join(urls)))
    return out


def stats_blocks(overview: Overview, live: Sequence[LiveSection]) -> list[Block]:
    out: list[Block] = [header("Co-browsing stats"), *overview_blocks(overview)]
    counts = [
        f"{s.vendor}: {len(s.rows)} live" if s.error is None else f"{s.vendor}: unavailable ({escape(s.error)})"
        for s in live
    ]
    if counts:
        out.extend([divider(), section("*Live now* — " + " · ".join(counts))])
    return out


def _duration(seconds: int) -> str:
    minutes, secs = divmod(max(seconds, 0), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def rooms_blocks(page: AnalyticsRooms, skip: int) -> list[Block]:
    out: list[Block] = [header(f"SameSurf rooms ({page.total_rooms} in all)")]
    if not page.rooms:
        out.append(context("No rooms on this page."))
    for room in page.rooms[:MAX_ROWS]:
        when = date_token(room.date) if room.date else "unknown date"
        recordings = f" · {room.screenrecordings} recording(s)" if room.screenrecordings else ""
        out.append(
            section(
                f"*{escape(room.title or 'Untitled')}* `{room.room}` · {when} · {_duration(room.duration)}{recordings}"
            )
        )
    shown_to = skip + len(page.rooms)
    if shown_to < page.total_rooms:
        out.append(context(f"Rooms {skip + 1}–{shown_to}. Next page: `/cobrowse rooms --skip {shown_to}`"))
    return out


def report_blocks(room: str, analytics: RoomAnalytics) -> list[Block]:
    out: list[Block] = [header(f"Room {room}: {analytics.title or 'Untitled'}")]
    out.append(section(f"*People* ({len(analytics.users)})"))
    for user in analytics.users[:20]:
        place = ", ".join(part for part in (user.city, user.country) if part)
        span = " – ".join(date_token(t) for t in (user.joinedat, user.leftat) if t)
        role = " (host)" if user.host else ""
        # IP addresses stay out: a report is for knowing who came, not where from exactly.
        out.append(
            context(f"{escape(user.name or 'Someone')}{role} · {span or 'no times'}{' · ' + place if place else ''}")
        )
    events = analytics.events
    out.append(section(f"*Events* ({len(events)})"))
    lines = [
        f"{date_token(e.date) if e.date else '—'} · {e.type}{' · ' + escape(e.data) if e.data else ''}"
        for e in events[:15]
    ]
    if lines:
        out.append(context("\n".join(lines)))
    if len(events) > 15:
        out.append(context(f"… and {len(events) - 15} more events."))
    return out


# -- the /cobrowse new form ------------------------------------------------------------------------------

NEW_SESSION_VIEW = "cobrowse_new"
ACCESS_LABELS = {"gocode": "Anyone with the join code", "open": "Anyone with the link", "account": "MirrorTab accounts"}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = True, hint: str = "") -> Block:
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


def new_session_view(channel_id: str, vendors: list[CobrowseVendor], default: CobrowseVendor) -> dict[str, Any]:
    """The form; `private_metadata` carries the channel the card goes to."""
    providers = [_option(v, DISPLAY_NAMES[v]) for v in vendors] or [_option(default, DISPLAY_NAMES[default])]
    initial = next((o for o in providers if o["value"] == default), providers[0])
    return {
        "type": "modal",
        "callback_id": NEW_SESSION_VIEW,
        "private_metadata": json.dumps({"channel_id": channel_id}),
        "title": plain("New co-browsing session"),
        "submit": plain("Start"),
        "close": plain("Cancel"),
        "blocks": [
            _input(
                "provider",
                "Vendor",
                {"type": "static_select", "options": providers, "initial_option": initial},
                optional=False,
            ),
            _input(
                "urls",
                "Pages to open",
                {"type": "plain_text_input", "multiline": True, "placeholder": plain("https://example.com")},
                hint="One URL a line. SameSurf starts on the first and bookmarks them all.",
            ),
            _input("name", "Name", {"type": "plain_text_input", "max_length": 150}),
            _input(
                "minutes",
                "Minutes (MirrorTab)",
                {"type": "number_input", "is_decimal_allowed": False, "min_value": "1"},
                hint="How long until MirrorTab removes the session; 45 when empty.",
            ),
            _input(
                "access",
                "Who may join (MirrorTab)",
                {"type": "static_select", "options": [_option(k, v) for k, v in ACCESS_LABELS.items()]},
            ),
            {"type": "context", "elements": [mrkdwn("The card is posted in the channel where you typed the command.")]},
        ],
    }
