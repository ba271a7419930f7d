"""Block Kit as terminal text, for the offline mode: cards, lists and forms, buttons numbered to click."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")


@dataclass(frozen=True)
class Clickable:
    """A button a person can click by its number."""

    label: str
    action_id: str
    value: str
    channel: str
    message_ts: str
    #: On the person's Home tab (its click comes from the view, with no channel or message).
    on_home: bool = False


def plain_text(text: str, name_of: Callable[[str], str] = lambda user: user) -> str:
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _MENTION.sub(lambda m: "@" + name_of(m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(element: dict[str, Any]) -> str:
    return str(
        (element.get("text") if isinstance(element.get("text"), str) else (element.get("text") or {}).get("text")) or ""
    )


def render_blocks(
    blocks: list[dict[str, Any]],
    *,
    clickables: list[Clickable],
    channel: str = "",
    ts: str = "",
    name_of: Callable[[str], str] = lambda user: user,
    on_home: bool = False,
) -> str:
    """Text lines for `blocks`; action buttons are appended to `clickables` and shown as `[n] Label`."""
    lines: list[str] = []

    def button(element: dict[str, Any]) -> str:
        label = _text_of(element)
        if element.get("url"):
            return f"[{label}: {element['url']}]"
        clickables.append(
            Clickable(label, str(element.get("action_id")), str(element.get("value", "")), channel, ts, on_home)
        )
        return f"[{len(clickables)}] {label}"

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text_of(block)} ==")
        elif kind == "section":
            if block.get("text"):
                lines.append(plain_text(_text_of(block), name_of))
            for item in block.get("fields") or []:
                lines.append("  " + plain_text(str(item.get("text", "")), name_of).replace("\n", ": ", 1))
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":
                lines.append("  " + button(accessory))
        elif kind == "context":
            lines.extend("  " + plain_text(_text_of(e), name_of) for e in block.get("elements") or [])
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            lines.append("  ".join(button(element) for element in block.get("elements") or []))
    return "\n".join(lines)


def render_message(
    payload: dict[str, Any],
    *,
    clickables: list[Clickable],
    channel: str = "",
    ts: str = "",
    name_of: Callable[[str], str] = lambda user: user,
) -> str:
    blocks = payload.get("blocks")
    if blocks:
        return render_blocks(blocks, clickables=clickables, channel=channel, ts=ts, name_of=name_of)
    return plain_text(str(payload.get("text", "")), name_of)


def form_fields(view: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(block_id, label, element) of each input of a modal, in order."""
    out = []
    for block in view.get("blocks") or []:
        if block.get("type") == "input":
            out.append((str(block["block_id"]), _text_of({"text": block.get("label")}), block.get("element") or {}))
    return out
