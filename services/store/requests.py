"""The keys of Slack requests already acted on, per team, so a redelivered request never acts twice."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import delete

from services.store.database import Database
from services.store.models import HandledRequest

CLAIM_BATCH = 500  # rows per INSERT: three bound values each, well under SQLite's limit


class HandledRequests(Database):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._claims: list[tuple[tuple[str, str], datetime, asyncio.Future[bool]]] = []
        self._claimer: asyncio.Task[None] | None = None

    async def claim_request(self, team_id: str, key: str, now: datetime) -> bool:
        """True the first time the team's `key` is seen; False for a redelivery of a request already handled.

        Claims are group-committed: every claim that arrives while one batch is being written goes into the
        next single INSERT, so a burst of requests costs a few transactions, not one each.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append(((team_id, key[:200]), now, future))
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._write_claims())
        return await future

    async def _write_claims(self) -> None:
        while self._claims:
            batch, self._claims = self._claims[:CLAIM_BATCH], self._claims[CLAIM_BATCH:]
            rows = {key: at for key, at, _ in batch}
            try:
                inserted = await self._insert_new_keys(rows)
            except Exception as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for key, _, future in batch:
                # A key twice in one batch: only its first claim wins.
                future.set_result(key in inserted)
                inserted.discard(key)

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
