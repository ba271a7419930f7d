"""Nothing acked is lost (DESIGN.md, "Trust and safety").

A command is recorded before it is acknowledged and its outcome after (handlers/core/intake.py). A process that dies
mid-command leaves its record open; when the record's lease runs out, another process (or the next one to
start) claims it and finishes it (`recover`): a session the vendor did create gets its card, or is ended where
it cannot be carded; a command that did not complete is answered privately with what happened and the command
as typed, through its `response_url` while Slack still takes it, else by direct message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError

from handlers.cobrowse import commands as cobrowse
from handlers.core import blocks, cards
from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import InputRules, ParseError
from handlers.core.interaction import Deps, Interaction
from handlers.core.parsing import Family, Parsed
from handlers.meeting import commands as meeting
from handlers.meeting import starting as meeting_starting
from services import registry
from services.errors import VendorError
from services.intake import IntakeRecord, Outcome
from services.registry import display_name, family_vendors
from services.store import Card, CardState
from services.vendors import Vendors

log = logging.getLogger("cohost.intake")

#: Slack takes posts to a `response_url` for 30 minutes (and five of them); later answers go by direct message.
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
#: Records claimed per pass, and finished at once.
RECOVER_BATCH = 200
CONCURRENCY = 16
#: A record that could not be finished (a vendor's list or Slack failing) is tried again after this, at most
#: this many times; then the person is told what Cohost could not find out.
RETRY_AFTER = timedelta(minutes=1)
MAX_RECOVERIES = 5

#: A vendor's live sessions that carry a Cohost marker, given the vendor and the earliest command's time.
StartedAt = Callable[[Vendors, str, datetime], Awaitable[list[cards.Started]]]


@dataclass(frozen=True)
class _Starter:
    """How a family's commands start sessions, and where Cohost finds the ones it started."""

    family: Family
    starts_session: Callable[[Parsed[Any], Vendors], str | None]
    started_at: Mapping[str, StartedAt]


_STARTERS = {
    cobrowse.COBROWSE.command: _Starter(
        cobrowse.COBROWSE,
        cobrowse.starts_session,
        # Every co-browsing vendor lists its live sessions with their names, where the marker is.
        {v.key: cobrowse.started_at for v in family_vendors(cobrowse.FAMILY)},
    ),
    meeting.MEETING.command: _Starter(meeting.MEETING, meeting.starts_session, {"coviu": meeting_starting.started_at}),
}
#: The vendors whose lists show the sessions Cohost started (by marker), and how to read each.
_LISTS = {vendor: started_at for starter in _STARTERS.values() for vendor, started_at in starter.started_at.items()}


# -- finishing what a dead process left ------------------------------------------------------------------------


async def recover(deps: Deps) -> datetime | None:
    """Claims the open records of processes that died and finishes each. Returns when the lease of another
    process's open record runs out next (when to look again), or None when there is none."""
    while True:
        orphans = await deps.intakes.claim_orphans(deps.clock.now(), limit=RECOVER_BATCH)
        if orphans:
            log.info("finishing %d commands a stopped process left", len(orphans))
            await _finish_all(deps, orphans)
        if len(orphans) < RECOVER_BATCH:
            return await deps.intakes.next_orphan_due()


@dataclass
class _Listings:
    """What each vendor lists as started by Cohost, by id and by marker; the vendors whose list failed."""

    by_id: dict[tuple[str, str], cards.Started]
    by_marker: dict[str, cards.Started]
    failed: dict[str, VendorError]


def _starting_vendor(record: IntakeRecord, vendors: Vendors, deps_rules: InputRules) -> str | None:
    starter = _STARTERS.get(record.command)
    if starter is None:
        return None
    try:
        parsed = starter.family.parse(record.text, deps_rules)
        return starter.starts_session(parsed, vendors) if parsed is not None else None
    except (ParseError, VendorError, LookupError):
        return None  # not (or no longer) a command that starts anything


async def _listings(deps: Deps, wanted: set[str], since: datetime) -> _Listings:
    listings = _Listings({}, {}, {})
    # A vendor that is off created nothing: there is nothing to look for.
    for vendor in sorted(v for v in wanted & set(_LISTS) if not deps.vendors.config.missing(v)):
        try:
            found = await _LISTS[vendor](deps.vendors, vendor, since)
        except VendorError as exc:
            listings.failed[vendor] = exc
            continue
        for started in found:
            listings.by_id[(started.vendor, started.vendor_id)] = started
            if started.marker:
                listings.by_marker[started.marker] = started
    return listings


async def _finish_all(deps: Deps, records: list[IntakeRecord]) -> None:
    starting = {record.id: _starting_vendor(record, deps.vendors, deps.input_rules) for record in records}
    wanted = {vendor for vendor in starting.values() if vendor} | {r.vendor for r in records if r.vendor}
    listings = await _listings(deps, wanted, min(record.received_at for record in records))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(record: IntakeRecord) -> None:
        async with gate:
            ix = _interaction(deps, record)
            try:
                await _finish(ix, record, record.vendor or starting[record.id], listings)
            except Exception:
                log.exception("command %s a stopped process left could not be finished", record.id)
                try:
                    await _try_later(ix, record, _unfinished_text())
                except Exception:
                    # Freed all the same: a record this process holds and no longer works on would have its
                    # lease renewed by it for as long as it runs.
                    await deps.intakes.release(record.id, retry_at=deps.clock.now() + RETRY_AFTER)

    await asyncio.gather(*(one(record) for record in records))


async def _finish(ix: Interaction, record: IntakeRecord, vendor: str | None, listings: _Listings) -> None:
    deps = ix.deps
    # Left open after a failure the person was told of (the vendor's answer was lost): only news is worth a word.
    told = record.outcome == Outcome.ANSWERED
    card = await _recorded_card(deps, record)
    if card is not None and card.ts is not None:
        ix.reserved_ts = None  # the card is in the channel (in the place held for it, if one was)
        await _close(ix, record, Outcome.CARDED, card.id)  # all but recorded as done: nothing to say
        return
    if vendor is None:
        if not told:
            await _tell_to_retry(ix, record, _unfinished_text())
        await _close(ix, record, Outcome.ANSWERED)
        return
    if vendor in listings.failed:
        await _try_later(ix, record, None if told else _unknown_text(vendor, listings.failed[vendor]))
        return
    started = (
        listings.by_id.get((vendor, record.vendor_id)) if record.vendor_id else listings.by_marker.get(record.marker)
    )
    if started is None and card is not None:
        # Recorded, perhaps posted, and not in a vendor's list Cohost can read (MiroTalk lists no empty rooms).
        await _tell_to_retry(ix, record, _card_in_doubt_text(record, card.vendor, card.vendor_id))
        await _close(ix, record, Outcome.CARDED, card.id)
        return
    if started is None:
        if not told:
            await _tell_to_retry(ix, record, _not_started_text(record, vendor))
        await _close(ix, record, Outcome.ANSWERED)
        return
    await _card(ix, record, started, card)
    if told:
        name = display_name(started.vendor)
        await _tell(
            ix,
            record,
            Mrkdwn(
                ":information_source: {} did start your session {} after all (its answer to Cohost was lost on the "
                "way); its card is up now, so there is no need to run the command again."
            ).format(name, code(started.vendor_id)),
        )


async def _recorded_card(deps: Deps, record: IntakeRecord) -> Card | None:
    """The card the dead process recorded for the command's session, if it got that far (a card comes only after
    the vendor's id is recorded), with the ts of its message if it was posted."""
    if not (record.vendor and record.vendor_id):
        return None
    card = await deps.store.find_card(record.team_id, record.vendor, record.vendor_id)
    if card is not None and card.ts is None and record.card_ts is not None:
        await deps.store.set_card_message(card.id, record.card_ts)  # posted: its ts was on its way to the store
        card.ts = record.card_ts
    return card


async def _card(ix: Interaction, record: IntakeRecord, started: cards.Started, card: Card | None) -> None:
    """Cards a session the vendor did create: the dead process may have got as far as recording its card
    (`card`), and as far as posting it."""
    view = started.card(record.user_id)
    if card is not None and record.card_id == card.id and ix.reserved_ts is None:
        # The dead process was posting the card when it died: posting it again could show it twice, so the
        # person gets it privately, with a word on why. (A card with a place held for it is an edit of that
        # message instead, which may be done twice.)
        note = blocks.context(
            Mrkdwn(
                ":information_source: Cohost restarted while posting this card. If it is not in the channel, here "
                "it is, for you alone."
            )
        )
        await _tell(ix, record, blocks.card_text(view), [*blocks.card_blocks(view), note])
        await _close(ix, record, Outcome.CARDED, card.id)
        return
    try:
        if card is None:
            card = await cards.post(ix, registry.vendor(started.vendor), view)
        else:  # recorded, not yet posted
            await cards.post_recorded(ix, card, view)
    except SlackApiError as exc:
        await _end_uncarded(ix, record, started, str(exc.response.get("error")))
        return
    if started.then is not None:
        try:
            await started.then(ix)
        except (VendorError, SlackApiError) as exc:
            log.info("after a recovered card: %s", type(exc).__name__)
    await _close(ix, record, Outcome.CARDED, card.id)


async def _end_uncarded(ix: Interaction, record: IntakeRecord, started: cards.Started, error: str) -> None:
    """The card could not be posted: the session is ended (where the vendor can) so none is left without one."""
    deps = ix.deps
    card = await deps.store.find_card(record.team_id, started.vendor, started.vendor_id)
    name = display_name(started.vendor)
    if started.end is not None:
        await started.end(deps.clock.now())
        what = Mrkdwn("so Cohost ended it at {}").format(name)
    else:
        what = Mrkdwn("and {} has no way to end it: it ends when everyone has left").format(name)
    if card is not None:
        await cards.close_card(deps, card, CardState.ENDED, by=None)
    text = Mrkdwn(
        ":warning: Cohost could not finish starting your {} session {}: its card could not be posted ({}), {}."
    ).format(name, code(started.vendor_id), error, what)
    await _tell_to_retry(ix, record, text)
    await _close(ix, record, Outcome.ENDED, card.id if card is not None else None)


async def _try_later(ix: Interaction, record: IntakeRecord, giving_up: Mrkdwn | None) -> None:
    """Leaves the record for another try in a while; after the last try, the person is told `giving_up` (with
    their command)."""
    deps = ix.deps
    if record.recoveries < MAX_RECOVERIES:
        await deps.intakes.release(record.id, retry_at=deps.clock.now() + RETRY_AFTER)
        return
    if giving_up is not None:
        await _tell_to_retry(ix, record, giving_up)
    await _close(ix, record, Outcome.ANSWERED)


def _interaction(deps: Deps, record: IntakeRecord) -> Interaction:
    fresh = record.response_url and deps.clock.now() - record.received_at < RESPONSE_URL_LIFETIME
    return Interaction(
        deps=deps,
        client=deps.slack_for(record.team_id),
        team_id=record.team_id,
        user_id=record.user_id,
        channel_id=record.channel_id,
        respond=AsyncRespond(response_url=record.response_url) if fresh else None,
        typed=record.typed,
        # Where the dead process held the card's place, the card takes it (or it is taken away on closing).
        reserved_ts=record.held_ts,
    )


async def _tell(ix: Interaction, record: IntakeRecord, text: Mrkdwn, blocks_: list[blocks.Block] | None = None) -> None:
    """Privately: through the command's `response_url` while Slack takes it, else by direct message."""
    if ix.respond is not None:
        await ix.private(text, blocks_)
    else:
        await ix.dm(record.user_id, text, blocks_)


async def _tell_to_retry(ix: Interaction, record: IntakeRecord, text: Mrkdwn) -> None:
    """`text`, then the command as the person typed it, for them to run again: nothing they wrote is lost."""
    await _tell(ix, record, blocks.with_command(text, record.typed))


async def _close(ix: Interaction, record: IntakeRecord, outcome: Outcome, card_id: int | None = None) -> None:
    """Records the outcome; a place still held for a card that never came is taken away first."""
    await ix.give_up_place()
    await ix.deps.intakes.finish(record.id, outcome, at=ix.deps.clock.now(), card_id=card_id)


# -- what the person is told ---------------------------------------------------------------------------------------


def _unfinished_text() -> Mrkdwn:
    return Mrkdwn(
        ":warning: Cohost restarted while it was handling your command and could not finish it; part of it may have "
        "been done. Check before you run it again."
    )


def _not_started_text(record: IntakeRecord, vendor: str) -> Mrkdwn:
    name = display_name(vendor)
    if record.vendor_id and vendor in _LISTS:
        return Mrkdwn(
            ":warning: Cohost restarted while starting your {} session {}; it is no longer live at {}, so it got no "
            "card. Start a new one when you are ready."
        ).format(name, code(record.vendor_id), name)
    return Mrkdwn(
        ":warning: Cohost restarted before your {} session was started, and nothing was created at {}. Run the "
        "command again when you are ready."
    ).format(name, name)


def _card_in_doubt_text(record: IntakeRecord, vendor: str, vendor_id: str) -> Mrkdwn:
    return Mrkdwn(
        ":information_source: Cohost restarted while posting the card of your {} session {}. If it is not in the "
        "channel, {} shows the session."
    ).format(display_name(vendor), code(vendor_id), code(f"{record.command} list"))


def _unknown_text(vendor: str, error: VendorError) -> Mrkdwn:
    name = display_name(vendor)
    return Mrkdwn(
        ":warning: Cohost restarted while starting your {} session, and {} could not tell whether it was created "
        "({}). Check the live sessions before you run it again."
    ).format(name, name, error.message)
