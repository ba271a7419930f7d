"""Any number of workspaces (OAuth mode): Bolt's own OAuth flow with Cohost's install page, the installations and
OAuth states kept in Cohost's store (services/installations.py, tokens sealed with `COHOST_SECRET_KEY`), and each
workspace's token for the work no request started.

- `GET /slack/install` shows the "Add to Slack" page: its button leads to Slack's authorize page
  (`SLACK_AUTHORIZE_URL`) with the scopes Cohost asks for and a new state, which is also set in a cookie of the
  browser that asked.
- `GET /slack/oauth_redirect` is where Slack sends the person back: the state must be the one in that browser's
  cookie and one the store issued, unexpired and unused (a forged or replayed state is refused), then Slack's
  `oauth.v2.access` turns the code into the workspace's bot token, and the installation is stored.
- Each request is authorized by Bolt with the installation of its workspace (a workspace that has none is not
  served), looked up in memory after the first time; where the app turns token rotation on, a token that nears
  its expiry is refreshed first, by requests and by the scheduler alike.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from datetime import UTC, datetime, timedelta
from logging import Logger
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from services.clock import Clock
from services.installations import Installations, Installed, TokenCipher
from services.store import Store

log = logging.getLogger("cohost.oauth")

#: The bot scopes Cohost asks a workspace for, and why: the one list, which manifest.yml repeats (a test holds
#: the two together) and the install page shows.
BOT_SCOPES: tuple[tuple[str, str], ...] = (
    ("commands", "the /cobrowse, /meeting and /upload commands and the “Mirror to MirrorAce” shortcut"),
    ("chat:write", "post session cards, edit them when a session ends, answer you privately"),
    ("chat:write.public", "post a card in a public channel it has not been invited to"),
    ("im:write", "send personal links by direct message when a private answer is not possible"),
    ("users:read", "your time zone (for times you type), your display name (for your links) and admin rights"),
    ("files:read", "download a message's files to mirror them to MirrorAce"),
    ("files:write", "upload the weekly digest's chart"),
)
#: How long an install may take between the install page and Slack sending the person back.
STATE_GOOD_FOR = timedelta(minutes=10)
#: Where Slack rotates tokens (they last 12 hours), one this close to its expiry is refreshed before it is used.
ROTATE_BEFORE = timedelta(minutes=120)
#: What a person of a workspace without Cohost (any more) is told when they use a command that lingers there.
NOT_INSTALLED = (
    ":warning: Cohost is not installed in this workspace (any more). A workspace admin can add it again from "
    "Cohost's install page."
)


def scope_names() -> list[str]:
    return [scope for scope, _ in BOT_SCOPES]


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _moment(epoch: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


class CohostInstallationStore(AsyncInstallationStore):
    """slack-sdk's installation store on Cohost's own (services/installations.py): one installation per
    workspace, its tokens sealed."""

    def __init__(self, installations: Installations, clock: Clock) -> None:
        self._installations = installations
        self._clock = clock

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        if installation.team_id is None or installation.bot_token is None:
            # An organisation-wide or a people-only install: Cohost installs into one workspace at a time.
            raise BoltError("Cohost installs into a workspace, with a bot")
        await self._installations.save(
            Installed(
                team_id=installation.team_id,
                bot_token=installation.bot_token,
                installed_at=self._clock.now(),
                team_name=installation.team_name,
                enterprise_id=installation.enterprise_id,
                enterprise_name=installation.enterprise_name,
                app_id=installation.app_id,
                bot_id=installation.bot_id,
                bot_user_id=installation.bot_user_id,
                bot_scopes=tuple(installation.bot_scopes or ()),
                bot_refresh_token=installation.bot_refresh_token,
                bot_token_expires_at=_moment(installation.bot_token_expires_at),
                installer_id=installation.user_id,
                is_enterprise_install=bool(installation.is_enterprise_install),
            )
        )
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
        installed = await self._installations.find(team_id) if team_id else None
        return _bot_of(installed) if installed is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installed = await self._installations.find(team_id) if team_id else None
        if installed is None or (user_id is not None and user_id != installed.installer_id):
            return None  # Cohost keeps no person's own token
        return Installation(
            app_id=installed.app_id,
            enterprise_id=installed.enterprise_id,
            enterprise_name=installed.enterprise_name,
            team_id=installed.team_id,
            team_name=installed.team_name,
            bot_token=installed.bot_token,
            bot_id=installed.bot_id,
            bot_user_id=installed.bot_user_id,
            bot_scopes=list(installed.bot_scopes),
            bot_refresh_token=installed.bot_refresh_token,
            bot_token_expires_at=_epoch(installed.bot_token_expires_at),
            user_id=installed.installer_id or "",
            is_enterprise_install=installed.is_enterprise_install,
            installed_at=installed.installed_at.timestamp(),
        )

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


def _bot_of(installed: Installed) -> Bot:
    return Bot(
        app_id=installed.app_id,
        enterprise_id=installed.enterprise_id,
        enterprise_name=installed.enterprise_name,
        team_id=installed.team_id,
        team_name=installed.team_name,
        bot_token=installed.bot_token,
        bot_id=installed.bot_id or "",
        bot_user_id=installed.bot_user_id or "",
        bot_scopes=list(installed.bot_scopes),
        bot_refresh_token=installed.bot_refresh_token,
        bot_token_expires_at=_epoch(installed.bot_token_expires_at),
        is_enterprise_install=installed.is_enterprise_install,
        installed_at=installed.installed_at.timestamp(),
    )


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

    async def bot_token(self, team_id: str) -> str | None:
        installed = await self._installations.find(team_id)
        if installed is None:
            return None
        if not _due_for_rotation(installed):
            return installed.bot_token
        async with self._rotating.setdefault(team_id, asyncio.Lock()):
            installed = await self._installations.find(team_id)  # refreshed meanwhile by another caller?
            if installed is None or not _due_for_rotation(installed):
                return installed.bot_token if installed is not None else None
            refreshed = await self._rotator.perform_bot_token_rotation(
                bot=_bot_of(installed), minutes_before_expiration=int(ROTATE_BEFORE / timedelta(minutes=1))
            )
            if refreshed is None:
                return installed.bot_token
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


def _due_for_rotation(installed: Installed) -> bool:
    # Slack's expiry is wall-clock time, as Bolt's rotator reads it.
    expires = installed.bot_token_expires_at
    return (
        installed.bot_refresh_token is not None
        and expires is not None
        and expires.timestamp() - time.time() < ROTATE_BEFORE.total_seconds()
    )


# -- the pages ------------------------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d1c1d; }}
h1 {{ font-size: 1.6rem; }}
a.add {{ display: inline-block; padding: .7rem 1.4rem; border-radius: .4rem; background: #4a154b; color: #fff;
  font-weight: 600; text-decoration: none; }}
a.add:focus, a.add:hover {{ background: #611f69; }}
li {{ margin: .3rem 0; }}
code {{ background: #f4f4f4; padding: 0 .2rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def page(title: str, body: str) -> str:
    """A small page of Cohost's own, with nothing loaded from elsewhere. `body` is HTML: escape what goes in."""
    return _PAGE.format(title=html.escape(title), body=body)


def install_page(authorize_url: str) -> str:
    scopes = "\n".join(f"<li><code>{html.escape(s)}</code>: {html.escape(why)}</li>" for s, why in BOT_SCOPES)
    return page(
        "Add Cohost to Slack",
        f"""<h1>Add Cohost to your Slack workspace</h1>
<p>Cohost runs co-browsing sessions, video meetings and file mirrors from Slack: <code>/cobrowse</code>,
<code>/meeting</code> and <code>/upload</code>.</p>
<p><a class="add" id="add-to-slack" href="{html.escape(authorize_url)}">Add to Slack</a></p>
<p>Slack will ask you to allow Cohost to:</p>
<ul>
{scopes}
</ul>""",
    )


async def _installed_page(args: AsyncSuccessArgs) -> BoltResponse:
    response = await args.default.success(args)  # Bolt's answer clears the state cookie: keep that, not its page
    installation = args.installation
    where = html.escape(installation.team_name or installation.team_id or "your workspace")
    response.body = page(
        "Cohost is installed",
        f"""<h1>Cohost is installed in {where}</h1>
<p>Type <code>/cobrowse help</code>, <code>/meeting help</code> or <code>/upload help</code> in any channel to
start. You can close this page.</p>""",
    )
    return response


#: What a person is told when an install did not complete, by Bolt's reason.
_FAILURES = {
    "access_denied": "The install was cancelled in Slack: nothing was installed.",
    "invalid_browser": (
        "This install was started in another browser, or its cookie is gone: start again from the install page "
        "in this browser."
    ),
    "invalid_state": (
        "This install link was already used or has expired (it is good for ten minutes, once): start again from "
        "the install page."
    ),
    "missing_code": "Slack sent no install code: start again from the install page.",
    "invalid_code": "Slack did not accept the install code (it is good once, for a few minutes): start again.",
    "storage_error": "Cohost installs into one workspace at a time, with its bot: start again from the install page.",
}


async def _failed_page(args: AsyncFailureArgs) -> BoltResponse:
    response = await args.default.failure(args)
    log.warning("an install did not complete: %s", args.reason)
    what = _FAILURES.get(args.reason, "Slack did not complete the install: start again from the install page.")
    response.body = page(
        "Cohost was not installed",
        f"""<h1>Cohost was not installed</h1>
<p>{html.escape(what)}</p>
<p><a class="add" href="{html.escape(args.settings.install_path)}">Back to the install page</a></p>""",
    )
    return response


class CohostOAuthFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, with Cohost's own install page."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return install_page(url)


OAuthParts = tuple[CohostOAuthFlow, AsyncInstallationStoreAuthorize, InstalledWorkspaces]


def oauth_parts(settings: Settings, store: Store, clock: Clock, client: AsyncWebClient) -> OAuthParts:
    """The OAuth flow (install page, redirect), Bolt's authorization of each request by its workspace's
    installation, and the directory of installed workspaces for the scheduler."""
    installations = Installations(store, TokenCipher(settings.COHOST_SECRET_KEY), clock)
    installation_store = CohostInstallationStore(installations, clock)
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=scope_names(),
        authorization_url=settings.SLACK_AUTHORIZE_URL,
        installation_store=installation_store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=int(ROTATE_BEFORE / timedelta(minutes=1)),
        state_store=CohostStateStore(installations),
        state_expiration_seconds=int(STATE_GOOD_FOR.total_seconds()),
        callback_options=AsyncCallbackOptions(success=_installed_page, failure=_failed_page),
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
