"""Slack messages as a person reads them: what they say (blocks and notification text) and their buttons."""

from __future__ import annotations

import json
from typing import Any

from handlers.core.blocks import Block


def actions_of(message: dict[str, Any]) -> list[Block]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + str(message.get("text", ""))


def lines_of(blocks: list[Block]) -> list[str]:
    """Every text Slack shows of these blocks, in order: headers, sections and each of their fields, context
    lines and button labels (as Slack receives them: mrkdwn with its entities and tokens)."""
    lines: list[str] = []
    for block in blocks:
        if "text" in block:
            lines.append(block["text"]["text"])
        lines.extend(field["text"] for field in block.get("fields", []))
        for element in block.get("elements", []):
            lines.append(element["text"]["text"] if element.get("type") == "button" else element["text"])
    return lines
