"""The schema: Alembic's migrations, and the release step that applies them before the processes start."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from services.store import MIGRATIONS, SCHEMA_HEAD, Store
from tests.pg import PostgresServer
from tests.test_process import bot_env


def test_the_head_the_store_knows_is_alembics_head() -> None:
    # A new migration must move SCHEMA_HEAD too, or processes would skip it believing the schema current.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]


async def test_the_release_step_migrates_postgresql_and_a_second_run_changes_nothing(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database()
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=bot_env(DATABASE_URL=url)
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0
    store = Store(url)
    try:
        assert await store.schema_version() == SCHEMA_HEAD
        assert await store.active_cards() == []
    finally:
        await store.close()
