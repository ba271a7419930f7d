"""The work no request starts, which the scheduler runs: the jobs of cards (warnings before expiry, reminders
before a scheduled start, the card edited at expiry: `notices`, run by `jobs`) and reconciliation with the
vendors' own lists (`reconcile`). The digests are sent by `handlers.digest.sending`."""

from handlers.scheduled.jobs import JOB_LEASE, run_due_jobs
from handlers.scheduled.notices import remind, warn
from handlers.scheduled.reconcile import reconcile

__all__ = ["JOB_LEASE", "reconcile", "remind", "run_due_jobs", "warn"]
