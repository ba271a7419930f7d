"""Block Kit rendering: pure functions from data to blocks (and the plain-text fallbacks Slack notifies with).

Wherever Slack reads mrkdwn (a mrkdwn text object, and the `text` of every message), text is a `Mrkdwn`: made
from Cohost's own templates and escaped parts, so what a person typed or a vendor sent never becomes a mention, a
broadcast or a link. plain_text objects (headers, button labels) take text as it is: Slack shows them literally.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from services.errors import VendorError, VendorNotConfigured

Block = dict[str, Any]

JOIN_ACTION = "join_link"  # URL buttons: Slack still sends an action, which we acknowledge.
MAX_ROWS = 40  # Slack allows 50 blocks a message: leave room for headers and notes.
#: Slack's limits on a section's text, on each of its fields, and on a URL in a button.
SECTION_TEXT_MAX, FIELD_TEXT_MAX, BUTTON_URL_MAX = 3000, 2000, 3000
#: What a value Cohost does not know (a vendor left it out, or sent something that is not one) shows as.
UNKNOWN = "unknown"
_SLACK_ID = re.compile(r"[A-Z0-9]{2,40}")
#: Characters that end a URL (or its label) inside Slack's `<url|label>`, or make it no URL at all.
_URL_BREAKERS = re.compile(r"[\s<>|\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Slack's three control characters as entities: the text shows as itself wherever Slack reads mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Mrkdwn(str):
    """Text that Slack reads as mrkdwn, put together only from Cohost's own templates and parts that are Mrkdwn
    already: `format`, `join` and `+` escape every other part. `Mrkdwn("...")` is for templates written here;
    a person's text, a vendor's value or an id goes in through them (or `as_text`), never into the template."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> Mrkdwn:
        return Mrkdwn(_ESCAPING.vformat(self, args, kwargs))

    def join(self, parts: Iterable[str]) -> Mrkdwn:
        return Mrkdwn(str.join(self, (as_text(part) for part in parts)))

    def __add__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(self, as_text(other)))

    def __radd__(self, other: str) -> Mrkdwn:
        return Mrkdwn(str.__add__(as_text(other), self))


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        shown = format(value, format_spec)
        return shown if isinstance(value, Mrkdwn) else escape(shown)


_ESCAPING = _EscapingFormatter()


def as_text(value: object) -> Mrkdwn:
    """Any value shown as itself: a person's text, a vendor's value (Mrkdwn stays as it is)."""
    return value if isinstance(value, Mrkdwn) else Mrkdwn(escape(str(value)))


def code(value: object) -> Mrkdwn:
    """An id or a command, in code style (a backtick inside it would end the style early, so it goes)."""
    return Mrkdwn("`{}`").format(str(value).replace("`", "'"))


def mention(user_id: str) -> Mrkdwn:
    """Cohost's mention of a Slack user (a creator, an invitee): live only for what is a Slack user id."""
    return Mrkdwn(f"<@{user_id}>") if _SLACK_ID.fullmatch(user_id) else as_text(user_id)


def channel_link(channel_id: str) -> Mrkdwn:
    return Mrkdwn(f"<#{channel_id}>") if _SLACK_ID.fullmatch(channel_id) else as_text(channel_id)


def date_token(when: datetime) -> Mrkdwn:
    """A Slack date token: shown in each reader's own time zone, with a UTC fallback."""
    epoch = int(when.timestamp())
    return Mrkdwn(f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{when:%Y-%m-%d %H:%M} UTC>")


def when_text(when: datetime | None) -> Mrkdwn:
    """A time that may be unknown (a vendor's value out of range, or missing)."""
    return date_token(when) if when is not None else Mrkdwn(UNKNOWN)


def number_text(value: float | None, unit: str = "") -> Mrkdwn:
    """A vendor's figure (`12`, `3.5 min`), or unknown."""
    if value is None:
        return Mrkdwn(UNKNOWN)
    shown = str(value) if isinstance(value, int) else f"{value:g}"
    return Mrkdwn("{}{}").format(shown, f" {unit}" if unit else "")


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) address Slack can carry in a link or a URL button, else None."""
    if not url or len(url) > BUTTON_URL_MAX or _URL_BREAKERS.search(url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def link(url: str | None, label: str) -> Mrkdwn:
    """A link Cohost makes (to a vendor's page); a URL that is not a plain web address shows no link at all."""
    target = web_link(url)
    if target is None:
        return Mrkdwn("")
    return Mrkdwn(f"<{escape(target)}|") + label + Mrkdwn(">")


def plain(text: str) -> dict[str, Any]:
    """plain_text: Slack shows it literally, so it takes text as it is (escaping it would show the entities)."""
    return {"type": "plain_text", "text": text[:150] or " ", "emoji": True}


def mrkdwn(text: Mrkdwn, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _shortened(text, limit)}


def _shortened(text: Mrkdwn, limit: int) -> str:
    """At most `limit` characters, never cutting one of Cohost's `<...>` tokens or an entity in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    token = cut.rfind("<")
    if token > cut.rfind(">"):
        cut = cut[:token]
    entity = cut.rfind("&")
    if entity > cut.rfind(";"):
        cut = cut[:entity]
    return cut + "…"


def section(text: Mrkdwn) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context(text: Mrkdwn) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


@dataclass(frozen=True)
class Button:
    action_id: str
    label: str
    value: str = ""
    url: str | None = None
    style: str | None = None
    confirm: Mrkdwn | None = None

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


def link_button(label: str, url: str | None) -> Button | None:
    """A URL button to a vendor's page, or None where the vendor's URL is not one a button can open."""
    target = web_link(url)
    return Button(JOIN_ACTION, label, url=target, style="primary") if target else None


@dataclass(frozen=True)
class CardSession:
    """The session a card is about, as every card shows it, on or closed: its name, its vendor (with the vendor's
    word for its id) and that id, and who started it."""

    name: str
    vendor: str
    id_label: str
    vendor_id: str
    creator_id: str

    @property
    def kind(self) -> str:
        """The vendor and its word for the session, as texts name it: `MirrorTab session`, `MiroTalk room`."""
        return f"{self.vendor} {self.id_label.lower()}"


@dataclass(frozen=True)
class SessionCard:
    """What a card shows while its session is on."""

    session: CardSession
    join_url: str | None = None
    code: str | None = None
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    buttons: Sequence[Button] = field(default_factory=tuple)
    note: Mrkdwn | None = None


def card_fields(card: SessionCard, *, started_by: bool = True) -> list[dict[str, Any]]:
    """A card's facts: vendor, the vendor's id, join code, times and (`started_by`) who started it."""
    session = card.session
    fields = [labelled("Vendor", as_text(session.vendor)), labelled(session.id_label, code(session.vendor_id))]
    if card.code:
        fields.append(labelled("Join code", code(card.code)))
    if card.starts_at:
        fields.append(labelled("Starts", date_token(card.starts_at)))
    if card.expires_at:
        fields.append(labelled("Expires", date_token(card.expires_at)))
    if started_by:
        fields.append(labelled("Started by", mention(session.creator_id)))
    return fields


def card_actions(card: SessionCard, block_id: str = "card_actions") -> Block | None:
    """A card's buttons (its Join link first), or None when it has none."""
    buttons = [button for button in (link_button("Join", card.join_url),) if button is not None]
    buttons.extend(card.buttons)
    if not buttons:
        return None
    return {"type": "actions", "block_id": block_id, "elements": [b.render() for b in buttons]}


def card_blocks(card: SessionCard) -> list[Block]:
    blocks: list[Block] = [
        {"type": "header", "text": plain(card.session.name)},
        {"type": "section", "fields": card_fields(card)},
    ]
    actions = card_actions(card)
    if actions is not None:
        blocks.append(actions)
    if card.note:
        blocks.append(context(card.note))
    return blocks


def card_text(card: SessionCard) -> Mrkdwn:
    session = card.session
    return Mrkdwn("{} “{}” started by {}").format(session.kind, session.name, mention(session.creator_id))


@dataclass(frozen=True)
class ClosedCard:
    """A card whose session ended or expired: its state and duration, no buttons, no join link."""

    session: CardSession
    state: str  # "ended" | "expired"
    minutes: int
    ended_by: str | None = None


def closed_card_blocks(card: ClosedCard) -> list[Block]:
    if card.state == "ended" and card.ended_by:
        status = Mrkdwn(":checkered_flag: Ended by {} · {} min").format(mention(card.ended_by), card.minutes)
    elif card.state == "ended":
        status = Mrkdwn(":checkered_flag: Ended · {} min").format(card.minutes)
    else:
        status = Mrkdwn(":hourglass: Expired · {} min").format(card.minutes)
    session = card.session
    return [
        {"type": "header", "text": plain(session.name)},
        section(status),
        context(
            Mrkdwn("{} {} · started by {}").format(session.kind, code(session.vendor_id), mention(session.creator_id))
        ),
    ]


def closed_card_text(card: ClosedCard) -> Mrkdwn:
    return Mrkdwn("{} “{}”: {}, {} min").format(card.session.kind, card.session.name, card.state, card.minutes)


# -- live lists (answers to the caller alone) --------------------------------------------------------------


@dataclass(frozen=True)
class LiveRow:
    vendor_id: str
    #: Empty for a session nobody named (a MiroTalk room started outside Cohost): the id alone is shown.
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
    #: Rows the vendor sent that could not be read at all (no id): named in a note, the others still show.
    unreadable: int = 0


def unreadable_note(count: int, vendor: str, what: str = "row") -> Mrkdwn:
    return Mrkdwn(":grey_question: {} {}{} {} sent could not be read, so {} not shown.").format(
        count, what, "s" if count != 1 else "", vendor, "they are" if count != 1 else "it is"
    )


# -- private answers -----------------------------------------------------------------------------------------


def error_text(error: VendorError, typed: str | None = None) -> Mrkdwn:
    """A vendor failure as the caller sees it: the vendor, what it said, what to do, and what they typed."""
    if isinstance(error, VendorNotConfigured):
        text = Mrkdwn(":warning: *{}* is not set up in Cohost. {}").format(error.vendor, error.advice)
    else:
        text = Mrkdwn(":warning: *{}*: {}. {}").format(error.vendor, error.message.rstrip("."), error.advice)
    return text + _typed(typed)


def usage_error_text(message: str, usage: str | None, typed: str | None, help_hint: Mrkdwn | None) -> Mrkdwn:
    text = Mrkdwn(":warning: {}").format(message)
    if usage:
        text += Mrkdwn("\nUsage: {}").format(code(usage))
    elif help_hint:
        text += Mrkdwn("\n") + help_hint
    return text + _typed(typed)


def internal_error_text(typed: str | None) -> Mrkdwn:
    return Mrkdwn(":warning: Something went wrong inside Cohost; the team has the details. Please try again.") + _typed(
        typed
    )


def with_command(text: Mrkdwn, typed: str | None) -> Mrkdwn:
    """`text`, then the person's command as they typed it, so nothing they wrote is lost."""
    return text + _typed(typed)


def _typed(typed: str | None) -> Mrkdwn:
    # The command as the person typed it (its readable form): escaped like any other text of theirs.
    return Mrkdwn("\nYour command, to try again:\n```{}```").format(typed) if typed else Mrkdwn("")


def labelled(label: str, value: Mrkdwn) -> dict[str, Any]:
    """One field of a fields section: a bold label over its value."""
    return mrkdwn(Mrkdwn("*{}*\n{}").format(label, value), FIELD_TEXT_MAX)


def fields_section(pairs: Sequence[tuple[str, Mrkdwn]]) -> Block:
    return {"type": "section", "fields": [labelled(label, value) for label, value in pairs][:10]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text)}


def divider() -> Block:
    return {"type": "divider"}
