"""A card's life, the same for every family: recorded then posted, ended once by someone allowed to, then
edited in place to say who ended it and after how long, with every button and the join link removed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import blocks
from handlers.blocks import ClosedCard, SessionCard
from handlers.context import Deps, Interaction
from services.clock import minutes_between
from services.store import Card, CardState, JobKind, NewCard
from services.vendors import DISPLAY_NAMES

#: What each vendor calls the thing a card shows.
ID_LABELS = {"mirrortab": "Session", "samesurf": "Room", "mirotalk": "Room", "coviu": "Session"}


class AlreadyEnded(Exception):
    """Someone else ended (or is ending) the card's session first."""


@dataclass(frozen=True)
class Started:
    """A session Cohost asked a vendor for, as the vendor lists it (told apart by the marker in its name): what a
    process finishing a dead one's command needs to card it, or to end it where it cannot be carded."""

    family: str
    vendor: str
    vendor_id: str
    marker: str | None
    #: The card, for the person who asked for the session (their user id).
    card: Callable[[str], SessionCard]
    #: Ends it at the vendor (given the time now); None where the vendor has no way to (SameSurf rooms end when
    #: everyone leaves).
    end: Callable[[datetime], Awaitable[None]] | None
    #: What the person gets privately once the card is up (SameSurf's leader link), if anything.
    then: Callable[[Interaction], Awaitable[None]] | None = None


async def post(ix: Interaction, family: str, vendor: str, view: SessionCard) -> Card:
    """Records the card, then posts it: a click on it always finds its record, however busy the store is."""
    card = await ix.deps.store.add_card(
        NewCard(
            team_id=ix.team_id,
            channel_id=ix.channel_id,
            family=family,
            vendor=vendor,
            vendor_id=view.vendor_id,
            name=view.name,
            creator_id=ix.user_id,
            created_at=ix.deps.clock.now(),
            starts_at=view.starts_at,
            expires_at=view.expires_at,
            join_url=view.join_url,
        )
    )
    await ix.deps.store.plan_jobs(card.id, plan(card, ix.deps.warning_lead))
    if ix.intake is not None:
        # From here on the card may be in the channel before its ts is recorded: a crash in between leaves it in
        # doubt, and the process finishing the command must not post it twice.
        ix.intake.card_id = card.id
        await ix.deps.intakes.posting(ix.intake, card.id)
    await post_recorded(ix, card, view)
    return card


async def post_recorded(ix: Interaction, card: Card, view: SessionCard) -> None:
    """Posts a recorded card's message and records its ts."""
    ts = await ix.post_card(blocks.card_text(view), blocks.card_blocks(view))
    if ts is None:
        return
    recorded = [ix.deps.store.set_card_message(card.id, ts)]
    if ix.intake is not None:
        recorded.append(ix.deps.intakes.posted(ix.intake, ts))
    await asyncio.gather(*recorded)
    card.ts = ts


async def may_manage(ix: Interaction, card: Card | None, *, what: str, listing: str) -> bool:
    """The permission rule: the card's creator, a `COHOST_ADMINS` member or a workspace admin. Others are told
    why not (privately), and False comes back."""
    if card is not None and card.creator_id == ix.user_id:
        return True
    if await ix.is_admin():
        return True
    if card is None:
        await ix.private(
            f":no_entry: Cohost did not start this {what}, so only a Cohost admin or a workspace admin can change "
            f"it. `{listing}` shows the live ones."
        )
    else:
        await ix.private(
            f":no_entry: Only {blocks.mention(card.creator_id)} (who started it), a Cohost admin or a workspace "
            f"admin can do that to this {what}."
        )
    return False


@asynccontextmanager
async def ending(ix: Interaction, card: Card | None) -> AsyncIterator[None]:
    """Claims the card for ending (a second click finds it taken: `AlreadyEnded`); if the vendor call inside
    fails, the card goes back to active so the person can try again."""
    if card is not None and (card.state != CardState.ACTIVE.value or not await ix.deps.store.begin_end(card.id)):
        raise AlreadyEnded
    try:
        yield
    except BaseException:
        if card is not None:
            await ix.deps.store.abort_end(card.id)
        raise


def plan(card: Card, lead: timedelta) -> list[tuple[JobKind, datetime]]:
    """When the scheduler acts on a card: a warning `lead` before expiry and the expiry itself; a reminder `lead`
    before a scheduled start. A warning or reminder that would come as soon as the card is up is left out: the
    card itself says as much."""
    jobs: list[tuple[JobKind, datetime]] = []
    if card.expires_at is not None:
        if lead > timedelta(0) and card.expires_at - lead > card.created_at:
            jobs.append((JobKind.WARN, card.expires_at - lead))
        jobs.append((JobKind.EXPIRE, card.expires_at))
    if card.starts_at is not None and card.starts_at - lead > card.created_at:
        jobs.append((JobKind.REMIND, card.starts_at - lead))
    return jobs


async def close(ix: Interaction, card: Card, state: CardState, *, by: str | None) -> None:
    """Marks the card ended or expired and edits its message: state and duration, no buttons, no join link."""
    # A click on the card names its message even if the store has not heard its ts yet.
    await close_card(ix.deps, card, state, by=by, message_ts=ix.message_ts)


async def close_card(
    deps: Deps, card: Card, state: CardState, *, by: str | None, message_ts: str | None = None
) -> None:
    now = deps.clock.now()
    card = await deps.store.finish_end(card.id, by=by, at=now, state=state)
    await deps.store.cancel_jobs(card.id, now)
    ts = card.ts or message_ts
    if ts is None:
        return
    closed = ClosedCard(
        name=card.name,
        vendor=DISPLAY_NAMES[card.vendor],
        id_label=ID_LABELS[card.vendor],
        vendor_id=card.vendor_id,
        creator_id=card.creator_id,
        state=state.value,
        minutes=minutes_between(card.starts_at or card.created_at, now),
        ended_by=by,
    )
    await deps.client.chat_update(
        channel=card.channel_id, ts=ts, text=blocks.closed_card_text(closed), blocks=blocks.closed_card_blocks(closed)
    )


async def redraw(ix: Interaction, card: Card, view: SessionCard) -> None:
    """Edits an active card in place after its session changed (a new name or new times); its warnings and
    reminders move with it."""
    await ix.deps.store.plan_jobs(card.id, plan(card, ix.deps.warning_lead))
    if card.ts is not None:
        await ix.update_message(card.channel_id, card.ts, blocks.card_text(view), blocks.card_blocks(view))
