"""What a workspace started: with many workspaces (OAuth), whose vendor accounts may be shared, every list,
digest, room list and report shows a workspace only the sessions it started; with one, everything the vendor
lists (DESIGN.md, "Workspaces are walls").

"Started by this workspace" is read from its cards, matched by the vendor's id each card recorded (MirrorTab's
session id, SameSurf's room number, MiroTalk's room, Coviu's session id): `Own`. Figures a vendor keeps for the
whole account (SameSurf's analytics overview, MiroTalk's server counts, SameSurf's total of rooms) cannot be
split by workspace, so with many workspaces they are left out and one line says why (`shared_account_note`);
figures Cohost draws from the lists themselves (live counts, Coviu's sessions and minutes) count this
workspace's alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from handlers.core import blocks
from handlers.core.blocks import Block, LiveSection, Mrkdwn
from handlers.core.interaction import Deps
from services import registry
from services.errors import VendorNotFound
from services.registry import VendorEntry
from services.vendor_values import Rows

R = TypeVar("R", bound=BaseModel)


def walled(deps: Deps) -> bool:
    """Whether lists keep to the asking workspace's sessions: with many workspaces, not with one."""
    return deps.workspaces is not None and deps.workspaces.many


@dataclass(frozen=True)
class Own:
    """The sessions a workspace started, as (vendor key, vendor id); `ids` None: everything counts (one
    workspace, whose vendor accounts are its own)."""

    ids: frozenset[tuple[str, str]] | None = None

    @property
    def walled(self) -> bool:
        return self.ids is not None

    def started(self, vendor: str, vendor_id: str) -> bool:
        return self.ids is None or (vendor, vendor_id) in self.ids

    def rows(self, vendor: str, rows: Rows[R], id_of: Callable[[R], str]) -> Rows[R]:
        """Of a vendor's list, the rows of this workspace's sessions (those that could not be read still
        counted: they may be this workspace's)."""
        if self.ids is None:
            return rows
        return Rows([row for row in rows if (vendor, id_of(row)) in self.ids], rows.unreadable)

    def sections(self, sections: Sequence[LiveSection]) -> list[LiveSection]:
        """Of live lists (one section per vendor, by its display name), the rows of this workspace's sessions."""
        if self.ids is None:
            return list(sections)
        shown = {(registry.display_name(vendor), vendor_id) for vendor, vendor_id in self.ids}
        return [replace(s, rows=[r for r in s.rows if (s.vendor, r.vendor_id) in shown]) for s in sections]


async def own_during(deps: Deps, team_id: str, start: datetime, end: datetime, *, family: str | None = None) -> Own:
    """The sessions `team_id` had at some time in [start, end] (a digest's period), of one family or all."""
    if not walled(deps):
        return Own()
    return Own(frozenset(await deps.store.session_ids_during(team_id, start, end, family=family)))


async def own_now(deps: Deps, team_id: str) -> Own:
    """The sessions `team_id` has now (live lists)."""
    now = deps.clock.now()
    return await own_during(deps, team_id, now, now)


async def own_among(deps: Deps, team_id: str, vendor: str, vendor_ids: Collection[str]) -> Own:
    """Which of `vendor_ids` (a page of a vendor's history, or one id asked for) `team_id` ever started."""
    if not walled(deps):
        return Own()
    return Own(frozenset((vendor, i) for i in await deps.store.carded_ids(team_id, vendor, vendor_ids)))


def not_own(entry: VendorEntry[Any], vendor_id: str, listing: str) -> VendorNotFound:
    """What asking for another workspace's session answers: the same as for one that does not exist (nothing
    says whether it does), with where this workspace's own are listed."""
    label = entry.id_label.lower()
    error = VendorNotFound(entry.name, f"{label} {vendor_id} is not one this workspace started")
    error.advice = f"`{listing}` lists this workspace's {entry.runs}."
    return error


def shared_account_note(vendor: str) -> Block:
    """The line in place of a vendor's account-wide figures, with many workspaces."""
    return blocks.context(
        Mrkdwn("{}'s account-wide figures are left out: the account is shared with other workspaces.").format(vendor)
    )
