"""Meeting guests: which Slack person is which participant of a vendor's session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from services.store.database import Database
from services.store.models import MeetingGuest


class Guests(Database):
    async def guest(self, team_id: str, vendor: str, session_id: str, user_id: str) -> str | None:
        """The participant id this person already has in the session, if any."""
        async with self._sessions() as session:
            result = await session.execute(
                select(MeetingGuest.participant_id).where(
                    MeetingGuest.team_id == team_id,
                    MeetingGuest.vendor == vendor,
                    MeetingGuest.session_id == session_id,
                    MeetingGuest.user_id == user_id,
                )
            )
            return result.scalar_one_or_none()

    async def add_guest(
        self, team_id: str, vendor: str, session_id: str, user_id: str, participant_id: str, at: datetime
    ) -> str:
        """Records the person's participant; when a concurrent click recorded one first, that one wins and is
        returned (the caller then drops its own)."""
        person = {"team_id": team_id, "vendor": vendor, "session_id": session_id, "user_id": user_id}
        statement = (
            self._insert()(MeetingGuest)
            .values(**person, participant_id=participant_id, created_at=at)
            .on_conflict_do_nothing(index_elements=list(person))
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
        existing = await self.guest(team_id, vendor, session_id, user_id)
        assert existing is not None
        return existing

    async def guests(self, team_id: str, vendor: str, session_id: str) -> list[tuple[str, str]]:
        """(Slack user id, participant id) of everyone in the team Cohost gave a place in the session."""
        async with self._sessions() as session:
            result = await session.execute(
                select(MeetingGuest.user_id, MeetingGuest.participant_id)
                .where(
                    MeetingGuest.team_id == team_id,
                    MeetingGuest.vendor == vendor,
                    MeetingGuest.session_id == session_id,
                )
                .order_by(MeetingGuest.id)
            )
            return [(row[0], row[1]) for row in result]

    async def forget_guest(self, team_id: str, vendor: str, participant_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                delete(MeetingGuest).where(
                    MeetingGuest.team_id == team_id,
                    MeetingGuest.vendor == vendor,
                    MeetingGuest.participant_id == participant_id,
                )
            )
