"""The release step, `python -m bot migrate`, as a real process: it brings an empty PostgreSQL database to the
newest migration before the processes start, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sandbox.world import process_env
from services.store import SCHEMA_HEAD, Store
from tests.pg import PostgresServer


async def test_the_release_step_migrates_postgresql_and_a_second_run_changes_nothing(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database()
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=process_env({"DATABASE_URL": url})
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
    store = Store(url)
    try:
        assert await store.schema_version() == SCHEMA_HEAD
        assert await store.active_cards() == []
    finally:
        await store.close()
