"""The schema: Alembic's migrations run on SQLite and PostgreSQL, up and down, keeping every row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Connection

from services.store import MIGRATIONS, SCHEMA_HEAD, Store


def _alembic(step: str, revision: str) -> Callable[[Connection], None]:
    """Runs Alembic's `upgrade` or `downgrade` to `revision` on the store's own connection."""

    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        getattr(command, step)(config, revision)

    return run


async def test_0004_gives_every_existing_row_its_team(database_url: str) -> None:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    store = Store(database_url)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(_alembic("upgrade", "0003"))
            tables = await conn.run_sync(_reflected)
            card = {"channel_id": "C0GENERAL", "name": "Demo", "creator_id": "U0ANN", "created_at": at}
            await conn.execute(
                tables["cards"].insert(),
                [
                    {**card, "id": 1, "team_id": "T0HOME", "family": "cobrowse", "vendor": "mirrortab"}
                    | {"vendor_id": "s-1", "state": "active"},
                    {**card, "id": 2, "team_id": "T0HOME", "family": "meeting", "vendor": "coviu"}
                    | {"vendor_id": "cv-1", "state": "active"},
                    # A card a request from another team once made, before teams were told apart.
                    {**card, "id": 3, "team_id": "T0STRAY", "family": "cobrowse", "vendor": "mirrortab"}
                    | {"vendor_id": "s-9", "state": "active"},
                ],
            )
            job = {"due_at": at, "attempts": 0}
            await conn.execute(
                tables["jobs"].insert(),
                [
                    {**job, "card_id": 1, "kind": "warn"},
                    {**job, "card_id": 3, "kind": "expire"},
                    {**job, "card_id": 99, "kind": "warn"},  # its card is gone
                ],
            )
            guest = {"vendor": "coviu", "created_at": at}
            await conn.execute(
                tables["meeting_guests"].insert(),
                [
                    {**guest, "session_id": "cv-1", "user_id": "U0ANN", "participant_id": "p-1"},
                    {**guest, "session_id": "cv-uncarded", "user_id": "U0BOB", "participant_id": "p-2"},
                ],
            )
            await conn.execute(
                tables["digest_subscriptions"].insert(),
                {"team_id": "T0HOME", "channel_id": "C0GENERAL", "family": "cobrowse", "cadence": "daily"}
                | {"at_time": "09:00", "tz": "UTC", "created_by": "U0ANN", "next_run_at": at},
            )
            await conn.execute(
                tables["uploads"].insert(),
                {"team_id": "T0HOME", "channel_id": "C0GENERAL", "user_id": "U0ANN", "source": "url", "name": "a"}
                | {"slug": "x1", "url": "https://mirrorace.example/x1", "created_at": at},
            )
            await conn.execute(tables["handled_requests"].insert(), {"key": "command:1.2.3", "handled_at": at})

        await store.migrate()
        assert await store.schema_version() == SCHEMA_HEAD

        async with store.engine.connect() as conn:
            jobs = (await conn.exec_driver_sql("SELECT card_id, team_id FROM jobs")).all()
        # A job takes its card's team; one whose card is gone, the workspace's (the team most rows name).
        assert sorted(tuple(row) for row in jobs) == [(1, "T0HOME"), (3, "T0STRAY"), (99, "T0HOME")]
        assert await store.guest("T0HOME", "coviu", "cv-1", "U0ANN") == "p-1"  # its card's team
        assert await store.guest("T0HOME", "coviu", "cv-uncarded", "U0BOB") == "p-2"  # the workspace's
        assert not await store.claim_request("T0HOME", "command:1.2.3", at)  # still known as handled
        assert await store.claim_request("T0STRAY", "command:1.2.3", at)  # but only in its workspace
        assert await store.digest("T0HOME", "C0GENERAL", "cobrowse") is not None
        assert await store.digest("T0STRAY", "C0GENERAL", "cobrowse") is None
        assert [u.slug for u in await store.uploads_since("T0HOME", at)] == ["x1"]
        assert (await store.find_card("T0HOME", "mirrortab", "s-1")).id == 1  # type: ignore[union-attr]
        assert await store.find_card("T0HOME", "mirrortab", "s-9") is None
        assert await store.get_card("T0STRAY", 3) is not None and await store.get_card("T0HOME", 3) is None

        # And back: the downgrade keeps the rows, and upgrading again gives the same teams.
        async with store.engine.begin() as conn:
            await conn.run_sync(_alembic("downgrade", "0003"))
        await store.migrate()
        assert await store.guest("T0HOME", "coviu", "cv-1", "U0ANN") == "p-1"
        assert (await store.find_card("T0STRAY", "mirrortab", "s-9")).id == 3  # type: ignore[union-attr]
    finally:
        await store.close()


def _reflected(connection: Connection) -> dict[str, Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return dict(metadata.tables)


def _differences(connection: Connection) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import services.installations
    import services.intake  # noqa: F401 - their tables are declared there
    from services.store.models import Base

    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_the_models_describe_the_schema_the_migrations_make(database_url: str) -> None:
    """What the code declares (services/store/models.py) is what a migrated database has, so a change to one
    without the other (a new column, an index) is caught here rather than by a deployment."""
    store = Store(database_url)
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await store.close()
