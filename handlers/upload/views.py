"""Rendering of `/upload` and the "Mirror to MirrorAce" shortcut: pure functions from data to Block Kit.

Nothing here ever shows a file's password: a card says only that the download is password protected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.core.blocks import (
    MAX_ROWS,
    Block,
    Mrkdwn,
    as_text,
    code,
    context,
    fields_section,
    header,
    link,
    link_button,
    mention,
    section,
)
from services.mirrorace import FileInfo
from services.phrases import human_size

BAR_WIDTH = 20
_STATUS_LINES = {
    "active": ":large_green_circle: active",
    "user removed": ":no_entry: *removed by its owner*",
    "admin removed": ":no_entry: *removed by MirrorAce's admins*",
    "copyright removed": ":no_entry: *removed for copyright*",
    "not found": ":grey_question: not found",
}


def human_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


@dataclass(frozen=True)
class Progress:
    """Where one file's upload stands: bytes MirrorAce has confirmed, of how many, after how long."""

    name: str
    done: int
    total: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0

    @property
    def bytes_per_s(self) -> float | None:
        return self.done / self.elapsed_s if self.elapsed_s > 0 and self.done else None

    @property
    def seconds_left(self) -> float | None:
        speed = self.bytes_per_s
        return (self.total - self.done) / speed if speed else None


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def progress_line(progress: Progress) -> str:
    """`████░░░░ 52% · 532.0 MiB of 1.0 GiB · 85.3 MiB/s · 6 s left`"""
    speed = progress.bytes_per_s
    left = progress.seconds_left
    parts = [
        f"`{bar(progress.fraction)}` {int(progress.fraction * 100)}%",
        f"{human_size(progress.done)} of {human_size(progress.total)}",
        f"{human_size(round(speed))}/s" if speed else "measuring speed",
        f"{human_duration(left)} left" if left is not None else "time left unknown",
    ]
    return " · ".join(parts)


def progress_text(progress: Progress) -> Mrkdwn:
    return Mrkdwn("Mirroring {} to MirrorAce: {}%").format(progress.name, int(progress.fraction * 100))


def progress_blocks(progress: Progress) -> list[Block]:
    return [
        section(Mrkdwn(":arrow_up: Mirroring *{}* to MirrorAce").format(progress.name)),
        context(Mrkdwn(progress_line(progress))),
    ]


@dataclass(frozen=True)
class UploadCard:
    """A file now on MirrorAce: its name, size and link, and who mirrored it."""

    name: str
    size: int | None
    slug: str
    url: str
    uploader_id: str
    password_protected: bool = False
    #: Where the file came from, for the card's footnote (a URL or "a message in this thread").
    origin: str | None = None


def upload_card_blocks(card: UploadCard) -> list[Block]:
    pairs = [
        ("Size", as_text(human_size(card.size))),
        ("Slug", code(card.slug)),
        ("Mirrored by", mention(card.uploader_id)),
    ]
    if card.password_protected:
        pairs.append(("Download", Mrkdwn(":lock: password protected")))
    out: list[Block] = [header(card.name), fields_section(pairs)]
    button = link_button("Open on MirrorAce", card.url)
    if button is not None:
        out.append({"type": "actions", "block_id": "card_actions", "elements": [button.render()]})
    note = Mrkdwn("MirrorAce · {}").format(card.url)
    if card.origin:
        note += Mrkdwn(" · from {}").format(card.origin)
    out.append(context(note + Mrkdwn(" · {} shows its status").format(code(f"/upload info {card.slug}"))))
    return out


def upload_card_text(card: UploadCard) -> Mrkdwn:
    return Mrkdwn("{} ({}) mirrored to MirrorAce by {}: {}").format(
        card.name, human_size(card.size), mention(card.uploader_id), card.url
    )


def failed_text(name: str, reason: str) -> Mrkdwn:
    return Mrkdwn(":x: Could not mirror {} to MirrorAce: {}").format(name, reason)


def failed_blocks(name: str, reason: str) -> list[Block]:
    return [section(Mrkdwn(":x: Could not mirror *{}* to MirrorAce: {}").format(name, reason))]


@dataclass(frozen=True)
class FileFailure:
    name: str
    #: What went wrong and what to do, safe to show (MirrorAce's own text, or Slack's side of it).
    reason: str


def failures_text(failures: Sequence[FileFailure], of: int) -> Mrkdwn:
    """The caller's private summary of the files that did not make it (the others are in the thread)."""
    lines = [
        Mrkdwn(":warning: *MirrorAce*: {} of {} file{} could not be mirrored:").format(
            len(failures), of, "s" if of != 1 else ""
        )
    ]
    lines += [Mrkdwn("• *{}*: {}").format(failure.name, failure.reason) for failure in failures]
    if len(failures) < of:
        lines.append(Mrkdwn("The others are mirrored: their cards are in the message's thread."))
    return Mrkdwn("\n").join(lines)


def status_text(status: str) -> Mrkdwn:
    return Mrkdwn(_STATUS_LINES[status]) if status in _STATUS_LINES else as_text(status)


def _info_line(info: FileInfo) -> Mrkdwn:
    status = status_text(info.status)
    if info.status == "not found":
        return Mrkdwn("{} · {}").format(code(info.slug), status)
    opened = Mrkdwn("") if info.removed else link(info.url, "open")
    return Mrkdwn("*{}* {} · {} · {}{}").format(
        info.name or "unnamed", code(info.slug), human_size(info.size), status, Mrkdwn(" · ") + opened if opened else ""
    )


def info_blocks(infos: Sequence[FileInfo]) -> list[Block]:
    removed = sum(1 for info in infos if info.removed)
    title = f"MirrorAce: {len(infos)} file{'s' if len(infos) != 1 else ''}"
    out: list[Block] = [header(title)]
    shown = list(infos)[:MAX_ROWS]
    out.extend(section(_info_line(info)) for info in shown)
    if len(shown) < len(infos):
        out.append(context(Mrkdwn("… and {} more.").format(len(infos) - len(shown))))
    if removed:
        out.append(context(Mrkdwn(":no_entry: {} removed: their links no longer work.").format(removed)))
    return out


def info_text(infos: Sequence[FileInfo]) -> Mrkdwn:
    return Mrkdwn("MirrorAce files: ") + Mrkdwn(", ").join(
        Mrkdwn("{} ({})").format(info.slug, info.status) for info in infos
    )
