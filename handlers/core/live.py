"""Live lists, the same for every vendor: what its adapter lists as live, as rows of an answer to the caller
alone (`live_blocks`, pure Block Kit); a vendor that fails becomes a line, and the other vendors still show. With
many workspaces a list keeps to the asking workspace's sessions (`own_live`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from handlers.core import blocks
from handlers.core.blocks import Block, LiveRow, LiveSection, Mrkdwn
from handlers.core.interaction import Deps
from handlers.core.own import own_now
from services import registry
from services.errors import VendorError
from services.sessions import LiveSession


def people_text(session: LiveSession) -> str:
    """Who is in it: `3 in the room: ann, bob, someone (1 sharing a screen)`."""
    people = session.people or ()
    names = ", ".join((name or "someone")[:80] for name in people[:8])
    more = f" and {len(people) - 8} more" if len(people) > 8 else ""
    sharing = f" ({session.sharing} sharing a screen)" if session.sharing else ""
    return f"{len(people)} in the room: {names}{more}{sharing}"


def live_row(session: LiveSession, default_name: str, ours: Mapping[str, str] | None = None) -> LiveRow:
    """A row: the vendor's name for the session, else its card's (`ours`: id -> name), else `default_name` (empty
    where the vendor names nothing: then the id alone is shown)."""
    name = session.name or (ours or {}).get(session.vendor_id) or default_name
    if session.people is not None:
        detail: str | None = people_text(session)
    else:
        detail = f"{session.unknown_times} unknown" if session.unknown_times else None
    return LiveRow(
        session.vendor_id,
        name,
        session.join_url,
        session.code,
        session.started_at,
        session.ends_at,
        detail=detail,
    )


async def fetch_live(deps: Deps, team_id: str, vendor: str, default_name: str) -> LiveSection:
    """One vendor's live sessions, named as Cohost's cards name them where the vendor names none."""
    entry = registry.vendor(vendor)
    try:
        sessions = await deps.vendors.sessions(vendor).live(deps.clock.now())
        ours: dict[str, str] = {}
        if not entry.names_sessions:
            cards = await deps.store.active_cards(entry.family, team_id=team_id)
            ours = {c.vendor_id: c.name for c in cards if c.vendor == vendor}
    except VendorError as exc:
        return LiveSection(entry.name, error=f"{exc.message}. {exc.advice}")
    fallback = default_name if entry.names_sessions else ""
    return LiveSection(entry.name, [live_row(s, fallback, ours) for s in sessions], unreadable=sessions.unreadable)


async def own_live(deps: Deps, team_id: str, vendors: Sequence[str], default_name: str) -> list[LiveSection]:
    """Each vendor's live sessions (`fetch_live`): with many workspaces, only those `team_id` started."""
    sections = [await fetch_live(deps, team_id, vendor, default_name) for vendor in vendors]
    return (await own_now(deps, team_id)).sections(sections)


def _row_text(row: LiveRow) -> Mrkdwn:
    parts = [Mrkdwn("*{}* {}").format(row.name, blocks.code(row.vendor_id)) if row.name else blocks.code(row.vendor_id)]
    if row.code:
        parts.append(Mrkdwn("code {}").format(blocks.code(row.code)))
    if row.started_at:
        parts.append(Mrkdwn("since {}").format(blocks.date_token(row.started_at)))
    if row.expires_at:
        parts.append(Mrkdwn("until {}").format(blocks.date_token(row.expires_at)))
    if row.detail:
        parts.append(blocks.as_text(row.detail))
    if blocks.web_link(row.join_url):
        parts.append(blocks.link(row.join_url, "join"))
    return Mrkdwn(" · ").join(parts)


def live_blocks(sections: Sequence[LiveSection]) -> list[Block]:
    out: list[Block] = []
    budget = blocks.MAX_ROWS
    for live in sections:
        out.append(blocks.header(f"{live.vendor}: {len(live.rows)} live" if live.error is None else live.vendor))
        if live.error is not None:
            out.append(blocks.section(Mrkdwn(":warning: {}").format(live.error)))
            continue
        if not live.rows:
            out.append(blocks.context(Mrkdwn("Nothing running.")))
        shown = list(live.rows)[: max(budget, 0)]
        out.extend(blocks.section(_row_text(row)) for row in shown)
        budget -= len(shown)
        if len(shown) < len(live.rows):
            out.append(blocks.context(Mrkdwn("… and {} more.").format(len(live.rows) - len(shown))))
        if live.unreadable:
            out.append(blocks.context(blocks.unreadable_note(live.unreadable, live.vendor)))
    return out
