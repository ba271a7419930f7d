"""The workspaces that installed Cohost (OAuth mode), and the OAuth states of installs under way, in Cohost's own
database: the same store, the same migrations, SQLite or PostgreSQL.

A workspace's tokens (its bot token, and the refresh token where Slack rotates tokens) are kept encrypted with
`COHOST_SECRET_KEY` (Fernet: AES in CBC mode with an HMAC, from `cryptography`), so a copy of the database file
or a backup alone gives no one a token. An installation is slack-sdk's own `Installation` (the bot's part of it:
Cohost keeps no person's token); `bot/oauth.py` hands these to Bolt as slack-sdk's installation and state stores.

Looking a workspace up is on the path of every request (Bolt authorizes each one) and of every scheduled post, so
the answer is kept in memory: for `CACHE_FOR` at most (another process may have removed or refreshed it since),
dropped at once when this process saves or removes it, and never past its token's expiry. Lookups of the same
workspace that arrive together share one query.
"""

from __future__ import annotations

import asyncio
import binascii
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Boolean, String, Text, UniqueConstraint, delete, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from services.clock import Clock
from services.store import Base, DigestSubscription, Job, Store, TeamRow, UtcDateTime, conflict_aware_insert

#: How long a workspace's installation is believed without asking the database again.
CACHE_FOR = timedelta(seconds=30)
#: A token this close to its expiry is not handed out from the cache (it is about to be refreshed).
EXPIRY_MARGIN = timedelta(minutes=1)


class SecretKeyError(ValueError):
    """`COHOST_SECRET_KEY` is not a usable key, or not the key the tokens were sealed with; the message says which
    (never the key)."""


class TokenCipher:
    """Seals tokens for the store and opens them again, with `COHOST_SECRET_KEY`."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError, binascii.Error):
            raise SecretKeyError(
                "must be a Fernet key: 32 random bytes in url-safe base64, 44 characters ending in '='"
            ) from None

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "does not open the tokens in the store: it is not the key they were sealed with"
            ) from None


class InstallationRow(TeamRow, Base):
    """One workspace's installation of Cohost: a new install of the same workspace replaces it."""

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("team_id", name="uq_slack_installations_team"),)

    team_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    app_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Comma-separated, as Slack lists them.
    bot_scopes: Mapped[str] = mapped_column(String(1000), default="")
    #: Sealed with `TokenCipher`: never the token itself.
    bot_token: Mapped[str] = mapped_column(Text)
    bot_refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    bot_token_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Who installed it.
    installer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OAuthStateRow(Base):
    """A state handed to one install under way: good once, until it expires."""

    __tablename__ = "slack_oauth_states"

    state: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


@dataclass(frozen=True)
class Removed:
    """What removing a workspace stopped."""

    installation: bool
    jobs_cancelled: int
    digests_removed: int


class Installations:
    def __init__(self, store: Store, cipher: TokenCipher, clock: Clock) -> None:
        self._cipher = cipher
        self._clock = clock
        self._sessions = async_sessionmaker(store.engine, expire_on_commit=False)
        self._engine = store.engine
        self._cache: dict[str, tuple[float, Installation]] = {}
        self._loading: dict[str, asyncio.Future[Installation | None]] = {}

    # -- installations -------------------------------------------------------------------------------------------

    async def opened_by_this_key(self) -> int:
        """How many workspaces are installed, once `COHOST_SECRET_KEY` is seen to open their tokens (one is tried:
        all are sealed with the one key); SecretKeyError when it does not. A key changed by mistake would otherwise
        fail every request and every post, each on its own, with nothing at start to say why."""
        async with self._sessions() as session:
            installed = int((await session.execute(select(func.count()).select_from(InstallationRow))).scalar_one())
            sealed = (await session.execute(select(InstallationRow.bot_token).limit(1))).scalar_one_or_none()
        if sealed is not None:
            self._cipher.open(sealed)
        return installed

    async def save(self, installation: Installation) -> None:
        """Records a workspace's new installation (installed now), replacing any it had. It must be a workspace's,
        with a bot token."""
        if installation.team_id is None or installation.bot_token is None:
            raise ValueError("an installation into a workspace, with a bot token")
        values = {
            "team_name": installation.team_name,
            "enterprise_id": installation.enterprise_id,
            "enterprise_name": installation.enterprise_name,
            "app_id": installation.app_id,
            "bot_id": installation.bot_id,
            "bot_user_id": installation.bot_user_id,
            "bot_scopes": ",".join(installation.bot_scopes or ()),
            **self._sealed_tokens(installation.bot_token, installation.bot_refresh_token),
            "bot_token_expires_at": _moment(installation.bot_token_expires_at),
            "installer_id": installation.user_id or None,
            "is_enterprise_install": bool(installation.is_enterprise_install),
            "installed_at": self._clock.now(),
        }
        insert = conflict_aware_insert(self._engine)
        statement = insert(InstallationRow).values(team_id=installation.team_id, **values)
        statement = statement.on_conflict_do_update(index_elements=["team_id"], set_=values)
        await self._write(installation.team_id, statement)

    async def refreshed(self, team_id: str, *, bot_token: str, refresh_token: str | None, expires_at: datetime) -> None:
        """A rotated token: the installation keeps everything else (a refresh token Slack did not send again
        included)."""
        sealed = self._sealed_tokens(bot_token, refresh_token)
        if not refresh_token:
            del sealed["bot_refresh_token"]
        statement = update(InstallationRow).where(InstallationRow.team_id == team_id)
        await self._write(team_id, statement.values(**sealed, bot_token_expires_at=expires_at))

    def _sealed_tokens(self, bot_token: str, refresh_token: str | None) -> dict[str, str | None]:
        return {
            "bot_token": self._cipher.seal(bot_token),
            "bot_refresh_token": self._cipher.seal(refresh_token) if refresh_token else None,
        }

    async def _write(self, team_id: str, statement: Any) -> None:
        self._cache.pop(team_id, None)
        async with self._sessions.begin() as session:
            await session.execute(statement)
        self._cache.pop(team_id, None)  # a lookup that read the old row meanwhile must not stay

    async def find(self, team_id: str) -> Installation | None:
        """The workspace's installation, None when it has none (never installed, or removed)."""
        cached = self._cache.get(team_id)
        if cached is not None and self._fresh(*cached):
            return cached[1]
        loading = self._loading.get(team_id)
        if loading is None:
            loading = self._loading[team_id] = asyncio.ensure_future(self._load(team_id))
            loading.add_done_callback(lambda _: self._loading.pop(team_id, None))
        return await asyncio.shield(loading)

    def _fresh(self, fetched_at: float, installation: Installation) -> bool:
        if time.monotonic() - fetched_at > CACHE_FOR.total_seconds():
            return False
        expires = _moment(installation.bot_token_expires_at)
        return expires is None or expires - EXPIRY_MARGIN > self._clock.now()

    async def _load(self, team_id: str) -> Installation | None:
        fetched_at = time.monotonic()
        async with self._sessions() as session:
            row = (
                await session.execute(select(InstallationRow).where(InstallationRow.team_id == team_id))
            ).scalar_one_or_none()
        if row is None:
            self._cache.pop(team_id, None)
            return None
        installed = self._opened(row)
        self._cache[team_id] = (fetched_at, installed)
        return installed

    def _opened(self, row: InstallationRow) -> Installation:
        """The stored installation, its tokens in the clear (in memory only)."""
        return Installation(
            team_id=row.team_id,
            bot_token=self._cipher.open(row.bot_token),
            installed_at=row.installed_at.timestamp(),
            team_name=row.team_name,
            enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name,
            app_id=row.app_id,
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes,  # comma-separated, which slack-sdk splits
            bot_refresh_token=self._cipher.open(row.bot_refresh_token) if row.bot_refresh_token else None,
            bot_token_expires_at=_epoch(row.bot_token_expires_at),
            user_id=row.installer_id or "",
            is_enterprise_install=row.is_enterprise_install,
        )

    async def remove(self, team_id: str) -> Removed:
        """The workspace uninstalled Cohost (or its token was revoked): its installation goes, its cards' pending
        jobs are cancelled and its digest subscriptions removed, in one transaction, so nothing more is posted
        there. Removing a workspace twice changes nothing more."""
        now = self._clock.now()
        self._cache.pop(team_id, None)
        async with self._sessions.begin() as session:
            gone = await session.execute(delete(InstallationRow).where(InstallationRow.team_id == team_id))
            jobs = await session.execute(
                update(Job)
                .where(Job.team_id == team_id, Job.done_at.is_(None))
                .values(done_at=now, outcome="uninstalled")
            )
            digests = await session.execute(delete(DigestSubscription).where(DigestSubscription.team_id == team_id))
        self._cache.pop(team_id, None)
        return Removed(
            installation=bool(gone.rowcount),  # type: ignore[attr-defined]
            jobs_cancelled=int(jobs.rowcount),  # type: ignore[attr-defined]
            digests_removed=int(digests.rowcount),  # type: ignore[attr-defined]
        )

    async def teams(self) -> list[str]:
        """Every installed workspace's team id."""
        async with self._sessions() as session:
            rows = await session.execute(select(InstallationRow.team_id).order_by(InstallationRow.team_id))
            return [str(team) for team in rows.scalars()]

    # -- OAuth states -----------------------------------------------------------------------------------------------

    async def issue_state(self, good_for: timedelta) -> str:
        """A new state for one install: unguessable, good once, until `good_for` from now."""
        state = secrets.token_urlsafe(32)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            # Expired states are of no use to anyone: each new one sweeps them away.
            await session.execute(delete(OAuthStateRow).where(OAuthStateRow.expires_at < now))
            session.add(OAuthStateRow(state=state, expires_at=now + good_for))
        return state

    async def consume_state(self, state: str) -> bool:
        """True once for a state this store issued and that has not expired; False for any other (forged,
        expired, or used already): of two callbacks with the same state, one wins."""
        if not state:
            return False
        async with self._sessions.begin() as session:
            consumed = delete(OAuthStateRow).where(OAuthStateRow.state == state[:200])
            expires_at = (await session.execute(consumed.returning(OAuthStateRow.expires_at))).scalar_one_or_none()
        return expires_at is not None and expires_at > self._clock.now()
