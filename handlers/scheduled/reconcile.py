"""Reconciliation: the active cards compared with each vendor's own list, so a session that ended elsewhere gets
its card closed."""

from __future__ import annotations

import logging
from typing import Any

from handlers.core import cards
from handlers.core.interaction import Deps
from services.errors import VendorError
from services.store import Card, CardState
from services.vendor_values import Rows

log = logging.getLogger("cohost.scheduled")


async def _live_ids(deps: Deps, vendor: str) -> set[str] | None:
    """The ids the vendor lists as live; None when some of its rows could not be read (one of them may be the
    session of an active card, so no card is closed on that list)."""
    vendors = deps.vendors
    rows: list[Rows[Any]]
    if vendor == "mirrortab":
        rows = [await vendors.mirrortab.list_sessions()]
        ids = {s.session_id for s in rows[0]}
    elif vendor == "samesurf":
        rows = [await vendors.samesurf.all_running_rooms()]
        ids = {r.room for r in rows[0]}
    elif vendor == "mirotalk":
        rows = [await vendors.mirotalk.meetings()]
        ids = {m.room for m in rows[0]}
    else:
        rows = [await vendors.coviu.live_sessions(deps.clock.now())]
        ids = {s.session_id for s in rows[0]}
    return None if any(page.unreadable for page in rows) else ids


#: Vendors whose sessions show in their list only while people are in them: a card there is closed only once
#: its session was seen live and then gone, never because nobody has joined yet.
_LIVE_WHILE_OCCUPIED = {"samesurf", "mirotalk"}


async def reconcile(deps: Deps) -> int:
    """Compares the active cards with each vendor's own list; a session that ended elsewhere gets its card
    closed. A vendor that cannot be asked is left for the next round: no card is closed on a failure."""
    by_vendor: dict[str, list[Card]] = {}
    for card in await deps.store.active_cards():
        by_vendor.setdefault(card.vendor, []).append(card)
    closed = 0
    now = deps.clock.now()
    for vendor, active in by_vendor.items():
        if deps.vendors.config.missing(vendor):
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
            if vendor in _LIVE_WHILE_OCCUPIED and card.last_seen_at is None:
                continue
            if card.starts_at is not None and card.starts_at > now and vendor != "coviu":
                continue  # scheduled, not begun
            if await deps.store.begin_end(card.id):
                expired = card.expires_at is not None and card.expires_at <= now
                await cards.close_card(deps, card, CardState.EXPIRED if expired else CardState.ENDED, by=None)
                closed += 1
    return closed
