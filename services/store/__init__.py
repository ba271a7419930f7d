"""The store: what the vendors do not keep. Cards (which Slack message shows which session, who made it, its
expiry and state), the jobs behind them, digest subscriptions, meeting guests, uploads, and the keys of requests
already handled, so a redelivered request never acts twice.

One part per thing stored (`cards`, `jobs`, `digests`, `requests`, `guests`, `uploads`), each on the shared
`database`; `Store` is all of them at once, so a caller says `store.add_card(...)` whatever part it is in. The
tables are in `models`; the schema is Alembic's (`services/migrations`), applied at start-up.
"""

from __future__ import annotations

from services.store.cards import Cards
from services.store.database import MIGRATIONS, SCHEMA_HEAD, conflict_aware_insert
from services.store.digests import Digests
from services.store.guests import Guests
from services.store.jobs import Jobs
from services.store.models import (
    Base,
    Card,
    CardState,
    DigestSubscription,
    HandledRequest,
    Job,
    JobKind,
    MeetingGuest,
    NewCard,
    NewDigest,
    NewUpload,
    TeamRow,
    Upload,
    UtcDateTime,
)
from services.store.requests import HandledRequests
from services.store.uploads import Uploads


class Store(HandledRequests, Cards, Jobs, Digests, Guests, Uploads):
    """Every part of the store on one database (one engine, one pool)."""


__all__ = [
    "MIGRATIONS",
    "SCHEMA_HEAD",
    "Base",
    "Card",
    "CardState",
    "DigestSubscription",
    "HandledRequest",
    "Job",
    "JobKind",
    "MeetingGuest",
    "NewCard",
    "NewDigest",
    "NewUpload",
    "Store",
    "TeamRow",
    "Upload",
    "UtcDateTime",
    "conflict_aware_insert",
]
