"""No command text, however odd, makes the bot fail (tests/integration/test_store.py: concurrent deliveries of one
act are claimed once)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Harness

# Text like what people type: words of the grammar, options, quotes, Slack's escapes, and anything at all.
PIECES = st.sampled_from(
    [
        "new",
        "end",
        "invite",
        "revoke",
        "schedule",
        "list",
        "stats",
        "rooms",
        "report",
        "reseller",
        "create",
        "apikey",
        "--name",
        "--minutes",
        "--access",
        "--provider",
        "--uses",
        "--leader",
        "--tz",
        "--set",
        "—as",
        '"',
        "'",
        "“",
        "<@U0BOB|bob>",
        "<https://a.example|a>",
        "<mailto:a@b.example|a@b.example>",
        "&lt;",
        "&amp;",
        "tomorrow",
        "09:30",
        "in",
        "2h",
        "samesurf",
        "mirrortab",
        "0",
        "-1",
        "99999999999999999999",
        "=",
        ",",
        "\n",
    ]
)
ODD_TEXT = st.one_of(st.text(max_size=120), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map(" ".join))


async def test_no_command_text_makes_the_bot_fail(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    loop = asyncio.get_running_loop()
    statuses: list[int] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(ODD_TEXT)
    def send(text: str) -> None:
        ack = asyncio.run_coroutine_threadsafe(bot.command(text), loop).result(30)
        statuses.append(ack.status)

    await asyncio.to_thread(send)
    await asyncio.sleep(0.5)  # let the work after the acks finish
    assert statuses and set(statuses) == {200}
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]
    async with bot.http.get(bot.url + "/healthz") as resp:
        assert resp.status == 200
