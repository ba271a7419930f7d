"""A job's steps across its tries: a reminder posts in the card's thread, then sends each guest their own link; a
try that failed part-way (one guest's link could not be read) is tried again for what is left only, so the thread
and the guests already reached are not told twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.store import Job, Store


class Progress:
    def __init__(self, store: Store | None = None, job: Job | None = None) -> None:
        """Without a job (a reminder sent outside the scheduler), every step is done and nothing recorded."""
        self._store = store
        self._job_id = job.id if job is not None else None
        self._done = set((job.steps_done or "").splitlines()) if job is not None else set()

    async def once(self, step: str, work: Callable[[], Awaitable[object]]) -> None:
        """Does `work` unless an earlier try of the job did `step`, then records the step done. A crash between
        the two does the step again on the next try: at least once, as every scheduled post."""
        if step in self._done:
            return
        await work()
        if self._store is not None and self._job_id is not None:
            await self._store.job_step_done(self._job_id, step)
        self._done.add(step)
