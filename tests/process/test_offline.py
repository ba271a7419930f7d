"""The offline mode as a person uses it: `python -m bot` with no Slack credentials, typed at its prompt."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sandbox.world import process_env


async def run_offline(lines: list[str], tmp_path: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=process_env({}),  # no Slack credentials: the offline mode
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await asyncio.wait_for(process.communicate("\n".join(lines).encode() + b"\n"), 90)
    assert process.returncode == 0, stdout.decode()
    return stdout.decode()


async def test_a_session_is_started_shown_as_a_card_and_ended_by_its_button(tmp_path: Path) -> None:
    out = await run_offline(["/cobrowse new https://example.com --name Demo", "1", "quit"], tmp_path)
    assert "== Demo ==" in out
    assert "[Join: http" in out  # the join link, shown as a link
    assert "[1] End" in out
    assert "Ended by @ann" in out


async def test_the_form_private_answers_and_another_person(tmp_path: Path) -> None:
    out = await run_offline(
        [
            "/cobrowse new",
            "samesurf",
            "https://example.com https://example.org",
            "From the form",
            "",
            "",
            "as bob",
            "/cobrowse list",
            "/cobrowse frobnicate",
            "quit",
        ],
        tmp_path,
    )
    assert "[form: New co-browsing session]" in out
    assert "== From the form ==" in out
    assert "leader link" in out  # the creator's private leader link
    assert "(now acting as bob)" in out
    assert "SameSurf: 1 live" in out
    assert "`frobnicate` is not a /cobrowse subcommand" in out


async def test_a_meeting_card_gives_each_person_their_own_link(tmp_path: Path) -> None:
    out = await run_offline(["/meeting new standup --name Standup", "as bob", "1", "/meeting list", "quit"], tmp_path)
    assert "host user `cohost`" in out  # the banner says how MiroTalk's simulator is set up
    assert "== Standup ==" in out
    assert "presenter link" in out  # ann's, privately
    assert "name=bob" in out  # bob's own link after clicking Get my link
    assert "MiroTalk: 0 live" in out


async def test_offline_mode_offers_upload(tmp_path: Path) -> None:
    out = await run_offline(
        ["/upload https://example.com/report.pdf --password pw-offline-1", "/upload info nope", "quit"], tmp_path
    )
    assert "== report.pdf ==" in out and "[Open on MirrorAce: http" in out and "password protected" in out
    assert "pw-offline-1" not in out.split("== report.pdf ==", 1)[1].split("cohost>", 1)[0]  # not on the card
    assert "`nope` · :grey_question: not found" in out
