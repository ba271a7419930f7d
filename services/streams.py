"""A file's bytes on their way from a source to a vendor, never held whole: passed on as they arrive (`WholeFile`),
or copied into one reused buffer a chunk at a time while the chunk is being sent (`Chunk`), so the download and
the upload overlap as in a pipe. Either way a file longer or shorter than announced is never completed: its
final byte waits until the source is known to end there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

#: Bytes sent so far: confirmed by MirrorAce after each chunk; while a file goes in one request, as they go out
#: (and from 0 again if it is resent).
Progress = Callable[[int], Awaitable[None]]
#: Opens the file's bytes from the first one, each call afresh (a resend of a file sent whole calls it again).
OpenSource = Callable[[], AbstractAsyncContextManager[AsyncIterable[bytes]]]


class SourceFailed(Exception):
    """The bytes to upload stopped coming, or were not as many as announced: the upload is abandoned."""


class ChunkReader:
    """Copies an async source of pieces of any size into a caller's buffer, carrying over what a piece has left."""

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._pieces: AsyncIterator[bytes] = aiter(source)
        self._left = memoryview(b"")
        self.read = 0

    async def fill_some(self, into: memoryview) -> int:
        """Copies what the source has at hand (at most `len(into)` bytes); how many it copied."""
        if not self._left:
            try:
                self._left = memoryview(await anext(self._pieces)).cast("B")
            except StopAsyncIteration:
                raise SourceFailed(f"the file ended after {self.read} bytes") from None
        take = min(len(self._left), len(into))
        into[:take] = self._left[:take]
        self._left = self._left[take:]
        self.read += take
        return take

    async def ensure_exhausted(self) -> None:
        longer = SourceFailed("the file is longer than its announced size")
        if self._left:
            raise longer
        async for piece in self._pieces:
            if piece:
                raise longer


class Chunk:
    """One chunk's bytes, copied from the source into the buffer while they are being sent, so the download and
    the upload overlap as in a pipe, in the memory of one chunk. A resend reads the same buffer. The last chunk's
    final byte waits until the source is known to end there: a file longer than announced is never completed."""

    def __init__(self, view: memoryview, *, last: bool) -> None:
        self.view = view
        self._last = last
        self._filled = 0
        #: Bytes that may go out: all those filled, but for the last chunk's final byte before the end is checked.
        self._sendable = 0
        self._failed = False
        self._changed = asyncio.Event()

    @property
    def size(self) -> int:
        return len(self.view)

    async def fill(self, reader: ChunkReader) -> None:
        try:
            while self._filled < self.size:
                self._filled += await reader.fill_some(self.view[self._filled :])
                held_back = 1 if self._last and self._filled == self.size else 0
                self._sendable = self._filled - held_back
                self._changed.set()
            if self._last:
                await reader.ensure_exhausted()
            self._sendable = self._filled
        except BaseException:
            self._failed = True
            raise
        finally:
            self._changed.set()

    async def pieces(self) -> AsyncGenerator[memoryview, None]:
        sent = 0
        while sent < self.size:
            while self._sendable == sent:
                if self._failed:
                    # Ends this attempt; the fill task holds the reason, which `MirrorAce.upload` raises.
                    raise SourceFailed("the file's bytes stopped coming")
                self._changed.clear()
                await self._changed.wait()
            end = self._sendable
            yield self.view[sent:end]
            sent = end


class WholeFile:
    """A file sent in one request, its bytes passed on from the source as they arrive, never held. Each attempt
    opens the source afresh (a resend downloads the file again). The final byte waits until the source is known to
    end there: a file longer or shorter than announced is never completed, and the reason is kept in `failure`."""

    def __init__(self, open_source: OpenSource, size: int, progress: Progress | None) -> None:
        self._open = open_source
        self._size = size
        self._progress = progress
        #: Why the last attempt's bytes stopped coming, if they did.
        self.failure: SourceFailed | None = None

    @property
    def size(self) -> int:
        return self._size

    async def pieces(self) -> AsyncGenerator[memoryview, None]:
        self.failure = None
        sent = 0
        try:
            async with self._open() as source:
                last: memoryview | None = None
                async for data in source:
                    piece = memoryview(data).cast("B")
                    if not piece:
                        continue
                    if last is not None or sent + len(piece) > self._size:
                        raise SourceFailed("the file is longer than its announced size")
                    if sent + len(piece) == self._size:
                        piece, last = piece[:-1], piece[-1:]  # held back until the source is known to end here
                    if piece:
                        yield piece
                        sent += len(piece)
                        if self._progress is not None:
                            await self._progress(sent)
                if last is None:
                    raise SourceFailed(f"the file ended after {sent} bytes")
                yield last
        except SourceFailed as exc:
            self.failure = exc
            raise
