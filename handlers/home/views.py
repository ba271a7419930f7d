"""The App Home tab as Block Kit: a pure function from what the person has (`HomeData`) to the blocks of their Home.

Each session shows the card's own pieces (`blocks.card_fields`, `blocks.card_actions`): the same facts, and the same
buttons with the same action ids and values, so a click on the Home is handled by the card's own click handlers.
A Home holds at most 100 blocks (Slack's limit for a view): every list here is cut to fit, with a note that there
are more (the lists come one longer than shown, so the note is known without counting everything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.core import blocks
from handlers.core.blocks import Block, Button, Mrkdwn, SessionCard

#: The buttons that open the new-session and new-meeting forms (their forms are registered with the shortcuts).
OPEN_NEW_COBROWSE, OPEN_NEW_MEETING = "open_new_cobrowse", "open_new_meeting"
#: A digest subscription's "Turn off" button; its value names the subscription: `CHANNEL:FAMILY`.
DIGEST_OFF = "home_digest_off"
#: How many of each list a Home shows (two blocks a session, one a digest): 89 blocks at most, Slack allows 100.
MAX_LIVE, MAX_UPCOMING, MAX_DIGESTS = 20, 10, 15


@dataclass(frozen=True)
class HomeSession:
    """One of the person's cards: what its card shows, and where the card is."""

    card_id: int
    card: SessionCard
    channel_id: str


@dataclass(frozen=True)
class HomeDigest:
    channel_id: str
    family: str
    #: What its family's digest is called ("Co-browsing").
    title: str
    #: When it comes ("Daily at 09:00 Europe/London").
    schedule: str
    next_run_at: datetime
    #: The person may turn it off: they subscribed, or they are an admin.
    can_turn_off: bool


@dataclass(frozen=True)
class VendorState:
    name: str
    #: The variables still empty (none: it is on).
    missing: Sequence[str]
    #: Why its last call failed, if it did.
    failure: str | None = None


@dataclass(frozen=True)
class HomeData:
    user_id: str
    live: Sequence[HomeSession]
    upcoming: Sequence[HomeSession]
    digests: Sequence[HomeDigest]
    #: Each vendor's state, for admins; None for everyone else (they see no such section).
    vendors: Sequence[VendorState] | None = None


def digest_value(channel_id: str, family: str) -> str:
    return f"{channel_id}:{family}"


def read_digest_value(value: str) -> tuple[str, str]:
    """(channel, family) of a Turn off button's value."""
    channel_id, _, family = value.partition(":")
    return channel_id, family


def home_view(data: HomeData) -> dict[str, object]:
    """The `home` view to publish for the person."""
    return {"type": "home", "blocks": home_blocks(data)}


def home_blocks(data: HomeData) -> list[Block]:
    out: list[Block] = [
        blocks.header("Cohost"),
        {
            "type": "actions",
            "block_id": "home_new",
            "elements": [
                Button(OPEN_NEW_COBROWSE, "Start a co-browsing session", "new", style="primary").render(),
                Button(OPEN_NEW_MEETING, "Start a meeting", "new").render(),
            ],
        },
        blocks.header("Your live sessions and meetings"),
    ]
    out += _sessions(data.live, MAX_LIVE, Mrkdwn("Nothing of yours is live. The buttons above start something."))
    out.append(blocks.header("Your upcoming sessions and meetings"))
    out += _sessions(data.upcoming, MAX_UPCOMING, Mrkdwn("Nothing scheduled."))
    out.append(blocks.header("Digests in this workspace"))
    out += _digests(data.digests)
    if data.vendors is not None:
        out.append(blocks.header("Vendors (admins only)"))
        out += [blocks.section(vendor_text(v)) for v in data.vendors]
    return out


def _more(total: int, limit: int, where: Mrkdwn) -> list[Block]:
    return [blocks.context(Mrkdwn("… and more: {}.").format(where))] if total > limit else []


#: Where a person finds what did not fit on their Home.
_ALL_SESSIONS = Mrkdwn("{} and {} list them all").format(blocks.code("/cobrowse list"), blocks.code("/meeting list"))


def _sessions(sessions: Sequence[HomeSession], limit: int, none: Mrkdwn) -> list[Block]:
    if not sessions:
        return [blocks.context(none)]
    out: list[Block] = []
    for session in sessions[:limit]:
        out += session_blocks(session)
    return out + _more(len(sessions), limit, _ALL_SESSIONS)


def session_blocks(session: HomeSession) -> list[Block]:
    """A session as its card shows it (without the "Started by": it is the person's own), where its card is, and
    the card's buttons."""
    card = session.card
    fields = [*blocks.card_fields(card, started_by=False), blocks.labelled("Channel", _channel(session.channel_id))]
    out: list[Block] = [
        {
            "type": "section",
            "block_id": f"home_card_{session.card_id}",
            "text": blocks.mrkdwn(Mrkdwn("*{}*").format(card.session.name)),
            "fields": fields[:10],
        }
    ]
    actions = blocks.card_actions(card, block_id=f"home_card_{session.card_id}_actions")
    if actions is not None:
        out.append(actions)
    return out


def _channel(channel_id: str) -> Mrkdwn:
    return blocks.channel_link(channel_id) if channel_id else Mrkdwn("none (the card went to you alone)")


def _digests(digests: Sequence[HomeDigest]) -> list[Block]:
    if not digests:
        return [
            blocks.context(
                Mrkdwn("No digests. {} sets one in a channel.").format(blocks.code("/cobrowse digest daily 09:00"))
            )
        ]
    out: list[Block] = []
    for digest in digests[:MAX_DIGESTS]:
        block: Block = {
            "type": "section",
            "block_id": f"home_digest_{digest.channel_id}_{digest.family}",
            "text": blocks.mrkdwn(digest_text(digest)),
        }
        if digest.can_turn_off:
            confirm = Mrkdwn("No more {} digests in {}.").format(digest.title.lower(), _channel(digest.channel_id))
            block["accessory"] = Button(
                DIGEST_OFF, "Turn off", digest_value(digest.channel_id, digest.family), style="danger", confirm=confirm
            ).render()
        out.append(block)
    return out + _more(
        len(digests), MAX_DIGESTS, Mrkdwn("{} in a channel shows its own").format(blocks.code("digest show"))
    )


def digest_text(digest: HomeDigest) -> Mrkdwn:
    return Mrkdwn("*{}* digest in {} · {} · next {}").format(
        digest.title, _channel(digest.channel_id), digest.schedule, blocks.date_token(digest.next_run_at)
    )


def vendor_text(vendor: VendorState) -> Mrkdwn:
    """On; off, with the variables that turn it on; or failing, with what its last call ran into."""
    if vendor.missing:
        return Mrkdwn(":white_circle: *{}* off: set {} to turn it on.").format(
            vendor.name, Mrkdwn(", ").join(blocks.code(name) for name in vendor.missing)
        )
    if vendor.failure:
        return Mrkdwn(":red_circle: *{}* failing: {}").format(vendor.name, vendor.failure)
    return Mrkdwn(":large_green_circle: *{}* on").format(vendor.name)
