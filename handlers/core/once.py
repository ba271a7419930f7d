"""Once only: a redelivered request (same body, `X-Slack-Retry-Num`, same `trigger_id`, same `action_ts`) is
acknowledged again but acts once. The keys live in the store, shared by every web process, one set per team:
another workspace's request with the same key is its own.

A slash command (and the new-session form) is claimed by its intake record (handlers/core/intake.py), written before
the acknowledgement so that a crash cannot lose what was acknowledged; its key is `request_key` of the command.
Clicks and other acts are claimed right after the acknowledgement: the ack itself acts on nothing, and keeping
the database out of its path keeps it fast under load (see benchmarks/cobrowse_ack.py). Both kinds of write are
group-committed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.clock import Clock
from services.store import Store


def request_key(body: dict[str, Any]) -> str:
    """The identity of one person's act, the same on every delivery of it."""
    kind = str(body.get("type") or ("command" if "command" in body else "request"))
    actions = body.get("actions") or []
    if actions:
        first = actions[0]
        return f"action:{first.get('action_ts')}:{first.get('action_id')}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"{kind}:{body['trigger_id']}"
    return "body:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def first_delivery(store: Store, clock: Clock, team_id: str, body: dict[str, Any]) -> bool:
    """True the first time this act of the team arrives; False for a redelivery, which must not act again."""
    return await store.claim_request(team_id, request_key(body), clock.now())
