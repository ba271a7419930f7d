"""A digest fan-out to many channels with Slack answering 429 to one request in five, beside the same fan-out
with no 429, in the same run.

Each round subscribes `--channels` channels (the three families in turn, all due now) in a fresh database, then
two schedulers (two runtimes on that database, each with its own Web API client, as two processes would be) call
`send_due_digests` every half second, as the scheduler does, until every channel has its digest. The Slack
stand-in answers 429 (`Retry-After: 1`) to every fifth chat.postMessage in the faulty rounds. Reported per target:
digests delivered (each channel's, once), duplicates, total time, posts per second, 429s seen; medians of the
rounds. Targets: nothing lost, nothing doubled.

    .venv/bin/python benchmarks/digest_fanout.py [--channels 200] [--rounds 3] [--every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Runtime, build_runtime  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from handlers.digest.sending import send_due_digests  # noqa: E402
from sandbox.coviu import CoviuSim  # noqa: E402
from sandbox.mirotalk import MiroTalkSim  # noqa: E402
from sandbox.mirrorace import MirrorAceSim  # noqa: E402
from sandbox.mirrortab import MirrorTabSim  # noqa: E402
from sandbox.samesurf import SameSurfSim  # noqa: E402
from sandbox.slack import SlackStandIn  # noqa: E402
from sandbox.world import Sims, sqlite_url  # noqa: E402
from services.store import NewDigest  # noqa: E402

FAMILIES = ("cobrowse", "meeting", "upload")
SCHEDULERS = 2
TICK_S = 0.5
POST = "/api/chat.postMessage"


@dataclass
class RoundResult:
    channels: int
    delivered: int
    duplicates: int
    seconds: float
    posts: int
    rate_limited: int

    @property
    def posts_per_s(self) -> float:
        return self.posts / self.seconds


def settings_for(sims: Sims, db: Path) -> Settings:
    return load_settings(_env_file=None, **sims.variables(), DATABASE_URL=sqlite_url(db))


def digests_per_channel(slack: SlackStandIn) -> Counter[str]:
    return Counter(p["channel"] for p in slack.posted() if " digest · " in str(p.get("text", "")))


async def fan_out(sims: Sims, channels: int, every: int | None, timeout_s: float) -> RoundResult:
    sims.slack.reset()
    if every:
        sims.slack.faults.every(POST, "429", every)
    workdir = Path(tempfile.mkdtemp(prefix="cohost-digest-bench-"))
    settings = settings_for(sims, workdir / "bench.db")
    runtimes = [build_runtime(settings, role="web") for _ in range(SCHEDULERS)]
    for runtime in runtimes:  # one after the other: the first migrates
        await runtime.start()
    now = datetime.now(UTC)
    store = runtimes[0].store
    for n in range(channels):
        await store.set_digest(
            NewDigest("T0BENCH", f"C{n:06d}", FAMILIES[n % 3], "daily", None, "09:00", "UTC", "U0ANN", now)
        )

    async def scheduler(runtime: Runtime, deadline: float) -> None:
        while len(digests_per_channel(sims.slack)) < channels and time.perf_counter() < deadline:
            await send_due_digests(runtime.deps)
            await asyncio.sleep(TICK_S)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(scheduler(runtime, started + timeout_s) for runtime in runtimes))
        seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)  # room for a late double to show
    finally:
        for runtime in runtimes:
            await runtime.stop()
    per_channel = digests_per_channel(sims.slack)
    posts = sum(per_channel.values())
    return RoundResult(
        channels=channels,
        delivered=len(per_channel),
        duplicates=sum(count - 1 for count in per_channel.values()),
        seconds=seconds,
        posts=posts,
        rate_limited=len(sims.slack.calls_to(POST)) - len(sims.slack.posted()),
    )


def line(name: str, r: RoundResult) -> str:
    return (
        f"{name:<22}{r.delivered:>6}/{r.channels:<5}{r.duplicates:>6}{r.seconds:>9.2f}s"
        f"{r.posts_per_s:>9.1f}{r.rate_limited:>7}"
    )


def median_result(rounds: list[RoundResult]) -> RoundResult:
    return RoundResult(
        channels=rounds[0].channels,
        delivered=min(r.delivered for r in rounds),  # the worst round: one lost digest is a failure
        duplicates=max(r.duplicates for r in rounds),
        seconds=statistics.median(r.seconds for r in rounds),
        posts=round(statistics.median(r.posts for r in rounds)),
        rate_limited=round(statistics.median(r.rate_limited for r in rounds)),
    )


async def run(channels: int, rounds: int, every: int, timeout_s: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    # MiroTalk with its live meetings listed (a server as shipped has `meetings` off), as before.
    mirotalk = MiroTalkSim(switched_on=("meetings",))
    sims = Sims(SlackStandIn(), MirrorTabSim(), SameSurfSim(), mirotalk, CoviuSim(), MirrorAceSim())
    await sims.start()
    sims.mirotalk.add_peer("standup", "Patient")
    sims.samesurf.seed_analytics_room("4001", "Onboarding", datetime.now(UTC).isoformat(), 1800)
    targets = {"no 429": None, f"429 one in {every}": every}
    results: dict[str, list[RoundResult]] = {name: [] for name in targets}
    try:
        await fan_out(sims, 10, None, timeout_s)  # warm-up: imports, first connections
        for round_no in range(1, rounds + 1):
            for name, nth in targets.items():
                result = await fan_out(sims, channels, nth, timeout_s)
                results[name].append(result)
                print(f"round {round_no} {line(name, result)}", flush=True)
    finally:
        await sims.stop()
    print(
        f"\n{channels} channels (families in turn), {SCHEDULERS} schedulers ticking every {TICK_S:g} s, "
        f"Slack's pace one message a second per channel; medians of {rounds} rounds (worst round for delivered "
        "and duplicates)"
    )
    print(f"{'target':<22}{'delivered':>12}{'dupes':>6}{'time':>10}{'posts/s':>9}{'429s':>7}")
    summary = {name: median_result(rs) for name, rs in results.items()}
    for name, r in summary.items():
        print(line(name, r))
    faulty, clean = summary[f"429 one in {every}"], summary["no 429"]
    print(f"\nfan-out time with 429s / without: {faulty.seconds / clean.seconds:.2f}")
    checks = {
        f"nothing lost ({faulty.delivered}/{channels} delivered)": faulty.delivered == channels,
        f"nothing doubled ({faulty.duplicates} duplicates)": faulty.duplicates == 0 and clean.duplicates == 0,
        f"429s were met ({faulty.rate_limited} seen)": faulty.rate_limited > 0,
    }
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=int, default=5, help="Slack answers 429 to every Nth chat.postMessage")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up a round after this many seconds")
    args = parser.parse_args()
    asyncio.run(run(args.channels, args.rounds, args.every, args.timeout))
