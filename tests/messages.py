"""Slack messages as a person reads them: what they say (blocks and notification text) and their buttons."""

from __future__ import annotations

import json


def actions_of(message: dict) -> list[dict]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + str(message.get("text", ""))
