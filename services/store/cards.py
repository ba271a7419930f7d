"""Cards: which Slack message shows which vendor session, who made it, its times and its state."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update

from services.store.database import Database
from services.store.models import Card, CardState, NewCard


class Cards(Database):
    async def add_card(self, card: NewCard) -> Card:
        row = Card(**card.__dict__, state=CardState.ACTIVE.value)
        async with self._sessions.begin() as session:
            session.add(row)
        return row

    async def set_card_message(self, card_id: int, ts: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Card).where(Card.id == card_id).values(ts=ts))

    async def get_card(self, team_id: str, card_id: int) -> Card | None:
        """The card, if it is the team's."""
        async with self._sessions() as session:
            card = await session.get(Card, card_id)
            return card if card is not None and card.team_id == team_id else None

    async def find_card(self, team_id: str, vendor: str, vendor_id: str) -> Card | None:
        """The team's newest card of a vendor's session (SameSurf reuses room numbers)."""
        async with self._sessions() as session:
            result = await session.execute(
                select(Card)
                .where(Card.team_id == team_id, Card.vendor == vendor, Card.vendor_id == vendor_id)
                .order_by(Card.id.desc())
                .limit(1)
            )
            return result.scalar_one_or_none()

    async def begin_end(self, card_id: int) -> bool:
        """Moves an active card to `ending`; False when someone else already ended or is ending it."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Card)
                .where(Card.id == card_id, Card.state == CardState.ACTIVE.value)
                .values(state=CardState.ENDING.value)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def abort_end(self, card_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card)
                .where(Card.id == card_id, Card.state == CardState.ENDING.value)
                .values(state=CardState.ACTIVE.value)
            )

    async def finish_end(
        self, card_id: int, *, by: str | None, at: datetime, state: CardState = CardState.ENDED
    ) -> Card:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card).where(Card.id == card_id).values(state=state.value, ended_by=by, ended_at=at)
            )
            card = await session.get(Card, card_id)
            assert card is not None
            return card

    async def update_card(
        self, card_id: int, *, name: str, starts_at: datetime | None, expires_at: datetime | None
    ) -> Card:
        """A session's new name or times (Coviu `update`), so the card and its warnings follow."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Card).where(Card.id == card_id).values(name=name, starts_at=starts_at, expires_at=expires_at)
            )
            card = await session.get(Card, card_id)
            assert card is not None
            return card

    async def seen_live(self, card_ids: list[int], at: datetime) -> None:
        if not card_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(update(Card).where(Card.id.in_(card_ids)).values(last_seen_at=at))

    async def active_cards(self, family: str | None = None, *, team_id: str | None = None) -> list[Card]:
        """Active cards of one team, or of every team (reconciliation: the vendor accounts may be shared)."""
        async with self._sessions() as session:
            query = select(Card).where(Card.state == CardState.ACTIVE.value)
            if family is not None:
                query = query.where(Card.family == family)
            if team_id is not None:
                query = query.where(Card.team_id == team_id)
            return list((await session.execute(query.order_by(Card.id))).scalars())

    async def person_cards(
        self, team_id: str, creator_id: str, now: datetime, *, upcoming: bool, limit: int
    ) -> list[Card]:
        """A person's active cards in a team, oldest first, at most `limit`: those that have started (or have no
        start), or (`upcoming`) those that start after `now`."""
        started = (Card.starts_at.is_(None)) | (Card.starts_at <= now)
        async with self._sessions() as session:
            query = select(Card).where(
                Card.team_id == team_id,
                Card.creator_id == creator_id,
                Card.state == CardState.ACTIVE.value,
                ~started if upcoming else started,
            )
            return list((await session.execute(query.order_by(Card.id).limit(limit))).scalars())

    async def cards_between(
        self, team_id: str, start: datetime, end: datetime, *, family: str, channel_id: str | None = None
    ) -> list[Card]:
        """The team's cards of a family created in [start, end), oldest first; only one channel's when
        `channel_id` is given."""
        async with self._sessions() as session:
            query = select(Card).where(
                Card.team_id == team_id, Card.family == family, Card.created_at >= start, Card.created_at < end
            )
            if channel_id is not None:
                query = query.where(Card.channel_id == channel_id)
            return list((await session.execute(query.order_by(Card.created_at, Card.id))).scalars())

    async def session_ids_during(
        self, team_id: str, start: datetime, end: datetime, *, family: str | None = None
    ) -> set[tuple[str, str]]:
        """(vendor, vendor id) of the team's sessions alive at some time in [start, end]: carded by its end and not
        ended before its start. Ended cards count too: a digest covers a period, not only now."""
        alive = (Card.ended_at.is_(None)) | (Card.ended_at >= start)
        async with self._sessions() as session:
            query = select(Card.vendor, Card.vendor_id).where(Card.team_id == team_id, Card.created_at <= end, alive)
            if family is not None:
                query = query.where(Card.family == family)
            return {(vendor, vendor_id) for vendor, vendor_id in await session.execute(query)}

    async def carded_ids(self, team_id: str, vendor: str, vendor_ids: Collection[str]) -> set[str]:
        """Which of `vendor_ids` (a page of a vendor's list, or one id) the team has ever had a card of."""
        if not vendor_ids:
            return set()
        async with self._sessions() as session:
            query = select(Card.vendor_id).where(
                Card.team_id == team_id, Card.vendor == vendor, Card.vendor_id.in_(list(vendor_ids))
            )
            return set((await session.execute(query)).scalars())
