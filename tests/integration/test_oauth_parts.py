"""OAuth mode's parts on their own: workspaces' installations and OAuth states in the store (on SQLite and
PostgreSQL, tokens sealed), and the doctor trying the app's credentials against Slack's stand-in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sandbox.world import Sims
from services.clock import FakeClock
from tests.conftest import sandbox_settings
from tests.oauth import ACME

# -- the store's side, on SQLite and PostgreSQL ----------------------------------------------------------------------


async def test_installations_and_states_in_the_store(database_url: str) -> None:
    from datetime import UTC, datetime

    from slack_sdk.oauth.installation_store.models.installation import Installation

    from services.installations import Installations, SecretKeyError, TokenCipher
    from services.store import Store

    clock = FakeClock()
    store = Store(database_url)
    try:
        await store.migrate()
        key = Fernet.generate_key().decode()
        installations = Installations(store, TokenCipher(key), clock)
        await installations.save(Installation(team_id=ACME, bot_token="xoxb-acme-1", team_name="Acme", user_id="U1"))
        expires = datetime(2026, 11, 23, 12, tzinfo=UTC)
        reinstalled = Installation(
            team_id=ACME,
            team_name="Acme",
            bot_token="xoxb-acme-2",
            bot_user_id="UBOT",
            bot_scopes="commands,chat:write",
            bot_refresh_token="xoxe-1-acme",
            bot_token_expires_at=int(expires.timestamp()),
            user_id="U2",
        )
        await installations.save(reinstalled)
        found = await installations.find(ACME)
        assert found is not None and found.bot_token == "xoxb-acme-2" and await installations.teams() == [ACME]
        assert (found.team_name, found.bot_user_id, found.bot_scopes) == ("Acme", "UBOT", ["commands", "chat:write"])
        assert (found.user_id, found.bot_refresh_token, found.bot_token_expires_at) == (
            "U2",
            "xoxe-1-acme",
            int(expires.timestamp()),
        )
        # A rotated token keeps the rest, and the refresh token where Slack sent none again.
        await installations.refreshed(ACME, bot_token="xoxb-acme-3", refresh_token=None, expires_at=expires)
        found = await installations.find(ACME)
        assert found is not None and (found.bot_token, found.bot_refresh_token) == ("xoxb-acme-3", "xoxe-1-acme")
        assert found.team_name == "Acme" and found.bot_scopes == ["commands", "chat:write"]
        async with store.engine.connect() as conn:
            sealed = (await conn.exec_driver_sql("SELECT bot_token FROM slack_installations")).scalar_one()
        assert "xoxb" not in sealed
        other_key = Installations(store, TokenCipher(Fernet.generate_key().decode()), clock)
        with pytest.raises(SecretKeyError, match="not the key they were sealed with"):
            await other_key.find(ACME)
        # What start-up checks: the key opens the stored tokens (and how many workspaces there are).
        assert await installations.opened_by_this_key() == 1
        with pytest.raises(SecretKeyError, match="not the key they were sealed with"):
            await other_key.opened_by_this_key()

        state = await installations.issue_state(timedelta(minutes=10))
        assert await installations.consume_state(state) and not await installations.consume_state(state)
        late = await installations.issue_state(timedelta(minutes=10))
        clock.advance(timedelta(minutes=11))
        assert not await installations.consume_state(late) and not await installations.consume_state("forged")

        removed = await installations.remove(ACME)
        assert removed.installation and await installations.find(ACME) is None
        assert not (await installations.remove(ACME)).installation
    finally:
        await store.close()


# -- the doctor's check of the app's credentials ---------------------------------------------------------------------


async def test_doctor_tries_the_apps_credentials_in_oauth_mode(sims: Sims, tmp_path: Path) -> None:
    from bot.doctor_checks import Setup, check_slack
    from services.http import HttpPool
    from services.vendors import Vendors

    sims.slack.oauth_app("1111.2222", "secret", ["https://cohost.example.com/slack/oauth_redirect"])
    found = []
    for secret in ("secret", "not-the-secret"):
        settings = sandbox_settings(
            sims,
            tmp_path / "c.db",
            SLACK_BOT_TOKEN="",
            SLACK_CLIENT_ID="1111.2222",
            SLACK_CLIENT_SECRET=secret,
            COHOST_SECRET_KEY=Fernet.generate_key().decode(),
        )
        pool = HttpPool()
        try:
            found.append(await check_slack(Setup(settings, Vendors(settings.vendors, pool), pool)))
        finally:
            await pool.close()
    assert (found[0].status, found[1].status) == ("ok", "FAILED")
    assert "GET /slack/install" in found[0].detail and found[1].fix == "check SLACK_CLIENT_SECRET"
