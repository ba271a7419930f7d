"""The "Mirror to MirrorAce" message shortcut (`mirror_file`): a message's files mirrored to MirrorAce.

The files are downloaded from Slack with the bot token and streamed to MirrorAce as they arrive (in one request,
or in chunks when larger than MirrorAce's chunk limit): never held whole, never written to disk. Each file's
progress is a message in the message's thread, edited at most every 2 s and replaced by its card (or by why it
failed); one file failing does not stop the others. A file's password never reaches the channel.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core.blocks import Block, Mrkdwn
from handlers.core.interaction import Interaction
from handlers.upload import views as upload_views
from handlers.upload.commands import record, upload_card
from handlers.upload.views import FileFailure, Progress
from services.clock import Clock
from services.errors import VendorError
from services.mirrorace import MirrorAce
from services.streams import SourceFailed

log = logging.getLogger("cohost.upload")

MIRROR_FILE = "mirror_file"

#: DESIGN.md: long work shows progress in a message edited at most every 2 s.
PROGRESS_EVERY_S = 2.0
#: How much of a Slack download is read at a time (passed on as it is, or copied into the upload's chunk buffer).
DOWNLOAD_PIECE = 256 * 1024
#: A Slack download that sends nothing for this long is given up (a paused read, while a chunk uploads, is not
#: counted).
DOWNLOAD_STALL_S = 60.0


# -- /upload URL, /upload info -----------------------------------------------------------------------------------


# -- the "Mirror to MirrorAce" shortcut ------------------------------------------------------------------------


class ProgressMessage:
    """One file's progress in the thread: posted when it starts, edited at most every `every_s` (a Slack message
    edited more often is rate limited), replaced by the card or the failure at the end. Slack failing to show
    progress never stops the upload."""

    def __init__(
        self,
        client: AsyncWebClient,
        clock: Clock,
        channel: str,
        thread_ts: str,
        name: str,
        total: int,
        *,
        every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        self._client = client
        self._clock = clock
        self._channel = channel
        self._thread_ts = thread_ts
        self._name = name
        self._total = total
        self._every_s = every_s
        self._started = clock.monotonic()
        self._last_edit = self._started
        self.ts: str | None = None

    def _progress(self, done: int) -> Progress:
        return Progress(self._name, done, self._total, self._clock.monotonic() - self._started)

    async def start(self) -> None:
        progress = self._progress(0)
        try:
            resp = await self._client.chat_postMessage(
                channel=self._channel,
                thread_ts=self._thread_ts,
                text=upload_views.progress_text(progress),
                blocks=upload_views.progress_blocks(progress),
            )
            self.ts = str(resp["ts"])
        except SlackApiError as exc:
            log.warning("no progress message for an upload: %s", exc.response.get("error"))
        self._started = self._last_edit = self._clock.monotonic()

    async def update(self, done: int) -> None:
        now = self._clock.monotonic()
        # At 100% the card (or the failure) replaces the message at once: an edit would only be rate limited.
        if self.ts is None or now - self._last_edit < self._every_s or done >= self._total:
            return
        self._last_edit = now
        progress = self._progress(done)
        await self._edit(upload_views.progress_text(progress), upload_views.progress_blocks(progress))

    async def replace(self, text: Mrkdwn, blocks_: list[Block]) -> bool:
        """Puts the outcome in place of the progress; False when there is no message to edit."""
        return self.ts is not None and await self._edit(text, blocks_)

    async def _edit(self, text: Mrkdwn, blocks_: list[Block]) -> bool:
        assert self.ts is not None
        try:
            await self._client.chat_update(channel=self._channel, ts=self.ts, text=text, blocks=blocks_)
        except SlackApiError as exc:
            log.warning("could not edit an upload's progress: %s", exc.response.get("error"))
            return False
        return True


@asynccontextmanager
async def slack_file(ix: Interaction, url: str) -> AsyncIterator[AsyncIterator[bytes]]:
    """A Slack file's bytes as they arrive, downloaded with the bot token on the process's HTTP session."""
    headers = {"Authorization": f"Bearer {ix.client.token}"}
    timeout = aiohttp.ClientTimeout(sock_connect=10, sock_read=DOWNLOAD_STALL_S)
    try:
        response = await ix.deps.vendors.pool.session.get(url, headers=headers, timeout=timeout)
    except (aiohttp.ClientError, TimeoutError):
        raise SourceFailed("Slack could not be reached to download it") from None
    async with response:
        if response.status != 200:
            raise SourceFailed(f"Slack would not hand it over (HTTP {response.status})")
        if response.content_type == "text/html":
            # Without a token that may read files, Slack answers with its sign-in page, not the file.
            raise SourceFailed("Slack sent its sign-in page instead of the file: Cohost needs the files:read scope")
        yield _pieces(response)


async def _pieces(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for piece in response.content.iter_chunked(DOWNLOAD_PIECE):
            yield piece
    except (aiohttp.ClientError, TimeoutError):
        raise SourceFailed("Slack stopped sending it part-way") from None


async def _file_details(ix: Interaction, shared: dict[str, Any]) -> dict[str, Any]:
    """The file as the message carries it, completed with `files.info` where the message's copy is partial
    (Slack sends some messages' files as stubs: `file_access: check_file_info`)."""
    if shared.get("size") is not None and (shared.get("url_private_download") or shared.get("url_private")):
        return shared
    resp = await ix.client.files_info(file=str(shared.get("id", "")))
    return {**shared, **(resp.get("file") or {})}


async def mirror_message(ix: Interaction, message: dict[str, Any]) -> None:
    """Mirrors every file of `message` to MirrorAce, one after the other; failures are summed up privately."""
    files = [f for f in message.get("files") or [] if isinstance(f, dict)]
    if not files:
        await ix.private(
            Mrkdwn("This message has no files to mirror: use “Mirror to MirrorAce” on a message with files.")
        )
        return
    mirrorace = ix.deps.vendors.mirrorace  # a MirrorAce that is off is said before any progress message
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
    failures = [
        failure for shared in files if (failure := await _mirror_one(ix, mirrorace, shared, thread_ts)) is not None
    ]
    if failures:
        await ix.private(upload_views.failures_text(failures, len(files)))


async def _mirror_one(
    ix: Interaction, mirrorace: MirrorAce, shared: dict[str, Any], thread_ts: str
) -> FileFailure | None:
    """One file, start to card; its failure (MirrorAce's reason or Slack's side of it) comes back."""
    try:
        details = await _file_details(ix, shared)
    except SlackApiError as exc:
        name = str(shared.get("name") or shared.get("id") or "a file")
        return FileFailure(name, f"Slack would not describe it ({exc.response.get('error')}).")
    name = str(details.get("name") or details.get("title") or details.get("id") or "file")
    url = details.get("url_private_download") or details.get("url_private")
    if details.get("mode") in ("external", "snippet", "post") or details.get("is_external") or not url:
        return FileFailure(name, "it is not a file stored in Slack, so there is nothing to download.")
    size = int(details.get("size") or 0)
    progress = ProgressMessage(ix.client, ix.deps.clock, ix.channel_id, thread_ts, name, size)
    await progress.start()
    try:
        # Opened afresh for each try: a file sent in one request is downloaded again when it is resent.
        uploaded = await mirrorace.upload(name, size, lambda: slack_file(ix, str(url)), progress=progress.update)
    except VendorError as exc:
        log.info("MirrorAce refused a file: %s (%s)", type(exc).__name__, exc.status)
        reason = f"{exc.message.rstrip('.')}. {exc.advice}"
        await progress.replace(upload_views.failed_text(name, exc.message), upload_views.failed_blocks(name, reason))
        return FileFailure(name, f"MirrorAce: {reason}")
    except SourceFailed as exc:
        reason = f"{exc}. Run “Mirror to MirrorAce” on the message again."
        await progress.replace(upload_views.failed_text(name, str(exc)), upload_views.failed_blocks(name, reason))
        return FileFailure(name, reason)
    await record(ix, "slack", uploaded, name, size)
    card = upload_card(ix, uploaded, name, size, origin="a message in this thread")
    text, blocks_ = upload_views.upload_card_text(card), upload_views.upload_card_blocks(card)
    if not await progress.replace(text, blocks_):
        await ix.private(text, blocks_)  # the bot could not post in the thread: the card goes to the caller
    return None
