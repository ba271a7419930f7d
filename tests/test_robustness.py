"""No command text, however odd, makes the bot fail; concurrent deliveries of one act are claimed once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.store import Store
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


async def test_concurrent_claims_of_one_key_win_once(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}")
    await store.migrate()
    now = datetime.now(UTC)
    keys = [f"command:{i % 50}" for i in range(400)]
    results = await asyncio.gather(*(store.claim_request("T0ONE", key, now) for key in keys))
    assert sum(results) == 50
    assert {k for k, won in zip(keys, results, strict=True) if won} == set(keys)
    assert not any(await asyncio.gather(*(store.claim_request("T0ONE", key, now) for key in set(keys))))
    await store.close()


async def test_old_request_keys_are_pruned_and_recent_ones_kept(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'prune.db'}")
    await store.migrate()
    old, recent = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)
    assert await store.claim_request("T0ONE", "old", old)
    assert await store.claim_request("T0ONE", "recent", recent)
    assert await store.prune_requests(datetime(2026, 11, 22, tzinfo=UTC)) == 1
    assert await store.claim_request("T0ONE", "old", recent)  # forgotten, so it counts as new again
    assert not await store.claim_request("T0ONE", "recent", recent)
    await store.close()
