"""The doctor's checks (`python -m bot doctor`, run and reported by `bot.doctor`): one harmless live call to each
part, and what it found: `ok` with what works, `off` with the variables that turn it on, or `FAILED` with what to
do. Slack and the database are checked here; each vendor's probe is its client's `probe()` (`registry.VendorClient`),
and its typed errors become the fix here, so a vendor added to the registry gets its line with nothing written here.

Doctor needs no Slack credentials (the Slack line is then `off`), never starts the offline mode, and never changes
the database: an SQLite file that is not there is reported, not created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from bot.app import slack_client
from bot.settings import Settings
from services.clock import SystemClock
from services.errors import (
    VendorAccessLimited,
    VendorAuthError,
    VendorDisabled,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
    VendorUnsupported,
)
from services.http import HttpPool
from services.phrases import plural
from services.registry import VENDORS, VendorEntry
from services.store import MIGRATIONS, SCHEMA_HEAD, Store
from services.vendors import Vendors

Status = Literal["ok", "off", "FAILED"]
#: Slack's answers to auth.test that mean the token itself is wrong, not the place it was sent to.
_TOKEN_REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


@dataclass(frozen=True)
class Finding:
    status: Status
    #: What works, or what failed (the vendor's own words where it gave some).
    detail: str
    #: What to do: the variable to check, what to run.
    fix: str = ""


@dataclass
class Setup:
    """What a check may use: the settings, and the vendor clients on one HTTP pool."""

    settings: Settings
    vendors: Vendors
    pool: HttpPool


Check = Callable[[Setup], Awaitable[Finding]]


@dataclass(frozen=True)
class Part:
    name: str
    check: Check
    #: The setting that says where the part is, named when it does not answer in time.
    address: str


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# -- Slack and the database -------------------------------------------------------------------------------------


async def check_slack(setup: Setup) -> Finding:
    settings = setup.settings
    if settings.slack_mode == "offline":
        return Finding(
            "off",
            "no Slack credentials: `python -m bot` would start the offline mode",
            "set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP mode) or with SLACK_APP_TOKEN (Socket Mode), or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET with SLACK_SIGNING_SECRET and COHOST_SECRET_KEY (OAuth)",
        )
    api = settings.SLACK_API_URL
    client = slack_client(settings)
    client.session = setup.pool.session
    if settings.slack_mode == "oauth":
        return await _check_oauth_app(client, settings)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in _TOKEN_REFUSED:
            return Finding(
                "FAILED",
                f"Slack refused the bot token ({error})",
                "check SLACK_BOT_TOKEN: the Bot User OAuth Token of the app's OAuth & Permissions page",
            )
        return Finding("FAILED", f"Slack answered auth.test with `{error}`", f"check SLACK_API_URL ({api})")
    except (aiohttp.ClientError, OSError):
        return Finding("FAILED", "Slack could not be reached", f"check SLACK_API_URL ({api}) and the network")
    except ValueError:  # not JSON: something else answers there
        return Finding("FAILED", "what answered is not Slack's Web API", f"check SLACK_API_URL ({api})")
    if settings.slack_mode == "socket":
        mode = "Socket Mode (the app token is checked when the bot connects)"
    else:
        mode = "HTTP mode (Slack's requests at POST /slack/events)"
    who = f"@{answer.get('user')} in {answer.get('team')} ({answer.get('team_id')})"
    return Finding("ok", f"bot token accepted: {who}; {mode}")


async def _check_oauth_app(client: AsyncWebClient, settings: Settings) -> Finding:
    """OAuth mode has no token of its own to try: the app's credentials are tried on `oauth.v2.access` with a
    made-up code, which Slack refuses as `invalid_code` only once it accepted the client id and secret."""
    api = settings.SLACK_API_URL
    try:
        await client.oauth_v2_access(
            client_id=settings.SLACK_CLIENT_ID, client_secret=settings.SLACK_CLIENT_SECRET, code="cohost-doctor"
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error == "invalid_client_id":
            return Finding("FAILED", "Slack does not know the app's client id", "check SLACK_CLIENT_ID")
        if error == "bad_client_secret":
            return Finding("FAILED", "Slack refused the app's client secret", "check SLACK_CLIENT_SECRET")
        if error != "invalid_code":
            return Finding("FAILED", f"Slack answered oauth.v2.access with `{error}`", f"check SLACK_API_URL ({api})")
    except (aiohttp.ClientError, OSError):
        return Finding("FAILED", "Slack could not be reached", f"check SLACK_API_URL ({api}) and the network")
    except ValueError:
        return Finding("FAILED", "what answered is not Slack's Web API", f"check SLACK_API_URL ({api})")
    return Finding("ok", "app credentials accepted; OAuth mode: workspaces install at GET /slack/install")


async def check_database(setup: Setup) -> Finding:
    url = make_url(setup.settings.DATABASE_URL)
    shown = url.render_as_string(hide_password=True)
    migrate = "run `python -m bot migrate`"
    if _sqlite_file_missing(url):  # connecting would create it: reported instead
        return Finding("FAILED", f"{shown}: no database file there yet", f"{migrate} to create it")
    try:
        version = await _schema_version(setup.settings.DATABASE_URL)
    except ModuleNotFoundError as exc:
        return Finding(
            "FAILED",
            f"{shown} needs a driver Cohost does not have ({exc.name})",
            "set DATABASE_URL to sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER:PASSWORD@HOST/DATABASE",
        )
    except Exception as exc:
        return Finding(
            "FAILED",
            f"{shown} could not be opened: {_database_error(exc)}",
            "check DATABASE_URL and that the database server is up",
        )
    if version == SCHEMA_HEAD:
        reachable = f"{shown} reachable; schema at {version}, the newest"
        if setup.settings.slack_mode == "oauth":
            return await _installed_workspaces(setup.settings, reachable)
        return Finding("ok", reachable)
    if version is None:
        return Finding("FAILED", f"{shown} reachable, but has no schema yet", migrate)
    if version in _known_revisions():
        return Finding("FAILED", f"{shown} reachable; schema at {version}, behind the newest ({SCHEMA_HEAD})", migrate)
    return Finding(
        "FAILED",
        f"{shown} reachable; schema at {version}, which this Cohost does not know (a newer one migrated it)",
        "run the Cohost that migrated it, or a newer one",
    )


async def _schema_version(url: str) -> str | None:
    store = Store(url)  # an unusable driver fails here already
    try:
        return await store.schema_version()
    finally:
        await store.close()


async def _installed_workspaces(settings: Settings, reachable: str) -> Finding:
    """OAuth mode: how many workspaces are installed, once `COHOST_SECRET_KEY` is seen to open their tokens."""
    from bot.oauth import KEY_ADVICE  # OAuth mode only: it loads `cryptography` (see bot/app.py)
    from services.installations import Installations, SecretKeyError, TokenCipher

    store = Store(settings.DATABASE_URL)
    try:
        cipher = TokenCipher(settings.COHOST_SECRET_KEY)
        installed = await Installations(store, cipher, SystemClock()).opened_by_this_key()
    except SecretKeyError as exc:
        return Finding("FAILED", f"{reachable}; COHOST_SECRET_KEY {exc}", KEY_ADVICE)
    finally:
        await store.close()
    return Finding("ok", f"{reachable}; {plural(installed, 'workspace')} installed")


def _sqlite_file_missing(url: URL) -> bool:
    return (
        url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not (Path(str(url.database)).exists())
    )


def _known_revisions() -> set[str]:
    from alembic.config import Config  # only when the schema is not at the newest: see SCHEMA_HEAD
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def _database_error(exc: Exception) -> str:
    """The driver's own first line (`password authentication failed for user "x"`, `Connect call failed`)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


# -- the vendors: each one's probe is its client's own ----------------------------------------------------------


def vendor_check(entry: VendorEntry[Any]) -> Check:
    """A vendor's check: `off` while its credentials are incomplete, else its probe, whose typed vendor error
    becomes the failure with its fix."""

    async def check(setup: Setup) -> Finding:
        missing = setup.vendors.config.missing(entry.key)
        if missing:
            return Finding("off", "not set up", f"set {_and(missing)} to turn it on")
        try:
            return Finding("ok", await setup.vendors.client(entry).probe())
        except VendorError as exc:
            return vendor_failed(setup.settings, entry, exc)

    return check


def vendor_failed(settings: Settings, entry: VendorEntry[Any], exc: VendorError) -> Finding:
    """What failed, in the vendor's words, and the fix its typed error points to."""
    if isinstance(exc, VendorAccessLimited):  # its own words say what was accepted and what was not
        return Finding("FAILED", exc.message, exc.advice)
    detail = exc.message.rstrip(".")
    if exc.vendor not in detail:
        detail = f"{exc.vendor} answered: {detail}"
    at = f"{entry.address} ({getattr(settings, entry.address)})"
    if isinstance(exc, VendorAuthError):
        fix = f"check {_and(entry.credentials_refused)}"
    elif isinstance(exc, VendorUnsupported | VendorNotFound) or (
        isinstance(exc, VendorUnavailable) and exc.status is not None and exc.status < 500 and exc.status != 429
    ):  # something answers there, but not as the vendor's API (a web page, a 404)
        fix = f"check {at}: it does not look like {exc.vendor}'s API there"
    elif isinstance(exc, VendorUnavailable):
        fix = f"check {at} and that {exc.vendor} is up"
    elif isinstance(exc, VendorDisabled):
        fix = f"ask the {exc.vendor} server's admin to switch it on"
    else:
        fix = exc.advice
    return Finding("FAILED", detail, fix)


#: Every part, in the order of its line: Slack, the database, then each vendor as the registry lists them.
PARTS: tuple[Part, ...] = (
    Part("Slack", check_slack, "SLACK_API_URL"),
    Part("Database", check_database, "DATABASE_URL"),
    *(Part(entry.name, vendor_check(entry), entry.address) for entry in VENDORS.values()),
)
