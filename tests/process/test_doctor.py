"""`python -m bot doctor` as a new installer runs it: a real process against the stand-ins, one line per part, the
fix where something fails, exit 0 only when every configured part is ok, and never a secret in what it prints."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation

from sandbox.world import Sims, process_env, sqlite_url
from services.clock import SystemClock
from services.installations import Installations, TokenCipher
from services.store import SCHEMA_HEAD, Store
from tests.conftest import sandbox_variables

PARTS = ("Slack", "Database", "MirrorTab", "SameSurf", "MiroTalk", "Coviu", "MirrorAce")


@dataclass
class Run:
    status: int
    out: str
    seconds: float

    def line(self, part: str) -> str:
        (found,) = [line for line in self.out.splitlines() if line.split(" ", 1)[0] == part]
        return found

    def status_of(self, part: str) -> str:
        return self.line(part).split()[1]


def secrets_in(env: dict[str, str]) -> list[str]:
    return [value for name, value in env.items() if any(w in name for w in ("TOKEN", "SECRET", "KEY")) and value]


async def doctor(env: dict[str, str], cwd: Path) -> Run:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        cwd=cwd,
        env=process_env(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    run = Run(process.returncode, out.decode(), time.perf_counter() - started)
    for secret in secrets_in(env):
        assert secret not in run.out, "a secret was printed"
    return run


@pytest.fixture
async def migrated(tmp_path: Path) -> Path:
    database = tmp_path / "cohost.db"
    store = Store(sqlite_url(database))
    await store.migrate()
    await store.close()
    return database


async def test_a_right_setup_is_ok_part_by_part_and_exits_0(sims: Sims, migrated: Path, tmp_path: Path) -> None:
    run = await doctor(sandbox_variables(sims, migrated), tmp_path)
    assert run.status == 0, run.out
    assert [line.split()[:2] for line in run.out.splitlines()[: len(PARTS)]] == [[part, "ok"] for part in PARTS]
    assert run.out.splitlines()[-1] == "All 7 configured parts ok."
    assert "bot token accepted: @cohost in Sandbox (T0SANDBOX); HTTP mode" in run.line("Slack")
    assert f"schema at {SCHEMA_HEAD}, the newest" in run.line("Database")
    assert "token granted; sessions readable" in run.line("Coviu")
    assert "mirrors on:" in run.line("MirrorAce")
    # One harmless call each: nothing was created anywhere.
    assert not sims.mirrortab.sessions and not sims.coviu.sessions and not sims.slack.posted()
    assert [call.path for call in sims.slack.calls] == ["/api/auth.test"]


async def test_a_wrong_secret_names_its_fix_without_printing_it_and_exits_1(
    sims: Sims, migrated: Path, tmp_path: Path
) -> None:
    env = sandbox_variables(sims, migrated) | {"COVIU_API_SECRET": "wrong-secret-that-must-not-show"}
    run = await doctor(env, tmp_path)
    assert run.status == 1, run.out
    assert run.status_of("Coviu") == "FAILED"
    assert "Coviu answered: invalid_client -> check COVIU_API_KEY and COVIU_API_SECRET" in run.line("Coviu")
    assert all(run.status_of(part) == "ok" for part in PARTS if part != "Coviu")
    assert run.out.splitlines()[-1].startswith("1 of 7 configured parts FAILED")


async def test_a_wrong_slack_token_is_named(sims: Sims, migrated: Path, tmp_path: Path) -> None:
    run = await doctor(sandbox_variables(sims, migrated) | {"SLACK_BOT_TOKEN": "xoxb-not-the-right-one"}, tmp_path)
    assert run.status == 1
    assert "Slack refused the bot token (invalid_auth) -> check SLACK_BOT_TOKEN" in run.line("Slack")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where nothing listens, held for the test so nothing else can start listening there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_a_vendor_unreachable_or_silent_fails_alone_and_quickly(
    sims: Sims, migrated: Path, tmp_path: Path, closed_port: int
) -> None:
    nowhere = f"http://127.0.0.1:{closed_port}"
    sims.mirotalk.faults.set_latency("*", 30)  # answers after half a minute: past any patience
    run = await doctor(
        sandbox_variables(sims, migrated) | {"MIRRORTAB_URL": nowhere, "VENDOR_TIMEOUT_S": "1"}, tmp_path
    )
    assert run.status == 1
    assert f"MirrorTab could not be reached -> check MIRRORTAB_URL ({nowhere}) and that MirrorTab is up" in (
        run.line("MirrorTab")
    )
    assert run.status_of("MiroTalk") == "FAILED" and "MIROTALK_URL" in run.line("MiroTalk")
    assert all(run.status_of(part) == "ok" for part in PARTS if part not in ("MirrorTab", "MiroTalk"))
    # Every part is checked at once, each within VENDOR_TIMEOUT_S: the silent one costs a second, not thirty.
    assert run.seconds < 10, run.seconds


async def test_a_database_not_migrated_says_to_migrate_and_is_left_as_it_was(
    sims: Sims, tmp_path: Path, closed_port: int
) -> None:
    absent = tmp_path / "absent.db"
    run = await doctor(sandbox_variables(sims, absent), tmp_path)
    assert run.status == 1
    assert "no database file there yet -> run `python -m bot migrate` to create it" in run.line("Database")
    assert not absent.exists()

    behind = tmp_path / "behind.db"
    store = Store(sqlite_url(behind))
    await store.migrate()
    async with store.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    await store.close()
    run = await doctor(sandbox_variables(sims, behind), tmp_path)
    assert run.status == 1
    assert f"schema at 0002, behind the newest ({SCHEMA_HEAD}) -> run `python -m bot migrate`" in run.line("Database")

    nowhere = f"postgresql+asyncpg://cohost:db-password-0123@127.0.0.1:{closed_port}/cohost"
    run = await doctor(sandbox_variables(sims, behind) | {"DATABASE_URL": nowhere}, tmp_path)
    assert run.status == 1
    assert "cohost:***@127.0.0.1" in run.line("Database") and "Connect call failed" in run.line("Database")
    assert "-> check DATABASE_URL and that the database server is up" in run.line("Database")
    assert "db-password-0123" not in run.out


async def test_without_slack_credentials_slack_is_off_and_no_offline_mode_starts(
    sims: Sims, migrated: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in sandbox_variables(sims, migrated).items() if not k.startswith(("SLACK_", "MIRRORACE_"))}
    run = await doctor(env, tmp_path)
    assert run.status == 0, run.out
    assert run.status_of("Slack") == "off" and "SLACK_BOT_TOKEN" in run.line("Slack")
    assert "off     not set up -> set MIRRORACE_API_KEY and MIRRORACE_API_TOKEN to turn it on" in run.line("MirrorAce")
    assert run.out.splitlines()[-1] == "All 5 configured parts ok."
    assert "cohost>" not in run.out  # the offline prompt


async def test_a_mirotalk_server_as_it_ships_is_ok_with_what_is_off_named(
    sims: Sims, migrated: Path, tmp_path: Path
) -> None:
    # Out of the box: meetings, meetingEnd and token switched off, and Cohost given no host user.
    run = await doctor(sandbox_variables(sims, migrated), tmp_path)
    line = run.line("MiroTalk")
    assert run.status == 0 and run.status_of("MiroTalk") == "ok", run.out
    assert "ending off" in line and "API_ALLOW_MEETING_END=true" in line
    assert "meetings not listed" in line and "API_ALLOW_MEETINGS=true" in line
    assert "presenter links off (set MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD)" in line


async def test_a_mirotalk_host_user_turns_presenter_links_on_and_tokens_wait_for_their_switch(
    sims: Sims, migrated: Path, tmp_path: Path
) -> None:
    username, password = "cohost-host", "a-host-password-7f3c"
    sims.mirotalk.host_users[username] = password  # configured on the server as its admin would
    env = {**sandbox_variables(sims, migrated), "MIROTALK_HOST_USERNAME": username, "MIROTALK_HOST_PASSWORD": password}
    run = await doctor(env, tmp_path)
    assert run.status == 0 and "presenter links on; /meeting token off (server: API_ALLOW_TOKEN=true)" in run.line(
        "MiroTalk"
    ), run.out
    assert password not in run.out


async def test_in_oauth_mode_the_database_line_says_whether_the_secret_key_opens_the_stored_tokens(
    sims: Sims, migrated: Path, tmp_path: Path
) -> None:
    sims.slack.oauth_app("1111.2222", "sandbox-client-secret", ["https://cohost.example.com/slack/oauth_redirect"])
    sealed_with = Fernet.generate_key().decode()
    store = Store(sqlite_url(migrated))
    installed = Installation(team_id="T1ACME", bot_token="xoxb-acme-token", team_name="Acme", user_id="U1ANN")
    await Installations(store, TokenCipher(sealed_with), SystemClock()).save(installed)
    await store.close()
    oauth = sandbox_variables(sims, migrated) | sims.slack.oauth_variables("1111.2222", "sandbox-client-secret")

    run = await doctor(oauth | {"COHOST_SECRET_KEY": sealed_with}, tmp_path)
    assert run.status == 0, run.out
    assert "the newest; 1 workspace installed" in run.line("Database")

    run = await doctor(oauth | {"COHOST_SECRET_KEY": Fernet.generate_key().decode()}, tmp_path)
    assert run.status == 1, run.out
    assert run.status_of("Database") == "FAILED" and run.status_of("Slack") == "ok"
    assert (
        "COHOST_SECRET_KEY does not open the tokens in the store: it is not the key they were sealed with -> "
        "set COHOST_SECRET_KEY to the key they were sealed with (or each workspace must install Cohost again)"
    ) in run.line("Database")
