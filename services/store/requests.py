"""The keys of Slack requests already acted on, per team, so a redelivered request never acts twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from services.batching import GroupCommit
from services.store.database import Database
from services.store.models import HandledRequest

CLAIM_BATCH = 500  # rows per INSERT: three bound values each, well under SQLite's limit


class HandledRequests(Database):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._claims: GroupCommit[tuple[tuple[str, str], datetime], bool] = GroupCommit(
            self._claim_batch, batch=CLAIM_BATCH
        )

    async def claim_request(self, team_id: str, key: str, now: datetime) -> bool:
        """True the first time the team's `key` is seen; False for a redelivery of a request already handled.

        Claims are group-committed (services/batching.py): every claim that arrives while one batch is being
        written goes into the next single INSERT, so a burst of requests costs a few transactions, not one each.
        """
        return await self._claims.submit(((team_id, key[:200]), now))

    async def _claim_batch(self, claims: list[tuple[tuple[str, str], datetime]]) -> list[bool]:
        inserted = await self._insert_new_keys(dict(claims))
        won: list[bool] = []
        for key, _ in claims:
            # A key twice in one batch: only its first claim wins.
            won.append(key in inserted)
            inserted.discard(key)
        return won

    async def _insert_new_keys(self, rows: dict[tuple[str, str], datetime]) -> set[tuple[str, str]]:
        statement = (
            self._insert()(HandledRequest)
            .values([{"team_id": team, "key": key, "handled_at": at} for (team, key), at in rows.items()])
            .on_conflict_do_nothing(index_elements=["team_id", "key"])
            .returning(HandledRequest.team_id, HandledRequest.key)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
            return {(row[0], row[1]) for row in result}

    async def prune_requests(self, older_than: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(HandledRequest).where(HandledRequest.handled_at < older_than))
            return int(result.rowcount)  # type: ignore[attr-defined]
