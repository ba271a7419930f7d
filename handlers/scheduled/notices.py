"""What the scheduler posts about a card: a warning before expiry (with End now where the vendor lets Cohost end
it), a reminder before a scheduled start, and at expiry the card edited to say so."""

from __future__ import annotations

import logging
from functools import partial

from handlers.core import blocks, cards, slack_io
from handlers.core.blocks import Block, Mrkdwn, link_button
from handlers.core.interaction import Deps
from handlers.scheduled.progress import Progress
from services import registry
from services.registry import CardButton
from services.store import Card, CardState, JobKind

log = logging.getLogger("cohost.scheduled")


def what_of(card: Card) -> Mrkdwn:
    """`MirrorTab session “Demo”`: the card's session as its warnings and reminders name it."""
    entry = registry.vendor(card.vendor)
    return Mrkdwn("{} {} “{}”").format(entry.name, entry.id_label.lower(), card.name)


def warning_blocks(card: Card, *, can_end: bool = True) -> list[Block]:
    """`can_end`: False where Cohost cannot end this session now (the vendor has no way, or its server has the
    ending switched off)."""
    assert card.expires_at is not None
    entry = registry.vendor(card.vendor)
    out: list[Block] = [
        blocks.section(
            Mrkdwn(":hourglass_flowing_sand: {} {} ends {}.").format(
                blocks.mention(card.creator_id), what_of(card), blocks.date_token(card.expires_at)
            )
        )
    ]
    if entry.endable and can_end:
        button = cards.card_button(entry, CardButton.END, card.vendor_id, label="End now")
        out.append({"type": "actions", "block_id": "warning_actions", "elements": [button.render()]})
    else:
        out.append(blocks.context(cards.ends_on_its_own(entry)))
    return out


def reminder_blocks(card: Card) -> list[Block]:
    assert card.starts_at is not None
    entry = registry.vendor(card.vendor)
    buttons = [button for button in (link_button("Join", card.join_url),) if button is not None]
    if CardButton.MY_LINK in entry.buttons:
        buttons.append(cards.card_button(entry, CardButton.MY_LINK, card.vendor_id))
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
    can_end = await cards.can_end_now(deps, registry.vendor(card.vendor))
    await _in_thread(deps, card, Mrkdwn("{} ends soon").format(card.name), warning_blocks(card, can_end=can_end))


async def remind(deps: Deps, card: Card, progress: Progress) -> None:
    text = Mrkdwn("{} starts soon").format(card.name)
    await progress.once("thread", lambda: _in_thread(deps, card, text, reminder_blocks(card)))
    await _remind_guests(deps, card, progress)


async def _remind_guests(deps: Deps, card: Card, progress: Progress) -> None:
    """Each person Cohost made a guest of the session (a Coviu participant) gets their own link again, by direct
    message: a link that no longer lets anyone in is left out."""
    assert card.starts_at is not None
    starts_at = card.starts_at
    guests = await deps.store.guests(card.team_id, card.vendor, card.vendor_id)
    if not guests:
        return
    client, adapter = deps.slack_for(card.team_id), deps.vendors.sessions(card.vendor)

    async def remind_guest(user_id: str, guest_id: str) -> None:
        link = await adapter.guest_link(guest_id)
        if link is None:
            return
        text = Mrkdwn(":alarm_clock: {} starts {}. Your own link (do not share it): {}").format(
            what_of(card), blocks.date_token(starts_at), link
        )
        await slack_io.dm(client, user_id, text)

    for user_id, guest_id in guests:
        await progress.once(f"guest {guest_id}", partial(remind_guest, user_id, guest_id))


async def expire(deps: Deps, card: Card) -> None:
    """The session's time is up: its vendor closes it where it needs Cohost to (a MiroTalk meeting given a length
    is ended on the server, where it lets Cohost end it; the others end on their own), then the card says
    "Expired", its buttons gone."""
    if card.state == CardState.EXPIRED.value:
        await cards.show_closed(deps, card)  # an earlier try recorded the expiry but could not edit the card
        return
    if not await deps.store.begin_end(card.id):
        return  # someone is ending it right now
    try:
        if registry.vendor(card.vendor).adapter is not None and not deps.vendors.config.missing(card.vendor):
            await deps.vendors.sessions(card.vendor).expire(card.vendor_id)
    except BaseException:
        await deps.store.abort_end(card.id)
        raise
    await cards.close_card(deps, card, CardState.EXPIRED, by=None, running=JobKind.EXPIRE)
