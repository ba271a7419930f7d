"""The progress message of a mirror on its own, against Slack's stand-in: edited in place at most every two
seconds, with a bar, the percentage, bytes, speed and time left (tests/e2e/test_upload.py has it in a whole run)."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient

from handlers.upload.shortcuts import ProgressMessage
from sandbox.world import Sims
from services.clock import FakeClock
from tests.conftest import CHANNEL
from tests.messages import text_of

MESSAGE_TS = "1699999999.000200"


async def test_progress_is_edited_at_most_every_two_seconds_with_bar_percent_bytes_speed_and_time_left(
    sims: Sims,
) -> None:
    slack = sims.slack
    clock = FakeClock()
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.url + "/api/")
    progress = ProgressMessage(client, clock, CHANNEL, MESSAGE_TS, "a.bin", 1000)
    await progress.start()
    for at_s, done in ((0.5, 100), (1.9, 200), (2.0, 300), (3.0, 400), (3.9, 500), (4.1, 600)):
        clock.advance(timedelta(seconds=at_s) - timedelta(seconds=clock.monotonic()))
        await progress.update(done)
    edits = slack.api_calls("chat.update")
    assert [e["text"] for e in edits] == ["Mirroring a.bin to MirrorAce: 30%", "Mirroring a.bin to MirrorAce: 60%"]
    line = text_of(edits[0])
    assert "██████░░░░░░░░░░░░░░" in line and "30%" in line
    assert "300 B of 1000 B" in line and "150 B/s" in line and "5 s left" in line
