"""The wiring to the stand-ins (sandbox/world.py): a `python -m bot` started by a test or a benchmark sees exactly
the settings it is given, never one left in the shell of whoever runs it."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from sandbox.world import ROOT, is_cohost_setting, process_env


def test_every_setting_cohost_reads_is_known_as_one() -> None:
    # A setting added to bot/settings.py but not here would leak from the shell into the processes tests start.
    assert [name for name in Settings.model_fields if not is_cohost_setting(name)] == []
    assert not any(is_cohost_setting(name) for name in ("PATH", "HOME", "PYTHONPATH", "LANG", "PGHOST"))


def test_a_child_gets_only_the_settings_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-of-the-shell")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://shell/db")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = process_env({"DATABASE_URL": "sqlite+aiosqlite:///test.db"})
    assert "SLACK_BOT_TOKEN" not in env
    assert env["DATABASE_URL"] == "sqlite+aiosqlite:///test.db"
    assert env["LANG"] == "C.UTF-8"  # the rest of the environment stays
    assert env["PYTHONPATH"] == str(ROOT) and (ROOT / "bot" / "__main__.py").exists()
