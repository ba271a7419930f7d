"""Block Kit rendering: pure functions from data to blocks (and the plain-text fallbacks Slack notifies with)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.errors import VendorError, VendorNotConfigured

Block = dict[str, Any]

JOIN_ACTION = "join_link"  # URL buttons: Slack still sends an action, which we acknowledge.
MAX_ROWS = 40  # Slack allows 50 blocks a message: leave room for headers and notes.


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:150] or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:3000]}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def date_token(when: datetime) -> str:
    """A Slack date token: shown in each reader's own time zone, with a UTC fallback."""
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def escape(text: str) -> str:
    """Text a person typed, shown without Slack reading it as a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Button:
    action_id: str
    label: str
    value: str = ""
    url: str | None = None
    style: str | None = None
    confirm: str | None = None

    def render(self) -> Block:
        element: Block = {"type": "button", "action_id": self.action_id, "text": plain(self.label)}
        if self.url:
            element["url"] = self.url
        if self.value:
            element["value"] = self.value
        if self.style:
            element["style"] = self.style
        if self.confirm:
            element["confirm"] = {
                "title": plain("Are you sure?"),
                "text": mrkdwn(self.confirm),
                "confirm": plain(self.label),
                "deny": plain("Cancel"),
            }
        return element


@dataclass(frozen=True)
class SessionCard:
    """What a card shows while its session is on."""

    name: str
    vendor: str
    id_label: str
    vendor_id: str
    creator_id: str
    join_url: str | None = None
    code: str | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    buttons: Sequence[Button] = field(default_factory=tuple)
    note: str | None = None


def card_blocks(card: SessionCard) -> list[Block]:
    fields = [mrkdwn(f"*Vendor*\n{card.vendor}"), mrkdwn(f"*{card.id_label}*\n`{card.vendor_id}`")]
    if card.code:
        fields.append(mrkdwn(f"*Join code*\n`{escape(card.code)}`"))
    if card.starts_at:
        fields.append(mrkdwn(f"*Starts*\n{date_token(card.starts_at)}"))
    if card.expires_at:
        fields.append(mrkdwn(f"*Expires*\n{date_token(card.expires_at)}"))
    fields.append(mrkdwn(f"*Started by*\n{mention(card.creator_id)}"))
    blocks: list[Block] = [
        {"type": "header", "text": plain(card.name)},
        {"type": "section", "fields": fields},
    ]
    buttons = []
    if card.join_url:
        buttons.append(Button(JOIN_ACTION, "Join", url=card.join_url, style="primary"))
    buttons.extend(card.buttons)
    if buttons:
        blocks.append({"type": "actions", "block_id": "card_actions", "elements": [b.render() for b in buttons]})
    if card.note:
        blocks.append(context(card.note))
    return blocks


def card_text(card: SessionCard) -> str:
    return f"{card.vendor} {card.id_label.lower()} “{card.name}” started by {mention(card.creator_id)}"


@dataclass(frozen=True)
class ClosedCard:
    """A card whose session ended or expired: its state and duration, no buttons, no join link."""

    name: str
    vendor: str
    id_label: str
    vendor_id: str
    creator_id: str
    state: str  # "ended" | "expired"
    minutes: int
    ended_by: str | None = None


def closed_card_blocks(card: ClosedCard) -> list[Block]:
    if card.state == "ended" and card.ended_by:
        status = f":checkered_flag: Ended by {mention(card.ended_by)} · {card.minutes} min"
    elif card.state == "ended":
        status = f":checkered_flag: Ended · {card.minutes} min"
    else:
        status = f":hourglass: Expired · {card.minutes} min"
    return [
        {"type": "header", "text": plain(card.name)},
        section(status),
        context(f"{card.vendor} {card.id_label.lower()} `{card.vendor_id}` · started by {mention(card.creator_id)}"),
    ]


def closed_card_text(card: ClosedCard) -> str:
    return f"{card.vendor} {card.id_label.lower()} “{card.name}”: {card.state}, {card.minutes} min"


# -- live lists (answers to the caller alone) --------------------------------------------------------------


@dataclass(frozen=True)
class LiveRow:
    vendor_id: str
    name: str
    join_url: str | None = None
    code: str | None = None
    started_at: datetime | None = None
    expires_at: datetime | None = None
    #: Anything else worth a glance (who is in the room).
    detail: str | None = None


@dataclass(frozen=True)
class LiveSection:
    vendor: str
    rows: Sequence[LiveRow] = field(default_factory=tuple)
    #: The vendor's failure, shown in place of its rows; the other vendors still show.
    error: str | None = None


def _row_text(row: LiveRow) -> str:
    parts = [f"*{escape(row.name)}* `{row.vendor_id}`"]
    if row.code:
        parts.append(f"code `{escape(row.code)}`")
    if row.started_at:
        parts.append(f"since {date_token(row.started_at)}")
    if row.expires_at:
        parts.append(f"until {date_token(row.expires_at)}")
    if row.detail:
        parts.append(escape(row.detail))
    if row.join_url:
        parts.append(f"<{row.join_url}|join>")
    return " · ".join(parts)


def live_blocks(sections: Sequence[LiveSection]) -> list[Block]:
    out: list[Block] = []
    budget = MAX_ROWS
    for live in sections:
        out.append(header(f"{live.vendor}: {len(live.rows)} live" if live.error is None else live.vendor))
        if live.error is not None:
            out.append(section(f":warning: {escape(live.error)}"))
            continue
        if not live.rows:
            out.append(context("Nothing running."))
        shown = list(live.rows)[: max(budget, 0)]
        out.extend(section(_row_text(row)) for row in shown)
        budget -= len(shown)
        if len(shown) < len(live.rows):
            out.append(context(f"… and {len(live.rows) - len(shown)} more."))
    return out


# -- private answers -----------------------------------------------------------------------------------------


def error_text(error: VendorError, typed: str | None = None) -> str:
    """A vendor failure as the caller sees it: the vendor, what it said, what to do, and what they typed."""
    if isinstance(error, VendorNotConfigured):
        text = f":warning: *{error.vendor}* is not set up in Cohost. {error.advice}"
    else:
        message = escape(error.message.rstrip("."))
        text = f":warning: *{error.vendor}*: {message}. {error.advice}"
    return text + _typed(typed)


def usage_error_text(message: str, usage: str | None, typed: str | None, help_hint: str) -> str:
    text = f":warning: {escape(message)}"
    if usage:
        text += f"\nUsage: `{usage}`"
    else:
        text += f"\n{help_hint}"
    return text + _typed(typed)


def internal_error_text(typed: str | None) -> str:
    return ":warning: Something went wrong inside Cohost; the team has the details. Please try again." + _typed(typed)


def with_command(text: str, typed: str | None) -> str:
    """`text`, then the person's command as they typed it, so nothing they wrote is lost."""
    return text + _typed(typed)


def _typed(typed: str | None) -> str:
    return f"\nYour command, to try again:\n```{typed}```" if typed else ""


def fields_section(pairs: Sequence[tuple[str, str]]) -> Block:
    return {"type": "section", "fields": [mrkdwn(f"*{label}*\n{value}") for label, value in pairs][:10]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def divider() -> Block:
    return {"type": "divider"}
