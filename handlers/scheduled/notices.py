"""What the scheduler posts about a card: a warning before expiry (with End now where the vendor lets Cohost end
it), a reminder before a scheduled start, and at expiry the card edited to say so."""

from __future__ import annotations

import contextlib
import logging

from handlers.core import blocks, cards, slack_io
from handlers.core.blocks import Block, Button, Mrkdwn, link_button
from handlers.core.interaction import Deps
from handlers.meeting.views import END_ACTION as MEETING_END_ACTION
from handlers.meeting.views import MIROTALK_ENDS_ON_ITS_OWN, MY_LINK_ACTION, button_value
from services.errors import VendorDisabled, VendorNotFound, VendorUnsupported
from services.store import Card, CardState, JobKind
from services.vendors import DISPLAY_NAMES

log = logging.getLogger("cohost.scheduled")


#: Vendors whose End button a warning carries (SameSurf rooms end when people leave).
ENDABLE = {"mirrortab", "mirotalk", "coviu"}


def _end_button(card: Card) -> Button | None:
    if card.vendor not in ENDABLE:
        return None
    action = "cobrowse_end" if card.family == "cobrowse" else MEETING_END_ACTION
    value = card.vendor_id if card.family == "cobrowse" else button_value(card.vendor, card.vendor_id)
    confirm = Mrkdwn("This ends the session for everyone in it.")
    return Button(action, "End now", value=value, style="danger", confirm=confirm)


def what_of(card: Card) -> Mrkdwn:
    """`MirrorTab session “Demo”`: the card's session as its warnings and reminders name it."""
    return Mrkdwn("{} {} “{}”").format(DISPLAY_NAMES[card.vendor], cards.ID_LABELS[card.vendor].lower(), card.name)


def warning_blocks(card: Card, *, can_end: bool = True) -> list[Block]:
    """`can_end`: False where the vendor's server does not let Cohost end this session (MiroTalk's switch)."""
    assert card.expires_at is not None
    out: list[Block] = [
        blocks.section(
            Mrkdwn(":hourglass_flowing_sand: {} {} ends {}.").format(
                blocks.mention(card.creator_id), what_of(card), blocks.date_token(card.expires_at)
            )
        )
    ]
    button = _end_button(card) if can_end else None
    if button is not None:
        out.append({"type": "actions", "block_id": "warning_actions", "elements": [button.render()]})
    elif card.vendor == "mirotalk":
        out.append(blocks.context(MIROTALK_ENDS_ON_ITS_OWN))
    else:
        out.append(blocks.context(Mrkdwn("SameSurf rooms end when everyone has left.")))
    return out


def reminder_blocks(card: Card) -> list[Block]:
    assert card.starts_at is not None
    buttons = [button for button in (link_button("Join", card.join_url),) if button is not None]
    if card.vendor in ("coviu", "mirotalk"):
        buttons.append(Button(MY_LINK_ACTION, "Get my link", value=button_value(card.vendor, card.vendor_id)))
    out: list[Block] = [
        blocks.section(Mrkdwn(":alarm_clock: {} starts {}.").format(what_of(card), blocks.date_token(card.starts_at))),
    ]
    if buttons:
        out.append({"type": "actions", "block_id": "reminder_actions", "elements": [b.render() for b in buttons]})
    return out


async def _in_thread(deps: Deps, card: Card, text: Mrkdwn, blocks_: list[Block]) -> None:
    """A reply in the card's thread, or to its creator directly where it could not be posted in its channel."""
    await slack_io.in_thread_or_dm(
        deps.slack_for(card.team_id), card.channel_id, card.ts, card.creator_id, text, blocks_
    )


async def warn(deps: Deps, card: Card) -> None:
    can_end = card.vendor != "mirotalk" or await deps.vendors.mirotalk.ending_on()
    await _in_thread(deps, card, Mrkdwn("{} ends soon").format(card.name), warning_blocks(card, can_end=can_end))


async def remind(deps: Deps, card: Card) -> None:
    await _in_thread(deps, card, Mrkdwn("{} starts soon").format(card.name), reminder_blocks(card))
    if card.vendor == "coviu":
        await _remind_participants(deps, card)


async def _remind_participants(deps: Deps, card: Card) -> None:
    """Each Coviu participant Cohost knows gets their own link again, by direct message."""
    assert card.starts_at is not None
    client = deps.slack_for(card.team_id)
    for user_id, participant_id in await deps.store.guests(card.team_id, "coviu", card.vendor_id):
        try:
            participant = await deps.vendors.coviu.get_participant(participant_id)
        except VendorNotFound:
            continue  # removed since
        if participant.deleted or not participant.entry_url:
            continue  # canceled since: its link no longer lets anyone in
        await slack_io.dm(
            client,
            user_id,
            Mrkdwn(":alarm_clock: Coviu session “{}” starts {}. Your own link (do not share it): {}").format(
                card.name, blocks.date_token(card.starts_at), participant.entry_url
            ),
        )


async def expire(deps: Deps, card: Card) -> None:
    """The session's time is up: MiroTalk meetings given a length are ended on the server where it lets Cohost
    end them (the others end on their own), then the card says "Expired", its buttons gone."""
    if card.state == CardState.EXPIRED.value:
        await cards.show_closed(deps, card)  # an earlier try recorded the expiry but could not edit the card
        return
    if not await deps.store.begin_end(card.id):
        return  # someone is ending it right now
    try:
        if card.vendor == "mirotalk" and await deps.vendors.mirotalk.ending_on():
            # Nobody in the room, ending switched off since it was learned, or an older server without the
            # call: nothing Cohost can end, and the card still expires.
            with contextlib.suppress(VendorNotFound, VendorDisabled, VendorUnsupported):
                await deps.vendors.mirotalk.end_meeting(card.vendor_id)
    except BaseException:
        await deps.store.abort_end(card.id)
        raise
    await cards.close_card(deps, card, CardState.EXPIRED, by=None, running=JobKind.EXPIRE)
