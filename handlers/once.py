"""Once only: a redelivered request (same body, `X-Slack-Retry-Num`, same `trigger_id`, same `action_ts`) is
acknowledged and dropped, so nothing acts twice. The keys live in the store, shared by every web process."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from services.clock import Clock
from services.store import Store


def request_key(body: dict[str, Any], raw_body: str) -> str:
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
    return "body:" + hashlib.sha256(raw_body.encode()).hexdigest()


def once_only(store: Store, clock: Clock) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def middleware(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("type") in ("url_verification", "ssl_check") or not body:
            await next()
            return None
        if not await store.claim_request(request_key(body, req.raw_body), clock.now()):
            # Already handled: acknowledge so Slack stops redelivering, and do nothing else.
            return BoltResponse(status=200, body="")
        await next()
        return None

    return middleware
