"""`python -m bot doctor`: is this setup right? One harmless live call to each configured part, all at once, each
within `VENDOR_TIMEOUT_S`, and one line per part: its name, `ok` / `off` / `FAILED`, what works, and what to do.

Exit status 0 only when every configured part is ok, else 1 (2, before any check, for unusable settings). A part
that is off is not a failure: its line names the variables that turn it on. Nothing printed carries a secret:
vendors' typed errors are kept free of them, and every line is scrubbed of every secret setting besides.

Doctor needs no Slack credentials (the Slack line is then `off`), never starts the offline mode, and never changes
the database: an SQLite file that is not there is reported, not created.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TextIO

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

from bot.app import slack_client
from bot.settings import Settings
from handlers.upload.views import human_size
from services.errors import (
    VendorAuthError,
    VendorDisabled,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
    VendorUnsupported,
)
from services.http import HttpPool, redact
from services.registry import display_name
from services.store import MIGRATIONS, SCHEMA_HEAD, Store
from services.vendors import Vendors

Status = Literal["ok", "off", "FAILED"]
#: Slack's answers to auth.test that mean the token itself is wrong, not the place it was sent to.
_TOKEN_REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
#: Words in a setting's name that mark its value secret: never printed, whatever a part answered.
_SECRET_WORDS = ("TOKEN", "SECRET", "KEY", "PASSWORD")


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


def _plural(count: int | None, noun: str) -> str:
    """`1 room`, `3 rooms`; a count the vendor did not give (or gave as something else) is said to be unknown."""
    if count is None:
        return f"an unknown number of {noun}s"
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
        return Finding("ok", f"{shown} reachable; schema at {version}, the newest")
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


# -- the vendors -----------------------------------------------------------------------------------------------

#: Each vendor's credentials, checked when it refuses them, and the setting of its address.
CREDENTIALS = {
    "mirrortab": ("MIRRORTAB_API_KEY",),
    "samesurf": ("SAMESURF_API_KEY", "SAMESURF_API_SECRET", "SAMESURF_JWT_ALG"),
    "mirotalk": ("MIROTALK_API_SECRET",),
    "coviu": ("COVIU_API_KEY", "COVIU_API_SECRET"),
    "mirrorace": ("MIRRORACE_API_KEY", "MIRRORACE_API_TOKEN"),
}
ADDRESSES = {vendor: f"{vendor.upper()}_URL" for vendor in CREDENTIALS}

Probe = Callable[[Vendors], Awaitable[Finding]]


def vendor_check(vendor: str, probe: Probe) -> Check:
    """A vendor's check: `off` while its credentials are incomplete, else its probe, whose typed vendor error
    becomes the failure with its fix."""

    async def check(setup: Setup) -> Finding:
        missing = setup.vendors.config.missing(vendor)
        if missing:
            return Finding("off", "not set up", f"set {_and(missing)} to turn it on")
        try:
            return await probe(setup.vendors)
        except VendorError as exc:
            return vendor_failed(setup.settings, vendor, exc)

    return check


def vendor_failed(settings: Settings, vendor: str, exc: VendorError) -> Finding:
    """What failed, in the vendor's words, and the fix its typed error points to."""
    detail = exc.message.rstrip(".")
    if exc.vendor not in detail:
        detail = f"{exc.vendor} answered: {detail}"
    address = ADDRESSES[vendor]
    at = f"{address} ({getattr(settings, address)})"
    if isinstance(exc, VendorAuthError):
        fix = f"check {_and(CREDENTIALS[vendor])}"
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


async def probe_mirrortab(vendors: Vendors) -> Finding:
    sessions = await vendors.mirrortab.list_sessions()
    return Finding("ok", f"API key accepted; {_plural(len(sessions), 'live session')}")


async def probe_samesurf(vendors: Vendors) -> Finding:
    _rooms, total = await vendors.samesurf.running_rooms(limit=1)
    return Finding("ok", f"API key and secret accepted; {_plural(total, 'running room')}")


async def probe_mirotalk(vendors: Vendors) -> Finding:
    stats = await vendors.mirotalk.stats()
    people = (
        "1 person"
        if stats.total_users == 1
        else f"{stats.total_users} people"
        if stats.total_users is not None
        else "an unknown number of people"
    )
    works = [f"API secret accepted; {_plural(stats.total_rooms, 'room')}, {people} in them"]
    works += await mirotalk_switches(vendors)
    return Finding("ok", "; ".join(works))


async def mirotalk_switches(vendors: Vendors) -> list[str]:
    """Which of its endpoints the MiroTalk server has switched on (DESIGN: "MiroTalk as servers run it") and
    whether presenter links can be made, one phrase each for the doctor's line. A switch that is off is no failure:
    Cohost works around it, and the phrase says what it costs and which server setting turns it on."""
    mirotalk = vendors.mirotalk
    switches = await mirotalk.switches()
    phrases = [
        "meetings listed" if switches.meetings else "meetings not listed (server: API_ALLOW_MEETINGS=true)",
        "ending on"
        if switches.meeting_end
        else "ending off: meetings end when everyone leaves (server: API_ALLOW_MEETING_END=true)",
    ]
    if not mirotalk.presenter_links_on:
        phrases.append("presenter links off (set MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD)")
    elif not switches.token:
        phrases.append("presenter links on; /meeting token off (server: API_ALLOW_TOKEN=true)")
    else:
        phrases.append("presenter links and tokens on")
    return phrases


async def probe_coviu(vendors: Vendors) -> Finding:
    coviu = vendors.coviu
    await coviu.tokens.access_token()  # the grant on its own: a refusal here is the key and secret
    try:
        await coviu.sessions_page(page_size=1)
    except VendorAuthError as exc:
        return Finding(
            "FAILED",
            f"token granted, but the sessions page was refused: {exc.message.rstrip('.')}",
            "give the API client of COVIU_API_KEY access to sessions in Coviu",
        )
    return Finding("ok", "token granted; sessions readable")


async def probe_mirrorace(vendors: Vendors) -> Finding:
    variables = await vendors.mirrorace.upload_variables()
    mirrors = variables.enabled_mirrors()
    if not mirrors:
        return Finding("FAILED", "credentials accepted, but no mirror is switched on", "switch one on in MirrorAce")
    limits = f"files up to {human_size(variables.max_file_size)}"
    return Finding("ok", f"credentials accepted; mirrors on: {', '.join(mirrors)}; {limits}")


PARTS: tuple[Part, ...] = (
    Part("Slack", check_slack, "SLACK_API_URL"),
    Part("Database", check_database, "DATABASE_URL"),
    Part(display_name("mirrortab"), vendor_check("mirrortab", probe_mirrortab), ADDRESSES["mirrortab"]),
    Part(display_name("samesurf"), vendor_check("samesurf", probe_samesurf), ADDRESSES["samesurf"]),
    Part(display_name("mirotalk"), vendor_check("mirotalk", probe_mirotalk), ADDRESSES["mirotalk"]),
    Part(display_name("coviu"), vendor_check("coviu", probe_coviu), ADDRESSES["coviu"]),
    Part(display_name("mirrorace"), vendor_check("mirrorace", probe_mirrorace), ADDRESSES["mirrorace"]),
)


# -- running them ------------------------------------------------------------------------------------------------


async def _bounded(part: Part, setup: Setup) -> Finding:
    limit = setup.settings.VENDOR_TIMEOUT_S
    try:
        async with asyncio.timeout(limit):
            return await part.check(setup)
    except TimeoutError:
        return Finding(
            "FAILED",
            f"no answer within {limit:g} s",
            f"check {part.address} and that it is up (VENDOR_TIMEOUT_S sets how long to wait)",
        )
    except Exception as exc:
        return Finding("FAILED", f"the check itself failed ({type(exc).__name__})", "run it again")


async def examine(settings: Settings, parts: Sequence[Part] = PARTS) -> list[tuple[str, Finding]]:
    """Every part's finding, checked all at once: the whole run takes about as long as the slowest part."""
    pool = HttpPool()
    # One call each, its answer as it came: a retry would only hide what failed behind a time limit.
    setup = Setup(settings, Vendors(replace(settings.vendors, retries=0), pool), pool)
    try:
        findings = await asyncio.gather(*(_bounded(part, setup) for part in parts))
    finally:
        await pool.close()
    return [(part.name, finding) for part, finding in zip(parts, findings, strict=True)]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret setting's value, the database's password included."""
    values = [
        str(getattr(settings, name))
        for name in type(settings).model_fields
        if any(word in name for word in _SECRET_WORDS) and getattr(settings, name)
    ]
    password = make_url(settings.DATABASE_URL).password
    return [*values, *([str(password)] if password else [])]


def report(results: Sequence[tuple[str, Finding]], secrets: Sequence[str]) -> list[str]:
    width = max(len(name) for name, _ in results)
    lines = []
    for name, finding in results:
        line = f"{name:<{width}}  {finding.status:<6}  {finding.detail}"
        if finding.fix:
            line += f" -> {finding.fix}"
        lines.append(line)
    configured = [finding for _, finding in results if finding.status != "off"]
    failed = sum(finding.status == "FAILED" for finding in configured)
    if failed:
        lines.append(
            f"{failed} of {_plural(len(configured), 'configured part')} FAILED: "
            "fix what the arrows say, then run `python -m bot doctor` again."
        )
    else:
        lines.append(f"All {_plural(len(configured), 'configured part')} ok.")
    # Longest first, so a secret that contains another is scrubbed whole.
    return [redact(line, sorted(secrets, key=len, reverse=True)) for line in lines]


def run_doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    results = asyncio.run(examine(settings))
    for line in report(results, secrets_of(settings)):
        print(line, file=out)
    return 1 if any(finding.status == "FAILED" for _, finding in results) else 0
