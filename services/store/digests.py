"""Digest subscriptions: a channel's daily or weekly digest of a family, claimed with a lease when due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from services.batching import GroupCommit
from services.store.database import Database
from services.store.models import DigestSubscription, NewDigest


class Digests(Database):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._sent: GroupCommit[dict[str, Any], None] = GroupCommit(self._record_sent)

    async def set_digest(self, digest: NewDigest) -> DigestSubscription:
        """One subscription per team, channel and family: a new one replaces the old."""
        values = dict(digest.__dict__)
        unique = ("team_id", "channel_id", "family")
        statement = self._insert()(DigestSubscription).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=list(unique),
            set_={key: statement.excluded[key] for key in values if key not in unique} | {"lease_until": None},
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
        found = await self.digest(digest.team_id, digest.channel_id, digest.family)
        assert found is not None
        return found

    @staticmethod
    def _digest_of(team_id: str, channel_id: str, family: str) -> tuple[Any, ...]:
        d = DigestSubscription
        return (d.team_id == team_id, d.channel_id == channel_id, d.family == family)

    async def digest(self, team_id: str, channel_id: str, family: str) -> DigestSubscription | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(DigestSubscription).where(*self._digest_of(team_id, channel_id, family))
            )
            return result.scalar_one_or_none()

    async def team_digests(self, team_id: str, *, limit: int = 100) -> list[DigestSubscription]:
        """The team's subscriptions, the next due first (at most `limit`)."""
        d = DigestSubscription
        async with self._sessions() as session:
            query = select(d).where(d.team_id == team_id).order_by(d.next_run_at, d.id).limit(limit)
            return list((await session.execute(query)).scalars())

    async def remove_digest(self, team_id: str, channel_id: str, family: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(DigestSubscription).where(*self._digest_of(team_id, channel_id, family))
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_digests(self, now: datetime, *, lease: timedelta, limit: int = 50) -> list[DigestSubscription]:
        """Digests due now that nobody is sending, leased to the caller."""
        d = DigestSubscription
        free = (d.next_run_at <= now, (d.lease_until.is_(None)) | (d.lease_until < now))
        return list(await self._claim(d, free, d.next_run_at, now + lease, limit))

    async def digest_sent(self, digest_id: int, *, at: datetime, next_run_at: datetime) -> None:
        """Recorded sent, with its next run. Group-committed: a burst of digests going out at once (hundreds of
        channels due at 09:00) is recorded in a few transactions, not one each."""
        await self._sent.submit({"digest_id": digest_id, "at": at, "next_run_at": next_run_at})

    async def _record_sent(self, rows: list[dict[str, Any]]) -> list[None]:
        d = DigestSubscription
        statement = (
            update(d)
            .where(d.id == bindparam("digest_id"))
            .values(last_sent_at=bindparam("at"), next_run_at=bindparam("next_run_at"), lease_until=None, failures=0)
            .execution_options(synchronize_session=False)
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement, rows)
        return [None] * len(rows)

    async def retry_digest(self, digest_id: int, *, leased_until: datetime, at: datetime, failed: bool = False) -> None:
        """A digest that could not go out now: claimable again from `at` instead of when its lease runs out;
        `failed` counts one more failure in a row (Slack's "come back later" is none). Only while the caller's
        lease still holds, so no one else's claim is undone."""
        d = DigestSubscription
        async with self._sessions.begin() as session:
            await session.execute(
                update(d)
                .where(d.id == digest_id, d.lease_until == leased_until)
                .values(lease_until=at, failures=d.failures + (1 if failed else 0))
            )

    async def skip_digest(self, digest_id: int, *, leased_until: datetime, next_run_at: datetime) -> bool:
        """This period's digest gives up (it kept failing): the next one is due at `next_run_at`. True for the one
        caller whose lease still held."""
        d = DigestSubscription
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(d)
                .where(d.id == digest_id, d.lease_until == leased_until)
                .values(next_run_at=next_run_at, lease_until=None, failures=0)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
