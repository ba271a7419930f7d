"""Jobs: what the scheduler does for a card, and when (warnings, reminders, expiries), each claimed with a
lease so of several schedulers one does it, and tried again a few times before it gives up."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import func, select, update

from services.store.database import Database
from services.store.models import Card, Job, JobKind


class Jobs(Database):
    async def plan_jobs(self, card: Card, plan: list[tuple[JobKind, datetime]]) -> None:
        """Sets when each kind of job of a card is due; a job already done stays done, a pending one moves
        (and starts its tries afresh)."""
        if not plan:
            return
        rows = [
            {"team_id": card.team_id, "card_id": card.id, "kind": kind.value, "due_at": due, "attempts": 0}
            for kind, due in plan
        ]
        async with self.engine.begin() as conn:
            await conn.execute(self._plan_upsert, rows)

    @cached_property
    def _plan_upsert(self) -> Any:
        """The upsert of a card's jobs, built once: each `excluded` is a new alias of the table, a hundred objects
        in reference cycles that, made for every card, were most of what the garbage collector had to do (and its
        pauses the tail of the acknowledgements) under a burst of commands."""
        statement = self._insert()(Job)
        return statement.on_conflict_do_update(
            index_elements=["card_id", "kind"],
            set_={
                "due_at": statement.excluded.due_at,
                "lease_until": None,
                "attempts": 0,
                "retry_at": None,
                "steps_done": None,
            },
            where=Job.done_at.is_(None),
        )

    async def cancel_jobs(self, card_id: int, at: datetime, *, kinds: tuple[JobKind, ...] | None = None) -> None:
        """The card ended: its pending jobs will not run."""
        query = update(Job).where(Job.card_id == card_id, Job.done_at.is_(None))
        if kinds is not None:
            query = query.where(Job.kind.in_([kind.value for kind in kinds]))
        async with self._sessions.begin() as session:
            await session.execute(query.values(done_at=at, outcome="cancelled"))

    async def claim_jobs(self, now: datetime, *, lease: timedelta, limit: int = 100) -> list[Job]:
        """Due jobs nobody holds, leased to the caller until `now + lease`. Of several schedulers claiming at
        once, each job goes to one."""
        free = (
            Job.done_at.is_(None),
            Job.due_at <= now,
            (Job.lease_until.is_(None)) | (Job.lease_until < now),
            (Job.retry_at.is_(None)) | (Job.retry_at <= now),
        )
        return list(await self._claim(Job, free, Job.due_at, now + lease, limit, attempts=Job.attempts + 1))

    async def retry_job(self, job: Job, *, at: datetime, error: str) -> bool:
        """A try failed: the job is claimable again from `at`. Only while the caller's lease still holds (False
        otherwise), so a run that outlived its lease undoes no one else's claim."""
        return await self._after_try(job, retry_at=at, lease_until=None, last_error=error[:200])

    async def fail_job(self, job: Job, *, at: datetime, error: str) -> bool:
        """The job gives up: recorded `failed`, never tried again. True for the one caller that recorded it (whose
        lease still held), so whoever tells people of it does so once."""
        return await self._after_try(job, done_at=at, outcome="failed", last_error=error[:200])

    async def _after_try(self, job: Job, **values: Any) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.done_at.is_(None), Job.lease_until == job.lease_until)
                .values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def job_step_done(self, job_id: int, step: str) -> None:
        """One step of the job is done: a later try of it skips the step (`Job.steps_done`)."""
        done = func.coalesce(Job.steps_done, "") + step + "\n"
        async with self._sessions.begin() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(steps_done=done))

    async def finish_job(self, job_id: int, at: datetime, outcome: str = "done") -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(Job).where(Job.id == job_id).values(done_at=at, outcome=outcome))

    async def jobs_of(self, card_id: int) -> list[Job]:
        async with self._sessions() as session:
            return list((await session.execute(select(Job).where(Job.card_id == card_id).order_by(Job.id))).scalars())
