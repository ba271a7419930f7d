"""A card's life, the same for every family: recorded then posted, ended once by someone allowed to, then
edited in place to say who ended it and after how long, with every button and the join link removed.

What a card carries comes from the vendor registry: its vendor's name and id label, and its buttons, each with an
action id of its family (`cobrowse_end`, `meeting_my_link`) and a value naming the session (and its vendor, where
the family's button serves more than one vendor: `coviu:ID`). The end of a session, from a command or a button,
is one flow (`end`) whatever the family: the vendor's adapter ends it and says how it went."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.core import blocks
from handlers.core.background import together
from handlers.core.blocks import Button, CardSession, ClosedCard, Mrkdwn, SessionCard, code
from handlers.core.interaction import Deps, Interaction
from handlers.core.own import walled
from services import registry
from services.clock import minutes_between
from services.registry import FAMILIES, CardButton, VendorEntry
from services.sessions import Ending
from services.store import Card, CardState, JobKind, NewCard

log = logging.getLogger("cohost.handlers")

_LABELS = {CardButton.END: "End", CardButton.MY_LINK: "Get my link", CardButton.INVITE_LINK: "Invite link"}


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
    end: Callable[[datetime], Awaitable[object]] | None
    #: What the person gets privately once the card is up (a leader or host link), if anything.
    then: Callable[[Interaction], Awaitable[None]] | None = None


async def post(ix: Interaction, entry: VendorEntry[Any], view: SessionCard) -> Card:
    """Records the card of a session of `entry`'s vendor (and so of its family), then posts it: a click on it always
    finds its record, however busy the store is."""
    card = await ix.deps.store.add_card(
        NewCard(
            team_id=ix.team_id,
            channel_id=ix.channel_id,
            family=entry.family,
            vendor=entry.key,
            vendor_id=view.session.vendor_id,
            name=view.session.name,
            creator_id=ix.user_id,
            created_at=ix.deps.clock.now(),
            starts_at=view.starts_at,
            expires_at=view.expires_at,
            join_url=view.join_url,
        )
    )
    await ix.deps.store.plan_jobs(card, plan(card, ix.deps.warning_lead))
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
    if ts is not None:
        recorded = ix.deps.store.set_card_message(card.id, ts)
        if ix.intake is None:
            await recorded
        else:
            await together(recorded, ix.deps.intakes.posted(ix.intake, ts))
        card.ts = ts
    ix.deps.card_changed(card)  # posted, or handed to its person: live either way


async def may_manage(ix: Interaction, card: Card | None, *, what: str, listing: str) -> bool:
    """The permission rule: the card's creator, a `COHOST_ADMINS` member or a workspace admin. Others are told
    why not (privately), and False comes back."""
    if card is not None and card.creator_id == ix.user_id:
        return True
    if card is None and walled(ix.deps):
        # With many workspaces, whose vendor accounts may be shared, a session without a card here may be another
        # workspace's: not even an admin changes it from here (nothing says whether it exists).
        await ix.private(
            blocks.Mrkdwn(
                ":no_entry: This workspace did not start this {}, so it cannot be changed from here. {} shows the "
                "ones it did."
            ).format(what, blocks.code(listing))
        )
        return False
    if await ix.is_admin():
        return True
    if card is None:
        await ix.private(
            blocks.Mrkdwn(
                ":no_entry: Cohost did not start this {}, so only a Cohost admin or a workspace admin can change it. "
                "{} shows the live ones."
            ).format(what, blocks.code(listing))
        )
    else:
        await ix.private(
            blocks.Mrkdwn(
                ":no_entry: Only {} (who started it), a Cohost admin or a workspace admin can do that to this {}."
            ).format(blocks.mention(card.creator_id), what)
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
    deps: Deps,
    card: Card,
    state: CardState,
    *,
    by: str | None,
    message_ts: str | None = None,
    running: JobKind | None = None,
) -> None:
    """Records the card closed, cancels its pending jobs, then edits its message. `running` is the job doing
    this (an expiry): it is not cancelled but records its own outcome, so a message edit that fails is tried
    again by that job (`show_closed`)."""
    now = deps.clock.now()
    card = await deps.store.finish_end(card.id, by=by, at=now, state=state)
    others = None if running is None else tuple(kind for kind in JobKind if kind != running)
    await deps.store.cancel_jobs(card.id, now, kinds=others)
    deps.card_changed(card)
    await show_closed(deps, card, message_ts)


async def show_closed(deps: Deps, card: Card, message_ts: str | None = None) -> None:
    """Edits a closed card's message: its state and duration, no buttons, no join link."""
    ts = card.ts or message_ts
    if ts is None:
        return
    closed = ClosedCard(
        card_session(registry.vendor(card.vendor), card.vendor_id, card.name, card.creator_id),
        state=card.state,
        minutes=minutes_between(card.starts_at or card.created_at, card.ended_at or deps.clock.now()),
        ended_by=card.ended_by,
    )
    await deps.slack_for(card.team_id).chat_update(
        channel=card.channel_id, ts=ts, text=blocks.closed_card_text(closed), blocks=blocks.closed_card_blocks(closed)
    )


async def redraw(ix: Interaction, card: Card, view: SessionCard) -> None:
    """Edits an active card in place after its session changed (a new name or new times); its warnings and
    reminders move with it."""
    await ix.deps.store.plan_jobs(card, plan(card, ix.deps.warning_lead))
    ix.deps.card_changed(card)
    if card.ts is not None:
        await ix.update_message(card.channel_id, card.ts, blocks.card_text(view), blocks.card_blocks(view))


# -- what a card carries -------------------------------------------------------------------------------------


def action_id(family: str, button: CardButton) -> str:
    """The action id of a family's button: `cobrowse_end`, `meeting_my_link`."""
    return f"{family}_{button}"


def _shared(family: str, button: CardButton) -> bool:
    return len(registry.with_button(family, button)) > 1


def button_value(entry: VendorEntry[Any], button: CardButton, vendor_id: str) -> str:
    """What a button carries: the session's id, after its vendor where the family's button serves several."""
    return f"{entry.key}:{vendor_id}" if _shared(entry.family, button) else vendor_id


def read_button(family: str, button: CardButton, value: str) -> tuple[VendorEntry[Any], str]:
    """The vendor and the session a clicked button names (a vendor the registry does not know: the family's
    first vendor with that button, as the card it came from cannot have been one of Cohost's)."""
    serving = registry.with_button(family, button)
    if not _shared(family, button):
        return serving[0], value
    key, _, vendor_id = value.partition(":")
    return next((v for v in serving if v.key == key), serving[0]), vendor_id


def card_button(entry: VendorEntry[Any], button: CardButton, vendor_id: str, *, label: str | None = None) -> Button:
    value = button_value(entry, button, vendor_id)
    if button is CardButton.END:
        confirm = Mrkdwn("This ends the {} for everyone in it.").format(FAMILIES[entry.family].noun)
        return Button(action_id(entry.family, button), label or "End", value, style="danger", confirm=confirm)
    return Button(action_id(entry.family, button), label or _LABELS[button], value)


def card_buttons(entry: VendorEntry[Any], vendor_id: str, *, can_end: bool = True) -> list[Button]:
    """A card's buttons, as its vendor's entry lists them (End only where Cohost can end it now)."""
    return [
        card_button(entry, button, vendor_id)
        for button in entry.buttons
        if button is not CardButton.END or (entry.endable and can_end)
    ]


def card_session(entry: VendorEntry[Any], vendor_id: str, name: str, creator_id: str) -> CardSession:
    """The session a card is about, named as its vendor's registry entry names it: what every card shows."""
    return CardSession(
        name=name, vendor=entry.name, id_label=entry.id_label, vendor_id=vendor_id, creator_id=creator_id
    )


def card_of(
    entry: VendorEntry[Any],
    vendor_id: str,
    *,
    name: str,
    creator_id: str,
    join_url: str | None = None,
    code: str | None = None,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    can_end: bool = True,
    note: Mrkdwn | None = None,
) -> SessionCard:
    """What a card shows while its session is on: the vendor's name and id label and its buttons from the
    registry, the rest from the session."""
    return SessionCard(
        card_session(entry, vendor_id, name, creator_id),
        join_url=join_url,
        code=code,
        starts_at=starts_at,
        expires_at=expires_at,
        buttons=card_buttons(entry, vendor_id, can_end=can_end),
        note=note,
    )


async def can_end_now(deps: Deps, entry: VendorEntry[Any]) -> bool:
    """Whether a card of `entry` shows End now: the vendor lets Cohost end its sessions and (MiroTalk) its server
    has ending switched on. A vendor that is off keeps its End button, which then answers why not."""
    if not entry.endable:
        return False
    if deps.vendors.config.missing(entry.key):
        return True
    return await deps.vendors.sessions(entry.key).can_end()


def session_name(entry: VendorEntry[Any], vendor_id: str) -> Mrkdwn:
    """`MirrorTab session `ID``, `MiroTalk room `ID``: a session as answers name it."""
    return Mrkdwn("{} {} {}").format(entry.name, entry.id_label.lower(), code(vendor_id))


def ends_on_its_own(entry: VendorEntry[Any]) -> Mrkdwn:
    """Said where Cohost cannot end a session: the vendor has no way, or its server has ending switched off."""
    if not entry.endable:
        return Mrkdwn("{} {} end when everyone has left.").format(entry.name, entry.runs)
    noun = FAMILIES[entry.family].noun
    return Mrkdwn("This {} server does not let Cohost end {}s: the {} ends when everyone leaves.").format(
        entry.name, noun, noun
    )


# -- ending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    state: CardState
    message: Mrkdwn
    #: Worth telling also after a click on End, whose card change says the rest.
    surprising: bool = False


def _outcome(ending: Ending, what: Mrkdwn, noun: str, redirect: str | None) -> _Outcome:
    if ending is Ending.OVER:
        return _Outcome(CardState.EXPIRED, Mrkdwn("{} had already ended.").format(what), surprising=True)
    if ending is Ending.EMPTY:
        text = Mrkdwn("Nobody was in {}; the {} is closed.").format(what, noun)
        return _Outcome(CardState.ENDED, text, surprising=True)
    if ending is Ending.CANCELLED:
        return _Outcome(CardState.ENDED, Mrkdwn("Cancelled {} before it started.").format(what))
    sent_to = Mrkdwn(" Everyone in it was sent to {}.").format(redirect) if redirect else ""
    return _Outcome(CardState.ENDED, Mrkdwn("Ended {} for everyone.{}").format(what, sent_to))


async def end(
    ix: Interaction, entry: VendorEntry[Any], vendor_id: str, card: Card | None, *, redirect: str | None = None
) -> None:
    """Ends a session for everyone, from its card's End button or its family's `end` command: once (a second
    click finds it ending or ended), by its creator or an admin, through its vendor's adapter; then its card says
    who ended it. The caller is told how it went (after a click, only what the card's change does not show)."""
    what = session_name(entry, vendor_id)
    family = FAMILIES[entry.family]
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(what + Mrkdwn(" has already ended."))
        return
    if not await may_manage(ix, card, what=family.noun, listing=f"{family.command} list"):
        return
    adapter = ix.deps.vendors.sessions(entry.key)
    try:
        async with ending(ix, card):
            ended = await adapter.end(vendor_id, now=ix.deps.clock.now(), redirect=redirect)
        outcome = _outcome(ended, what, family.noun, redirect)
    except AlreadyEnded:
        await ix.private(what + Mrkdwn(" has already ended."))
        return
    if card is not None:
        await close(ix, card, outcome.state, by=ix.user_id if outcome.state == CardState.ENDED else None)
    if ix.typed or outcome.surprising:  # a click on End sees the card change instead
        await ix.private(outcome.message)


async def find_card(ix: Interaction, family: str, vendor_id: str) -> Card | None:
    """The card of the family (of any of its vendors) for `vendor_id`, in the caller's workspace."""
    for entry in registry.family_vendors(family):
        card = await ix.deps.store.find_card(ix.team_id, entry.key, vendor_id)
        if card is not None:
            return card
    return None


def endable(family: str) -> VendorEntry[Any]:
    """The family's first vendor whose sessions Cohost can end: whose an id without a card is taken to be."""
    return next(v for v in registry.family_vendors(family) if v.endable)


def option_refused(entry: VendorEntry[Any], option: str) -> str:
    """`--access is for MirrorTab sessions.`: an option the chosen vendor does not take, and whose it is."""
    owners = " and ".join(f"{v.name} {v.runs}" for v in registry.offering(entry.family, option))
    why = "" if entry.endable else f"; {entry.name} {entry.runs} last while people are in them"
    return f"--{option} is for {owners}{why}."


async def end_clicked(ix: Interaction, family: str, value: str) -> None:
    """The End button of a card of `family` (or of its expiry warning)."""
    entry, vendor_id = read_button(family, CardButton.END, value)
    await end(ix, entry, vendor_id, await ix.deps.store.find_card(ix.team_id, entry.key, vendor_id))
