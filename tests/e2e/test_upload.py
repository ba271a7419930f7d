"""`/upload` and the "Mirror to MirrorAce" shortcut end to end: signed requests into the running bot, files
downloaded from the Slack stand-in and streamed to the MirrorAce simulator, which checks every chunk."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.mirrorace import UPLOAD_PATH
from services.clock import FakeClock
from tests.conftest import ANN, BOB, CHANNEL, Harness
from tests.messages import text_of

KIB = 1024
MESSAGE_TS = "1699999999.000200"


def message_with(*files: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "ts": MESSAGE_TS, "user": BOB, "text": "the files", "files": list(files)}


async def upload(bot: Harness, text: str, **kwargs: Any) -> None:
    ack = await bot.command(text, command="/upload", **kwargs)
    assert ack.status == 200


async def mirror(bot: Harness, *files: dict[str, Any], user: str = ANN) -> None:
    ack = await bot.send(bot.slack.message_shortcut("mirror_file", message=message_with(*files), user_id=user))
    assert ack.status == 200 and ack.seconds < 1.0


def thread(bot: Harness) -> list[dict[str, Any]]:
    """The bot's messages in the mirrored message's thread, as they stand now."""
    return [
        m for (channel, _), m in bot.slack.messages.items() if channel == CHANNEL and m.get("thread_ts") == MESSAGE_TS
    ]


async def settled(bot: Harness, files: int, within: float = 10.0) -> list[dict[str, Any]]:
    """Waits until every file's progress message has become its card or its failure."""

    def done() -> bool:
        messages = thread(bot)
        return len(messages) == files and all(
            "Open on MirrorAce" in text_of(m) or "Could not mirror" in text_of(m) for m in messages
        )

    await bot.slack.wait_for(done, within=within, what=f"{files} files mirrored or failed")
    return thread(bot)


@asynccontextmanager
async def time_passing(clock: FakeClock, step_s: float = 0.5, every_s: float = 0.005) -> AsyncIterator[None]:
    """Fake time runs fast while a mirror is under way, so its progress message gets edited."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(every_s)
            clock.advance(timedelta(seconds=step_s))

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()


# -- /upload URL ----------------------------------------------------------------------------------------------------


async def test_help_lists_both_subcommands(bot: Harness) -> None:
    ack = await bot.command("help", command="/upload")
    assert "/upload URL [--password P] [--mirrors 1,2]" in ack.text
    assert "/upload info SLUG ..." in ack.text


async def test_a_remote_upload_posts_a_card_with_the_files_name_size_and_link(bot: Harness) -> None:
    url = "https://files.example/Space%20Man%20Jelly.jpg"
    bot.mirrorace.remote_sizes[url] = 35892
    await upload(bot, f"<{url}> --mirrors 1,3")
    card = await bot.card()
    stored = next(iter(bot.mirrorace.files.values()))
    assert card["channel"] == CHANNEL
    assert "Space Man Jelly.jpg" in text_of(card) and "35.1 KiB" in text_of(card)
    assert stored.slug in text_of(card) and f"<@{ANN}>" in text_of(card)
    (button,) = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["url"] == stored.url
    assert stored.mirrors == ["1", "3"] and stored.remote_url == url
    (row,) = await bot.runtime.store.uploads_since(bot.slack.team_id, datetime(2000, 1, 1, tzinfo=UTC))
    assert (row.source, row.user_id, row.slug, row.url, row.size) == ("url", ANN, stored.slug, stored.url, 35892)


async def test_the_password_never_reaches_the_channel_nor_a_log_line(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "hunter2-tr0ub4dor"
    await upload(bot, f"https://files.example/payroll.xlsx --password {password}")
    card = await bot.card()
    assert "password protected" in text_of(card)
    assert bot.mirrorace.file_named("payroll.xlsx").password == password  # MirrorAce got it
    await upload(bot, f"https://files.example/a.zip --password {password} --mirrors 4")  # refused: mirror 4 is off
    assert "switched off" in await bot.private()
    for _, _, message in bot.slack.history:
        assert password not in json.dumps(message)
    assert password not in caplog.text


async def test_a_url_that_is_not_http_is_refused_privately_with_the_command_given_back(bot: Harness) -> None:
    ack = await bot.command("ftp://files.example/a.zip --mirrors 1", command="/upload")
    answer = ack.text  # the grammar refuses it: answered in the acknowledgement, to the caller alone
    assert "`ftp://files.example/a.zip` is not a web address" in answer
    assert "/upload ftp://files.example/a.zip --mirrors 1" in answer
    assert not bot.mirrorace.calls and not bot.mirrorace.upload.calls and not bot.slack.posted()


async def test_an_unknown_mirror_or_a_refusal_names_mirrorace_and_what_to_do(bot: Harness) -> None:
    await upload(bot, "https://files.example/a.zip --mirrors 9")
    answer = await bot.private()
    assert "*MirrorAce*" in answer and "has no mirror 9" in answer and "Check the command" in answer
    bot.mirrorace.unreachable.add("gone.example")
    await upload(bot, "https://gone.example/a.zip")
    assert "Could not download the file from the remote URL" in await bot.private(2)
    assert not bot.slack.posted()


# -- /upload info ---------------------------------------------------------------------------------------------------


async def test_info_answers_privately_with_each_files_status_and_removed_ones_flagged(bot: Harness) -> None:
    active = bot.mirrorace.add_file("deck.pdf", 2 * 1024 * 1024)
    gone = bot.mirrorace.add_file("leak.mov", 1000, status="copyright removed")
    mine = bot.mirrorace.add_file("old.zip", 1000, status="user removed")
    await upload(bot, f"info {active},{gone} {mine},nope")
    answer = await bot.private()
    assert "deck.pdf" in answer and "2.0 MiB" in answer and "active" in answer
    assert "removed for copyright" in answer and "removed by its owner" in answer
    assert "`nope` · :grey_question: not found" in answer
    assert "2 removed" in answer
    assert not bot.slack.posted()


async def test_info_without_a_slug_shows_the_usage(bot: Harness) -> None:
    await upload(bot, "info")
    assert "Usage: `/upload info SLUG ...`" in await bot.private()


# -- the "Mirror to MirrorAce" shortcut -------------------------------------------------------------------------------


async def test_the_shortcut_streams_a_file_in_many_chunks_with_progress_then_its_card(bot: Harness) -> None:
    bot.mirrorace.max_chunk_size = 64 * KIB
    bot.mirrorace.upload.faults.set_latency(UPLOAD_PATH, 0.01)
    size = 16 * 64 * KIB + 999  # 17 chunks
    shared = bot.slack.add_file("F0BIG", "quarterly.bin", size)
    started = bot.clock.monotonic()
    async with time_passing(bot.clock):
        await mirror(bot, shared)
        (final,) = await settled(bot, 1)
    elapsed = bot.clock.monotonic() - started

    stored = bot.mirrorace.file_named("quarterly.bin")
    assert stored.sha256 == bot.slack.file_sha256("F0BIG")  # every byte, in order, once
    assert stored.chunks == 17 and stored.size == size

    (progress_post,) = bot.slack.posted(CHANNEL)
    assert progress_post["thread_ts"] == MESSAGE_TS and "Mirroring *quarterly.bin* to MirrorAce" in text_of(
        progress_post
    )
    edits = [
        m
        for channel, ts, m in bot.slack.history
        if channel == CHANNEL and ts == progress_post["ts"] and "%" in m["text"]
    ]
    edits = edits[1:]  # the first entry is the post itself
    assert edits, "the progress message was never edited"
    assert len(edits) <= elapsed / 2 + 1  # at most one edit every 2 s
    percents = [int(m["text"].rsplit(" ", 1)[-1].rstrip("%")) for m in edits]
    assert percents == sorted(percents) and all(0 < p < 100 for p in percents)
    assert "█" in text_of(edits[0]) and "/s" in text_of(edits[0]) and "left" in text_of(edits[0])

    assert final["ts"] == progress_post["ts"]  # the progress message became the card
    assert "quarterly.bin" in text_of(final) and "1.0 MiB" in text_of(final) and stored.url in text_of(final)
    (row,) = await bot.runtime.store.uploads_since(bot.slack.team_id, datetime(2000, 1, 1, tzinfo=UTC))
    assert (row.source, row.user_id, row.channel_id, row.name, row.size) == (
        "slack",
        ANN,
        CHANNEL,
        "quarterly.bin",
        size,
    )
    downloads = [c for c in bot.slack.calls if c.path.startswith("/files-pri/")]
    assert [c.headers["Authorization"] for c in downloads] == [f"Bearer {bot.slack.bot_token}"]


async def test_a_file_up_to_mirroraces_chunk_limit_goes_in_one_request_and_a_resend_downloads_it_again(
    bot: Harness,
) -> None:
    bot.mirrorace.max_chunk_size = 64 * KIB
    bot.mirrorace.upload.faults.inject(UPLOAD_PATH, "reset")  # the first request: the file at the limit
    at_limit = bot.slack.add_file("F0AT", "at-limit.bin", 64 * KIB)
    over = bot.slack.add_file("F0OVER", "over-limit.bin", 64 * KIB + 1)
    await mirror(bot, at_limit, over)
    assert all("Open on MirrorAce" in text_of(m) for m in await settled(bot, 2))
    for name, file_id, chunks in (("at-limit.bin", "F0AT", 1), ("over-limit.bin", "F0OVER", 2)):
        stored = bot.mirrorace.file_named(name)
        assert stored.sha256 == bot.slack.file_sha256(file_id) and stored.chunks == chunks
    ranges = {(c.filename, c.content_range) for c in bot.mirrorace.accepted_chunks()}
    assert ranges == {
        ("at-limit.bin", None),  # one request, no Content-Range
        ("over-limit.bin", f"bytes 0-{64 * KIB - 1}/{64 * KIB + 1}"),
        ("over-limit.bin", f"bytes {64 * KIB}-{64 * KIB}/{64 * KIB + 1}"),
    }
    downloads = [c.path for c in bot.slack.calls if c.path.startswith("/files-pri/")]
    assert len([p for p in downloads if "F0AT" in p]) == 2  # downloaded again for the resend, never held
    assert len([p for p in downloads if "F0OVER" in p]) == 1


async def test_a_chunk_failure_is_retried_and_the_file_still_arrives(bot: Harness) -> None:
    bot.mirrorace.max_chunk_size = 64 * KIB
    bot.mirrorace.upload.faults.inject(UPLOAD_PATH, "reset")
    shared = bot.slack.add_file("F0ONE", "one.bin", 200 * KIB)
    await mirror(bot, shared)
    (final,) = await settled(bot, 1)
    assert "Open on MirrorAce" in text_of(final)
    assert bot.mirrorace.file_named("one.bin").sha256 == bot.slack.file_sha256("F0ONE")
    assert not bot.slack.responses  # nothing to tell the caller


async def test_one_file_failing_does_not_stop_the_others_and_the_caller_is_told_which_and_why(bot: Harness) -> None:
    bot.mirrorace.max_chunk_size = 64 * KIB
    bot.mirrorace.upload.faults.inject(UPLOAD_PATH, "500", times=2)  # the first file's first chunk, and its retry
    first = bot.slack.add_file("F0A", "first.bin", 100 * KIB)
    second = bot.slack.add_file("F0B", "second.bin", 150 * KIB)
    await mirror(bot, first, second)
    failed, mirrored = await settled(bot, 2)
    assert "Could not mirror *first.bin* to MirrorAce" in text_of(failed) and "internal error" in text_of(failed)
    assert "Open on MirrorAce" in text_of(mirrored) and "second.bin" in text_of(mirrored)
    assert bot.mirrorace.file_named("second.bin").sha256 == bot.slack.file_sha256("F0B")
    answer = await bot.private()
    assert "1 of 2 files could not be mirrored" in answer
    assert "*first.bin*: MirrorAce: MirrorAce had an internal error (HTTP 500)" in answer
    assert "try again in a minute" in answer


async def test_a_file_too_large_is_refused_before_a_byte_and_a_cut_download_is_reported(bot: Harness) -> None:
    bot.mirrorace.max_chunk_size = 64 * KIB
    bot.mirrorace.max_file_size = 300 * KIB
    huge = bot.slack.add_file("F0HUGE", "huge.iso", 300 * KIB)
    cut = bot.slack.add_file("F0CUT", "cut.bin", 200 * KIB, cut_after=100 * KIB)
    fine = bot.slack.add_file("F0OK", "fine.bin", 10 * KIB)
    await mirror(bot, huge, cut, fine)
    too_big, cut_short, ok = await settled(bot, 3)
    assert "huge.iso is 307,200 bytes; MirrorAce takes files under 307,200 bytes" in text_of(too_big)
    assert "Slack stopped sending it part-way" in text_of(cut_short)
    assert "Open on MirrorAce" in text_of(ok)
    assert not [c for c in bot.mirrorace.chunks if c.filename == "huge.iso"]  # not a byte of it was sent
    assert [f.name for f in bot.mirrorace.files.values()] == ["fine.bin"]
    answer = await bot.private()
    assert "2 of 3 files could not be mirrored" in answer and "Run “Mirror to MirrorAce” on the message again" in answer


async def test_a_redelivered_shortcut_acts_once(bot: Harness) -> None:
    shared = bot.slack.add_file("F0ONCE", "once.bin", 20 * KIB)
    request = bot.slack.message_shortcut("mirror_file", message=message_with(shared))
    assert (await bot.send(request)).status == 200
    assert (await bot.send(request)).status == 200
    await settled(bot, 1)
    await asyncio.sleep(0.2)
    assert len(bot.mirrorace.files) == 1 and len(bot.slack.posted()) == 1


async def test_a_message_without_files_is_answered_privately(bot: Harness) -> None:
    await mirror(bot)
    assert "This message has no files to mirror" in await bot.private()
    assert not bot.mirrorace.calls
