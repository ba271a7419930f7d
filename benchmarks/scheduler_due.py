"""How late, and how often, the scheduler posts what falls due: many cards expiring over some minutes of real time.

N cards (MirrorTab, spread over 100 channels) expire evenly over the window; each has a warning
`EXPIRY_WARNING_MINUTES` before its expiry (a reply in its thread) and its expiry (the card edited to "Expired").
The scheduler runs as its own process (`python -m bot scheduler`) on the store; the Slack stand-in here notes when
each post arrives. Reported per database: due-to-posted delay p50/p99/max, posts missing, posts doubled, and the
scheduler's peak resident memory. The floor to compare with, measured in the same run: an ideal timer that wakes
at each due time and posts at once through slack_sdk to the same stand-in (so the difference is what polling the
store every second, claiming and rendering cost; polling alone accounts for half a second on average).

    .venv/bin/python benchmarks/scheduler_due.py [--cards 10000] [--minutes 10] [--database postgresql|sqlite|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from sandbox.server import wait_until_healthy  # noqa: E402
from sandbox.slack import SlackStandIn  # noqa: E402
from sandbox.world import process_env, variables  # noqa: E402
from services.store import Card, CardState, Job, JobKind, NewCard, Store  # noqa: E402
from tests.pg import start_postgres  # noqa: E402
from tests.prism import free_port  # noqa: E402

LEAD = timedelta(minutes=1)
CHANNELS = 100


class TimedSlack(SlackStandIn):
    """The stand-in, noting when each warning and each card edit arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str, str]] = []  # (time, kind, card ts)

    def _chat_postMessage(self, payload: dict[str, Any]) -> dict[str, Any]:
        if payload.get("thread_ts"):
            self.arrivals.append((time.time(), JobKind.WARN.value, str(payload["thread_ts"])))
        return super()._chat_postMessage(payload)

    def _chat_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.arrivals.append((time.time(), JobKind.EXPIRE.value, str(payload.get("ts"))))
        return super()._chat_update(payload)


@dataclass
class Result:
    database: str
    delays: list[float]
    missing: int
    doubled: int
    peak_rss_mb: float
    seconds: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def seed(url: str, slack: SlackStandIn, cards: int, window: timedelta) -> dict[tuple[str, str], float]:
    """The cards and their jobs, straight into the store; returns (kind, card ts) -> due time (epoch s)."""
    store = Store(url)
    await store.migrate()
    now = datetime.now(UTC)
    first = now + LEAD + timedelta(seconds=20)  # the first warning 20 s from now
    due: dict[tuple[str, str], float] = {}
    seeded: list[tuple[NewCard, datetime]] = []  # each card, and when it expires
    for i in range(cards):
        expires = first + window * (i / max(cards - 1, 1))
        ts = f"{1_800_000_000 + i}.000100"
        channel = f"C{i % CHANNELS:05d}"
        slack.messages[(channel, ts)] = {"type": "message", "ts": ts, "text": f"card {i}"}
        card = NewCard(
            team_id="T0BENCH",
            channel_id=channel,
            family="cobrowse",
            vendor="mirrortab",
            vendor_id=f"bench-{i}",
            name=f"Session {i}",
            creator_id="U0ANN",
            created_at=now,
            ts=ts,
            expires_at=expires,
        )
        seeded.append((card, expires))
        due[(JobKind.WARN.value, ts)] = (expires - LEAD).timestamp()
        due[(JobKind.EXPIRE.value, ts)] = expires.timestamp()
    async with store.engine.begin() as conn:
        for start in range(0, cards, 1000):
            batch = seeded[start : start + 1000]
            # As the store adds a card (Cards.add_card), a thousand at a time.
            rows = [{**card.__dict__, "state": CardState.ACTIVE.value} for card, _ in batch]
            ids = (await conn.execute(insert(Card).returning(Card.id), rows)).scalars().all()
            jobs = [
                {"team_id": card.team_id, "card_id": card_id, "kind": kind.value, "due_at": due_at, "attempts": 0}
                for card_id, (card, expires) in zip(ids, batch, strict=True)
                for kind, due_at in ((JobKind.WARN, expires - LEAD), (JobKind.EXPIRE, expires))
            ]
            await conn.execute(insert(Job), jobs)
    await store.close()
    return due


def rss_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def floor(samples: int, window_s: float) -> list[float]:
    """Due-to-posted delays of an ideal timer: a task per post, asleep until its due time, then one post."""
    from slack_sdk.web.async_client import AsyncWebClient

    slack = TimedSlack()
    await slack.start()
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.url + "/api/")
    start = time.time() + 2
    dues = [start + window_s * i / max(samples - 1, 1) for i in range(samples)]

    async def post(i: int, due_at: float) -> None:
        await asyncio.sleep(max(0.0, due_at - time.time()))
        await client.chat_postMessage(channel=f"C{i % CHANNELS:05d}", thread_ts=f"{i}.000100", text="warning")

    await asyncio.gather(*(post(i, d) for i, d in enumerate(dues)))
    await slack.stop()
    arrived = {ts: at for at, _, ts in slack.arrivals}
    return [arrived[f"{i}.000100"] - d for i, d in enumerate(dues) if f"{i}.000100" in arrived]


async def one_run(database: str, url: str, cards: int, window: timedelta) -> Result:
    slack = TimedSlack()
    await slack.start()
    due = await seed(url, slack, cards, window)
    port = free_port()
    env = process_env(
        {
            **variables(slack),
            "PORT": str(port),
            "DATABASE_URL": url,
            "EXPIRY_WARNING_MINUTES": str(int(LEAD.total_seconds() // 60)),
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "scheduler", cwd=tempfile.mkdtemp(), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    started = time.time()
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until_healthy(http, f"http://127.0.0.1:{port}")
        with contextlib.suppress(AssertionError):  # a timeout: what is missing is counted below
            await slack.wait_for(lambda: len(slack.arrivals) >= len(due), max(due.values()) + 30 - time.time())
        await asyncio.sleep(3)  # room for doubles to show
        peak = rss_mb(process.pid, "VmHWM")
    finally:
        process.terminate()
        await process.wait()
        await slack.stop()
    counts = Counter((kind, ts) for _, kind, ts in slack.arrivals)
    first_arrival: dict[tuple[str, str], float] = {}
    for at, kind, ts in slack.arrivals:
        first_arrival.setdefault((kind, ts), at)
    delays = [first_arrival[key] - due_at for key, due_at in due.items() if key in first_arrival]
    return Result(
        database=database,
        delays=delays,
        missing=sum(1 for key in due if key not in first_arrival),
        doubled=sum(count - 1 for count in counts.values() if count > 1),
        peak_rss_mb=peak,
        seconds=time.time() - started,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0, help="the window the expiries are spread over")
    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="postgresql")
    args = parser.parse_args()
    window = timedelta(minutes=args.minutes)
    ideal = await floor(samples=min(args.cards, 2000), window_s=30)
    results: list[Result] = []
    server = start_postgres()
    postgres = next(server) if args.database in ("postgresql", "both") else None
    try:
        if postgres is not None:
            results.append(await one_run("postgresql", postgres.create_database(), args.cards, window))
        if args.database in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/cohost.db"
            results.append(await one_run("sqlite", url, args.cards, window))
    finally:
        if postgres is not None:
            server.close()
    print(f"\n{args.cards} cards, {2 * args.cards} posts due over {args.minutes:g} min (warning + expiry each)")
    columns = ("p50 s", "p99 s", "max s", "mean s")
    print(
        f"{'database':<11} " + " ".join(f"{c:>7}" for c in columns) + f" {'missing':>8} {'doubled':>8} {'peak RSS':>9}"
    )
    print(
        f"{'ideal timer':<11} {percentile(ideal, 50):7.2f} {percentile(ideal, 99):7.2f} {max(ideal):7.2f} "
        f"{statistics.fmean(ideal):7.2f} {'':>8} {'':>8} {'':>9}   (the floor, {len(ideal)} posts)"
    )
    for r in results:
        print(
            f"{r.database:<11} {percentile(r.delays, 50):7.2f} {percentile(r.delays, 99):7.2f} "
            f"{max(r.delays, default=float('nan')):7.2f} {statistics.fmean(r.delays or [float('nan')]):7.2f} "
            f"{r.missing:>8} {r.doubled:>8} {r.peak_rss_mb:7.0f} MB"
        )
    print("Targets: p99 under 5 s, nothing missing, nothing doubled. The poll interval alone accounts for ~0.5 s mean.")


if __name__ == "__main__":
    asyncio.run(main())
