"""A process loads only what its deployment uses: the mirror benchmark holds a web process under 100 MB peak, and
each of these is megabytes that a SQLite, one-workspace deployment without SameSurf never needs."""

from __future__ import annotations

import subprocess
import sys

from sandbox.world import process_env

#: Loaded on demand: Alembic by the release step or a store behind the newest migration, PyJWT (with
#: cryptography) on the first call to SameSurf, the OAuth parts in OAuth mode, PostgreSQL's dialect for its store.
ON_DEMAND = ("alembic", "jwt", "cryptography", "bot.oauth", "services.installations", "sqlalchemy.dialects.postgresql")


def test_starting_the_bot_loads_nothing_its_deployment_does_not_use() -> None:
    probe = f"import sys, bot.__main__, bot.app; print(' '.join(m for m in {ON_DEMAND!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=process_env({}), capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.split() == []
