"""Reconciliation: the active cards compared with each vendor's own list, so a session that ended elsewhere gets
its card closed."""

from __future__ import annotations

import logging

from handlers.core import cards
from handlers.core.interaction import Deps
from services import registry
from services.errors import VendorError
from services.store import Card, CardState

log = logging.getLogger("cohost.scheduled")


async def _live_ids(deps: Deps, vendor: str) -> set[str] | None:
    """The ids the vendor lists as live; None when some of its rows could not be read (one of them may be the
    session of an active card, so no card is closed on that list)."""
    rows = await deps.vendors.sessions(vendor).live(deps.clock.now())
    return None if rows.unreadable else {row.vendor_id for row in rows}


async def reconcile(deps: Deps) -> int:
    """Compares the active cards with each vendor's own list; a session that ended elsewhere gets its card
    closed. A vendor that cannot be asked is left for the next round: no card is closed on a failure."""
    by_vendor: dict[str, list[Card]] = {}
    for card in await deps.store.active_cards():
        by_vendor.setdefault(card.vendor, []).append(card)
    closed = 0
    now = deps.clock.now()
    for vendor, active in by_vendor.items():
        entry = registry.vendor(vendor)
        if entry.adapter is None or deps.vendors.config.missing(vendor):
            continue
        try:
            live = await _live_ids(deps, vendor)
        except VendorError as exc:
            log.warning("reconciliation skipped %s: %s", vendor, type(exc).__name__)
            continue
        if live is None:
            log.warning("reconciliation skipped %s: some of its rows could not be read", vendor)
            continue
        await deps.store.seen_live([c.id for c in active if c.vendor_id in live], now)
        for card in active:
            if card.vendor_id in live:
                continue
            if entry.live_while_occupied and card.last_seen_at is None:
                continue  # listed only while people are in it: nobody has joined yet
            if card.starts_at is not None and card.starts_at > now and not entry.lists_upcoming:
                continue  # scheduled, not begun
            if await deps.store.begin_end(card.id):
                expired = card.expires_at is not None and card.expires_at <= now
                try:
                    await cards.close_card(deps, card, CardState.EXPIRED if expired else CardState.ENDED, by=None)
                except Exception as exc:  # recorded closed; only its message could not be edited
                    if not await deps.workspace_gone(card.team_id, exc):
                        raise
                closed += 1
    return closed
