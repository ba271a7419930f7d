"""Digests due at once in many installed workspaces (OAuth mode), the Slack stand-in keeping Slack's pace for
chat.postMessage per workspace and answering 429 beyond it, beside the floor that pace sets, in the same run.

`--workspaces` workspaces install Cohost through its pages (install page, Slack's authorize page, "Allow"), each
with `--channels` channels subscribed to the digests of `--families` families, all due now. Two schedulers (two
runtimes on one database, each with its own Web API clients, as two processes would be) call `send_due_digests`
every half second until every digest is out. Reported: digests delivered (each once), duplicates, calls made with
one workspace's token about another's channel (Slack refuses those), 429s met, total time, and the ideal: the
floor Slack's pace sets on the same posts (a channel's posts one a second after its burst; a workspace's at its
workspace-wide rate after its burst).

    .venv/bin/python benchmarks/digest_workspaces.py [--workspaces 100] [--channels 10] [--families 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Runtime, build_runtime  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers.digest.sending import send_due_digests  # noqa: E402
from sandbox.coviu import CoviuSim  # noqa: E402
from sandbox.installer import cookie_keeping_client, install  # noqa: E402
from sandbox.mirotalk import MiroTalkSim  # noqa: E402
from sandbox.mirrorace import MirrorAceSim  # noqa: E402
from sandbox.mirrortab import MirrorTabSim  # noqa: E402
from sandbox.samesurf import SameSurfSim  # noqa: E402
from sandbox.slack import Pace, SlackStandIn  # noqa: E402
from sandbox.world import Sims, sqlite_url, variables  # noqa: E402
from services.store import NewDigest  # noqa: E402

FAMILIES = ("cobrowse", "meeting", "upload")
SCHEDULERS = 2
TICK_S = 0.5
CLIENT_ID, CLIENT_SECRET = "1111.2222", "bench-client-secret"


def ideal_seconds(pace: Pace, channels: int, per_channel: int) -> float:
    """The floor Slack's pace puts on one workspace's posts (every workspace's run side by side)."""
    channel_floor = max(0.0, per_channel - pace.channel_burst) / pace.per_channel_per_s
    posts = channels * per_channel
    workspace_floor = max(0.0, posts - pace.workspace_burst) / (pace.workspace_per_min / 60)
    return max(channel_floor, workspace_floor)


async def serve(runtime: Runtime) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(runtime.web, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def run(workspaces: int, channels: int, families: int, timeout_s: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    mirotalk = MiroTalkSim(switched_on=("meetings",))
    sims = Sims(SlackStandIn(), MirrorTabSim(), SameSurfSim(), mirotalk, CoviuSim(), MirrorAceSim())
    await sims.start()
    slack = sims.slack
    teams = [f"T{n:04d}BENCH" for n in range(workspaces)]
    for team in teams:
        slack.add_workspace(team, f"Bench {team}")
        for c in range(channels):
            slack.add_channel(f"C{team[1:5]}{c:03d}", team)  # each workspace's own channels
    workdir = Path(tempfile.mkdtemp(prefix="cohost-digest-workspaces-"))
    # MirrorTab, MiroTalk and MirrorAce: one vendor a family, so each digest asks one.
    wiring = variables(slack, sims.mirrortab, sims.mirotalk, sims.mirrorace) | slack.oauth_variables(
        CLIENT_ID, CLIENT_SECRET
    )
    settings = load_settings(
        _env_file=None,
        **wiring,
        COHOST_SECRET_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=sqlite_url(workdir / "bench.db"),
    )
    runtimes = [build_runtime(settings, role="web") for _ in range(SCHEDULERS)]
    runner, url = await serve(runtimes[0])  # the first also serves the install pages
    for runtime in runtimes[1:]:
        await runtime.start()
    slack.oauth_app(CLIENT_ID, CLIENT_SECRET, [url + "/slack/oauth_redirect"], events_url=url + "/slack/events")
    try:
        started = time.perf_counter()
        async with cookie_keeping_client(url) as browser:
            for team in teams:
                done = await install(browser, url, slack.url, team)
                assert done.status == 200, done.page
        print(f"{workspaces} workspaces installed through the pages in {time.perf_counter() - started:.1f} s")

        now = datetime.now(UTC)
        store = runtimes[0].store
        for team in teams:
            for c in range(channels):
                channel = f"C{team[1:5]}{c:03d}"
                for family in FAMILIES[:families]:
                    await store.set_digest(NewDigest(team, channel, family, "daily", None, "09:00", "UTC", "U0", now))
        expected = workspaces * channels * families
        pace = Pace(channel_burst=1)  # strict: a channel's second post waits its second
        slack.reset()
        slack.enforce_pace(pace)

        def delivered() -> Counter[tuple[str, str]]:
            return Counter(
                (str(p["channel"]), str(p.get("text", "")).split(" digest · ")[0])
                for p in slack.posted()
                if " digest · " in str(p.get("text", ""))
            )

        async def scheduler(runtime: Runtime, deadline: float) -> None:
            while len(delivered()) < expected and time.perf_counter() < deadline:
                await send_due_digests(runtime.deps)
                await asyncio.sleep(TICK_S)

        started = time.perf_counter()
        await asyncio.gather(*(scheduler(runtime, started + timeout_s) for runtime in runtimes))
        seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)  # room for a late double to show
    finally:
        await runner.cleanup()
        for runtime in runtimes[1:]:
            await runtime.stop()
        await sims.stop()

    per_digest = delivered()
    duplicates = sum(count - 1 for count in per_digest.values())
    rate_limited = len(slack.calls_to("/api/chat.postMessage")) - len(slack.posted())
    ideal = ideal_seconds(pace, channels, families)
    print(
        f"\n{workspaces} workspaces × {channels} channels × {families} families = {expected} digests due at once, "
        f"{SCHEDULERS} schedulers; Slack's pace per workspace: {pace.per_channel_per_s:g}/s per channel (burst "
        f"{pace.channel_burst:g}), {pace.workspace_per_min:g}/min workspace-wide (burst {pace.workspace_burst:g})"
    )
    wrong = len(slack.wrong_token_calls)
    print(f"delivered {len(per_digest)}/{expected}, duplicates {duplicates}, wrong-token calls {wrong}")
    print(f"429s met {rate_limited}")
    print(f"total {seconds:.2f} s, ideal (the pace's floor) {ideal:.2f} s, {len(per_digest) / seconds:.0f} digests/s")
    checks = {
        f"all delivered ({len(per_digest)}/{expected})": len(per_digest) == expected,
        f"none doubled ({duplicates})": duplicates == 0,
        f"no call with another workspace's token ({len(slack.wrong_token_calls)})": not slack.wrong_token_calls,
    }
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--families", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    args = parser.parse_args()
    asyncio.run(run(args.workspaces, args.channels, args.families, args.timeout))
