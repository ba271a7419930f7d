"""Any number of workspaces (OAuth mode): Bolt's own OAuth flow with Cohost's install page, the installations and
OAuth states kept in Cohost's store (services/installations.py, tokens sealed with `COHOST_SECRET_KEY`), and each
workspace's token for the work no request started.

- `GET /slack/install` shows the "Add to Slack" page (bot/install_pages.py, with every page an install shows): its
  button leads to Slack's authorize page (`SLACK_AUTHORIZE_URL`) with the scopes Cohost asks for and a new state,
  which is also set in a cookie of the browser that asked.
- `GET /slack/oauth_redirect` is where Slack sends the person back: the state must be the one in that browser's
  cookie and one the store issued, unexpired and unused (a forged or replayed state is refused), then Slack's
  `oauth.v2.access` turns the code into the workspace's bot token, and the installation is stored.
- Each request is authorized by Bolt with the installation of its workspace (a workspace that has none is not
  served), looked up in memory after the first time; where the app turns token rotation on, a token that nears
  its expiry is refreshed first, by requests and by the scheduler alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from logging import Logger
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.install_pages import BOT_SCOPES, CohostOAuthFlow, failed_page, installed_page
from bot.settings import Settings, SettingsError
from services.clock import Clock
from services.installations import Installations, SecretKeyError, TokenCipher
from services.store import Store

log = logging.getLogger("cohost.oauth")

#: How long an install may take between the install page and Slack sending the person back.
STATE_GOOD_FOR = timedelta(minutes=10)
#: Where Slack rotates tokens (they last 12 hours), one this close to its expiry is refreshed before it is used.
ROTATE_BEFORE = timedelta(minutes=120)
#: What to do when `COHOST_SECRET_KEY` does not open the stored tokens.
KEY_ADVICE = "set COHOST_SECRET_KEY to the key they were sealed with (or each workspace must install Cohost again)"
#: What a person of a workspace without Cohost (any more) is told when they use a command that lingers there.
NOT_INSTALLED = (
    ":warning: Cohost is not installed in this workspace (any more). A workspace admin can add it again from "
    "Cohost's install page."
)


class CohostInstallationStore(AsyncInstallationStore):
    """slack-sdk's installation store on Cohost's own (services/installations.py): one installation per
    workspace, its tokens sealed."""

    def __init__(self, installations: Installations) -> None:
        self._installations = installations

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        if installation.team_id is None or installation.bot_token is None:
            # An organisation-wide or a people-only install: Cohost installs into one workspace at a time.
            raise BoltError("Cohost installs into a workspace, with a bot")
        await self._installations.save(installation)
        log.info("workspace %s installed Cohost", installation.team_id)

    async def async_save_bot(self, bot: Bot) -> None:
        """A refreshed bot token (token rotation)."""
        if bot.team_id is None or bot.bot_token_expires_at is None:
            return
        await self._installations.refreshed(
            bot.team_id,
            bot_token=bot.bot_token,
            refresh_token=bot.bot_refresh_token,
            expires_at=datetime.fromtimestamp(bot.bot_token_expires_at, UTC),
        )

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        installation = await self._installations.find(team_id) if team_id else None
        return installation.to_bot() if installation is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = await self._installations.find(team_id) if team_id else None
        if installation is None or (user_id is not None and user_id != installation.user_id):
            return None  # Cohost keeps no person's own token
        return installation

    async def async_delete_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> None:
        if team_id:
            await self._installations.remove(team_id)

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> None:
        if team_id and user_id is None:
            await self._installations.remove(team_id)


class CohostStateStore(AsyncOAuthStateStore):
    """OAuth states in the store: every web process checks a state any of them issued, each one once."""

    def __init__(self, installations: Installations) -> None:
        self._installations = installations

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self._installations.issue_state(STATE_GOOD_FOR)

    async def async_consume(self, state: str) -> bool:
        consumed = await self._installations.consume_state(state)
        if not consumed:
            log.warning("an OAuth redirect came with a state this store did not issue, or one used or expired")
        return consumed


class InstalledWorkspaces:
    """The directory `handlers.core.workspaces.Workspaces` asks for each workspace's token (the scheduler's work), and
    that removes a workspace that uninstalled Cohost."""

    def __init__(
        self, installations: Installations, store: CohostInstallationStore, rotator: AsyncTokenRotator
    ) -> None:
        self._installations = installations
        self._store = store
        self._rotator = rotator
        self._rotating: dict[str, asyncio.Lock] = {}
        #: Bolt's authorization, whose answers (kept per token) are dropped with the workspace.
        self.authorize: AsyncInstallationStoreAuthorize | None = None

    async def check_key(self) -> int:
        """How many workspaces are installed; stops start-up when `COHOST_SECRET_KEY` does not open their tokens."""
        try:
            return await self._installations.opened_by_this_key()
        except SecretKeyError as exc:
            raise SettingsError(f"COHOST_SECRET_KEY {exc}; {KEY_ADVICE}") from None

    async def bot_token(self, team_id: str) -> str | None:
        installation = await self._installations.find(team_id)
        if installation is None:
            return None
        if not _due_for_rotation(installation):
            return installation.bot_token
        async with self._rotating.setdefault(team_id, asyncio.Lock()):
            installation = await self._installations.find(team_id)  # refreshed meanwhile by another caller?
            if installation is None or not _due_for_rotation(installation):
                return installation.bot_token if installation is not None else None
            refreshed = await self._rotator.perform_bot_token_rotation(
                bot=installation.to_bot(), minutes_before_expiration=int(ROTATE_BEFORE / timedelta(minutes=1))
            )
            if refreshed is None:
                return installation.bot_token
            await self._store.async_save_bot(refreshed)
            log.info("workspace %s: bot token refreshed", team_id)
            return refreshed.bot_token

    async def remove(self, team_id: str, why: str) -> None:
        removed = await self._installations.remove(team_id)
        if self.authorize is not None:
            cache = self.authorize.authorize_result_cache
            for token in [token for token, result in cache.items() if result.team_id == team_id]:
                del cache[token]
        log.warning(
            "workspace %s: %s; %s, %d pending jobs cancelled, %d digest subscriptions removed",
            team_id,
            why,
            "installation removed" if removed.installation else "no installation was left",
            removed.jobs_cancelled,
            removed.digests_removed,
        )


def _due_for_rotation(installation: Installation) -> bool:
    # Slack's expiry is wall-clock time, as Bolt's rotator reads it.
    expires = installation.bot_token_expires_at
    return (
        installation.bot_refresh_token is not None
        and expires is not None
        and expires - time.time() < ROTATE_BEFORE.total_seconds()
    )


OAuthParts = tuple[CohostOAuthFlow, AsyncInstallationStoreAuthorize, InstalledWorkspaces]


def oauth_parts(settings: Settings, store: Store, clock: Clock, client: AsyncWebClient) -> OAuthParts:
    """The OAuth flow (install page, redirect), Bolt's authorization of each request by its workspace's
    installation, and the directory of installed workspaces for the scheduler."""
    installations = Installations(store, TokenCipher(settings.COHOST_SECRET_KEY), clock)
    installation_store = CohostInstallationStore(installations)
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=[scope for scope, _ in BOT_SCOPES],
        authorization_url=settings.SLACK_AUTHORIZE_URL,
        installation_store=installation_store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=int(ROTATE_BEFORE / timedelta(minutes=1)),
        state_store=CohostStateStore(installations),
        state_expiration_seconds=int(STATE_GOOD_FOR.total_seconds()),
        callback_options=AsyncCallbackOptions(success=installed_page, failure=failed_page),
        logger=log,
    )
    flow = CohostOAuthFlow(client=client, settings=oauth_settings, logger=log)
    authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=installation_store,
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        token_rotation_expiration_minutes=int(ROTATE_BEFORE / timedelta(minutes=1)),
        bot_only=True,
        # Bolt's answer per token (its `auth.test`) is kept: the installation lookup before it is in memory too,
        # so a request of an installed workspace costs neither a database query nor a Slack call.
        cache_enabled=True,
        client=client,
    )
    rotator = AsyncTokenRotator(
        client_id=settings.SLACK_CLIENT_ID, client_secret=settings.SLACK_CLIENT_SECRET, client=client
    )
    directory = InstalledWorkspaces(installations, installation_store, rotator)
    directory.authorize = authorize
    return flow, authorize, directory
