"""`python -m bot` as a real process: the configuration contract, and HTTP mode serving Slack end to end."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO

import aiohttp
import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation

from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.server import wait_until_healthy
from sandbox.slack import SlackStandIn
from sandbox.world import process_env, sqlite_url, variables
from services.clock import SystemClock
from services.installations import Installations, TokenCipher
from services.store import Store
from tests.prism import free_port


async def run_bot(
    env: dict[str, str],
    cwd: Path,
    *,
    output: int | IO[bytes] = asyncio.subprocess.PIPE,
    preexec_fn: Callable[[], None] | None = None,
    role: str | None = None,
) -> asyncio.subprocess.Process:
    """`python -m bot [role]`, its stdout and stderr both to `output`; `preexec_fn` runs in the child before it
    starts."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *([role] if role else []),
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        preexec_fn=preexec_fn,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"PORT": "abc"}, "cohost: PORT: Input should be a valid integer"),
        (
            {"EXPIRY_WARNING_MINUTES": "-1"},
            "cohost: EXPIRY_WARNING_MINUTES: Input should be greater than or equal to 0",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "cohost: SLACK_SIGNING_SECRET is required in HTTP mode"),
        ({"SLACK_BOT_TOKEN": "bad", "SLACK_SIGNING_SECRET": "s"}, "cohost: SLACK_BOT_TOKEN must be a bot token"),
        ({"MIRRORTAB_URL": "api.mirrortab.com"}, "cohost: MIRRORTAB_URL: MIRRORTAB_URL must be an http(s) URL"),
        ({"SAMESURF_JWT_ALG": "RS256"}, "cohost: SAMESURF_JWT_ALG: Input should be"),
        ({"DATABASE_URL": "not a url"}, "cohost: DATABASE_URL: DATABASE_URL is not an SQLAlchemy URL"),
        (
            {"COBROWSE_PROVIDER": "samesurf"},
            "cohost: COBROWSE_PROVIDER is samesurf, but that vendor has no credentials",
        ),
        (
            {"MEETING_PROVIDER": "coviu", "COVIU_API_KEY": "k"},
            "cohost: MEETING_PROVIDER is coviu, but that vendor has no credentials",
        ),
        ({"MIROTALK_URL": "meet.example.com"}, "cohost: MIROTALK_URL: MIROTALK_URL must be an http(s) URL"),
        (
            {"MIROTALK_HOST_USERNAME": "cohost-host"},
            "cohost: MIROTALK_HOST_PASSWORD is required with MIROTALK_HOST_USERNAME",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": " "},
            "cohost: SLACK_SIGNING_SECRET: is only whitespace; set it, or leave it empty",
        ),
        ({"SLACK_APP_TOKEN": "\t"}, "cohost: SLACK_APP_TOKEN: is only whitespace"),
        ({"MIRRORTAB_API_KEY": " mt-key "}, "cohost: MIRRORTAB_API_KEY: has whitespace around it"),
    ],
)
async def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    process = await run_bot(process_env(env), tmp_path)
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(line), lines[0]


async def test_settings_come_from_a_dot_env_file_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=eighty\n")
    process = await run_bot(process_env({}), tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert stderr.decode().startswith("cohost: PORT:")


@pytest.fixture
async def process_sims() -> AsyncIterator[tuple[SlackStandIn, MirrorTabSim, SameSurfSim]]:
    sims = (SlackStandIn(), MirrorTabSim(), SameSurfSim())
    for sim in sims:
        await sim.start()
    yield sims
    for sim in sims:
        await sim.stop()


async def test_http_mode_serves_a_command_end_to_end(
    tmp_path: Path, process_sims: tuple[SlackStandIn, MirrorTabSim, SameSurfSim]
) -> None:
    slack, mirrortab, _samesurf = process_sims
    port = free_port()
    env = process_env(
        {
            **variables(slack, mirrortab),
            "PORT": str(port),
            "SLACK_API_URL": slack.url + "/api",  # no trailing slash: the bot must not lose or double it
            "MIRRORTAB_URL": mirrortab.url + "/",
            "DATABASE_URL": sqlite_url(tmp_path / "cohost.db"),
        }
    )
    process = await run_bot(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, base)
            status, _, _seconds = await slack.send(
                http, base + "/slack/events", slack.slash_command("/cobrowse", "new https://a.example")
            )
            assert status == 200
            (posted,) = await slack.wait_for_calls("chat.postMessage")
            assert posted["channel"] == "C0GENERAL"
            assert len(mirrortab.sessions) == 1
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_a_secret_key_that_does_not_open_the_stored_tokens_stops_start_up_naming_it(
    tmp_path: Path, process_sims: tuple[SlackStandIn, MirrorTabSim, SameSurfSim]
) -> None:
    slack, mirrortab, _samesurf = process_sims
    database = sqlite_url(tmp_path / "cohost.db")
    store = Store(database)
    await store.migrate()
    sealed_with = Fernet.generate_key().decode()
    installed = Installation(team_id="T1ACME", bot_token="xoxb-acme-token", team_name="Acme", user_id="U1ANN")
    await Installations(store, TokenCipher(sealed_with), SystemClock()).save(installed)
    await store.close()
    other_key = Fernet.generate_key().decode()  # a new key, as a redeploy that lost the old one would set
    env = {
        **variables(slack, mirrortab),
        **slack.oauth_variables("1111.2222", "sandbox-client-secret"),
        "PORT": str(free_port()),
        "DATABASE_URL": database,
        "COHOST_SECRET_KEY": other_key,
    }
    process = await run_bot(process_env(env), tmp_path)
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    said = stderr.decode()
    assert said.strip().splitlines()[-1] == (
        "cohost: COHOST_SECRET_KEY does not open the tokens in the store: it is not the key they were sealed with; "
        "set COHOST_SECRET_KEY to the key they were sealed with (or each workspace must install Cohost again)"
    ), said
    assert "Traceback" not in said and other_key not in said and sealed_with not in said
    assert "WARNING" not in said  # nor Bolt's misleading word on the token its own client carries
