"""The newest migration is the one the store starts from (services/store/database.py `SCHEMA_HEAD`)."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from services.store import MIGRATIONS, SCHEMA_HEAD


def test_the_head_the_store_knows_is_alembics_head() -> None:
    # A new migration must move SCHEMA_HEAD too, or processes would skip it believing the schema current.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_HEAD]
