"""How much memory and how much time Cohost needs to mirror a large Slack file to MirrorAce, beside curl doing the
same transfer over the same loopback in the same run.

The Slack stand-in (serving a file of any size as a stream) and the MirrorAce simulator (API host plus upload host,
keeping only a running sha256) run in this process. The bot runs as its own process (`python -m bot web`) and is
sent the "Mirror to MirrorAce" shortcut: it downloads the file from the stand-in with its bot token and streams it
to the upload host as MirrorAce asks: a file up to its `max_chunk_size` (99,999,995 bytes, the doc's figure, unless
`--max-chunk-size` says otherwise) in one request, a larger one in Cohost's own 8 MiB chunks. For each size: the
bot's peak resident memory during the upload (VmHWM, reset just before it starts, so start-up does not count), its
resident memory just before, and the throughput from the shortcut to the card. The ceiling: curl downloading the
same file from the stand-in and piping it into one multipart POST to the same upload host (its chunk limit lifted
for that run). The POST streams its body (`-T -`, the multipart framing written around the download):
`curl -F 'files[]=@-'` reads all of stdin into memory before sending anything (and curl 7.88 refuses to at 1 GiB),
which would make a slower, serial baseline. Every transfer's sha256 at the simulator is checked against the
source. Medians of the rounds.

    .venv/bin/python benchmarks/mirror_upload.py [--rounds 3] [--max-chunk-size 99999995] [--sizes-mib 90,100,1024]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.mirrorace import MirrorAceSim  # noqa: E402
from sandbox.server import wait_until_healthy  # noqa: E402
from sandbox.slack import SlackStandIn  # noqa: E402
from sandbox.world import process_env, sqlite_url, variables  # noqa: E402

MIB = 1024 * 1024
CHANNEL = "C0BENCH"
PEAK_TARGET_MB = 100.0
THROUGHPUT_TARGET = 0.8
BOUNDARY = "cohostbench7MA1kE0Xy"
CURL = "curl | curl (one POST)"
#: MirrorAce's `max_chunk_size` as its doc gives it.
MAX_CHUNK_SIZE = 99_999_995


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kib(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Sets the process's VmHWM back to its current RSS (Linux: `5` in clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


@dataclass
class Run:
    size: int
    seconds: float
    rss_before_mb: float | None = None
    peak_mb: float | None = None

    @property
    def mib_per_s(self) -> float:
        return self.size / MIB / self.seconds


@dataclass
class Results:
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def add(self, name: str, run: Run) -> None:
        self.runs.setdefault(name, []).append(run)


class Bench:
    def __init__(self, max_chunk_size: int) -> None:
        self.max_chunk_size = max_chunk_size
        self.slack = SlackStandIn()
        self.mirrorace = MirrorAceSim()
        self.http: aiohttp.ClientSession | None = None
        self.bot: asyncio.subprocess.Process | None = None
        self.bot_url = ""
        self.workdir = Path(tempfile.mkdtemp(prefix="cohost-bench-mirror-"))
        self._sha: dict[str, str] = {}
        self._files = 0

    async def start(self) -> None:
        await self.slack.start()
        await self.mirrorace.start()
        self.http = aiohttp.ClientSession()
        port = free_port()
        env = process_env(
            {
                **variables(self.slack, self.mirrorace),
                "PORT": str(port),
                "DATABASE_URL": sqlite_url(self.workdir / "bench.db"),
                "VENDOR_TIMEOUT_S": "30",
            }
        )
        # As a deployment does: the release step migrates, then the web process starts on a current schema.
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "migrate", env=env, cwd=self.workdir, stderr=asyncio.subprocess.DEVNULL
        )
        if await migrate.wait() != 0:
            raise RuntimeError("python -m bot migrate failed")
        self.bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "web", env=env, cwd=self.workdir, stderr=asyncio.subprocess.DEVNULL
        )
        self.bot_url = f"http://127.0.0.1:{port}"
        await wait_until_healthy(self.http, self.bot_url)

    async def stop(self) -> None:
        if self.bot is not None:
            self.bot.terminate()
            await self.bot.wait()
        if self.http is not None:
            await self.http.close()
        await self.mirrorace.stop()
        await self.slack.stop()

    def new_file(self, size: int) -> dict[str, Any]:
        self._files += 1
        return self.slack.add_file(f"F0BENCH{self._files}", f"bench-{size // MIB}MiB-{self._files}.bin", size)

    def expected_sha(self, file_id: str) -> str:
        size = self.slack.hosted_files[file_id].size
        key = f"{size}:{file_id}"
        if key not in self._sha:
            self._sha[key] = self.slack.file_sha256(file_id)
        return self._sha[key]

    def check(self, name: str, file_id: str) -> None:
        stored = self.mirrorace.file_named(name)
        if stored.sha256 != self.expected_sha(file_id):
            raise RuntimeError(f"{name}: the file at MirrorAce differs from the source")

    async def bot_mirror(self, size: int) -> Run:
        """The shortcut on a message with one file of `size`; timed until its card replaces the progress."""
        assert self.bot is not None and self.http is not None
        self.mirrorace.max_chunk_size = self.max_chunk_size
        shared = self.new_file(size)
        ts = f"{1_600_000_000 + self._files}.000100"
        message = {"type": "message", "ts": ts, "user": "U0BOB", "text": "", "files": [shared]}
        request = self.slack.message_shortcut("mirror_file", message=message, channel_id=CHANNEL)
        pid = self.bot.pid
        rss_before = status_kib(pid, "VmRSS")
        reset_peak(pid)
        started = time.perf_counter()
        async with self.http.post(self.bot_url + "/slack/events", data=request.body, headers=request.headers) as r:
            assert r.status == 200

        def finished() -> bool:
            return any(
                m.get("thread_ts") == ts and ("Open on MirrorAce" in str(m) or "Could not mirror" in str(m))
                for m in self.slack.messages.values()
            )

        await self.slack.wait_for(finished, within=600, what=f"the card of {shared['name']}")
        seconds = time.perf_counter() - started
        peak = status_kib(pid, "VmHWM")
        self.check(shared["name"], shared["id"])
        return Run(size, seconds, rss_before / 1024, peak / 1024)

    async def _variables(self) -> dict[str, Any]:
        assert self.http is not None
        form = {"api_key": self.mirrorace.api_key, "api_token": self.mirrorace.api_token}
        async with self.http.post(self.mirrorace.api_url + "/file/upload", data=form) as resp:
            return dict((await resp.json())["result"])

    async def curl(self, size: int) -> Run:
        """curl | curl: the download from the stand-in piped into one streamed multipart POST to the upload host."""
        self.mirrorace.max_chunk_size = 2 * size  # the chunk limit lifted: the whole file in one request
        shared = self.new_file(size)
        variables = await self._variables()
        fields = [
            ("api_key", self.mirrorace.api_key),
            ("api_token", self.mirrorace.api_token),
            ("cTracker", variables["cTracker"]),
            ("upload_key", variables["upload_key"]),
            ("mirrors[]", "1"),
        ]
        download = (
            f"curl -sS --fail -H {shlex.quote('Authorization: Bearer ' + self.slack.bot_token)} "
            f"{shlex.quote(shared['url_private_download'])}"
        )
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files[]"; filename="{shared["name"]}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        tail = f"\r\n--{BOUNDARY}--\r\n"
        env = {**os.environ, "HEAD": head, "TAIL": tail}
        upload = (
            f"curl -sS -X POST -T - -H 'Content-Type: multipart/form-data; boundary={BOUNDARY}' "
            f"{shlex.quote(variables['server_file'])}"
        )
        script = f'{{ printf %s "$HEAD"; {download}; printf %s "$TAIL"; }} | {upload}'
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", script, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await process.communicate()
        seconds = time.perf_counter() - started
        if b'"complete"' not in out:
            raise RuntimeError(f"curl's upload did not complete: {out[:300]!r} {err[:300]!r}")
        self.check(shared["name"], shared["id"])
        return Run(size, seconds)


def how_sent(size_mib: int, max_chunk_size: int) -> str:
    return "one request" if size_mib * MIB <= max_chunk_size else "8 MiB chunks"


async def run(rounds: int, max_chunk_size: int, sizes_mib: list[int]) -> None:
    bench = Bench(max_chunk_size)
    results = Results()
    await bench.start()
    try:
        await bench.bot_mirror(4 * MIB)  # warm-up: first shortcut, first upload, connection pools
        for round_no in range(1, rounds + 1):
            for size_mib in sizes_mib:
                result = await bench.bot_mirror(size_mib * MIB)
                results.add(f"Cohost {size_mib} MiB", result)
                print(
                    f"round {round_no} Cohost {size_mib} MiB: {result.mib_per_s:.0f} MiB/s, "
                    f"RSS {result.rss_before_mb:.1f} MB before, peak {result.peak_mb:.1f} MB",
                    flush=True,
                )
            largest = max(sizes_mib) * MIB
            result = await bench.curl(largest)
            results.add(CURL, result)
            print(f"round {round_no} {CURL} {largest // MIB} MiB: {result.mib_per_s:.0f} MiB/s", flush=True)
    finally:
        await bench.stop()
    report(results, rounds, max_chunk_size, sizes_mib)


def report(results: Results, rounds: int, max_chunk_size: int, sizes_mib: list[int]) -> None:
    print(
        f"\nMirror a Slack file to MirrorAce (max_chunk_size {max_chunk_size:,} bytes), medians of {rounds} rounds "
        "(2 cores, loopback)"
    )
    print(f"{'transfer':<42}{'MiB/s':>8}{'seconds':>9}{'RSS before':>12}{'peak RSS':>10}")
    medians: dict[str, dict[str, float]] = {}
    sent_as = {f"Cohost {size} MiB": how_sent(size, max_chunk_size) for size in sizes_mib}
    for name, runs in results.runs.items():
        row = {
            "mib_per_s": statistics.median(r.mib_per_s for r in runs),
            "seconds": statistics.median(r.seconds for r in runs),
        }
        before = peak = ""
        if runs[0].peak_mb is not None:
            row["before"] = statistics.median(r.rss_before_mb or 0 for r in runs)
            row["peak"] = max(r.peak_mb or 0 for r in runs)  # the worst round, not the median
            before, peak = f"{row['before']:.1f} MB", f"{row['peak']:.1f} MB"
        medians[name] = row
        label = f"{name} ({sent_as[name]})" if name in sent_as else f"{name} {max(sizes_mib)} MiB"
        print(f"{label:<42}{row['mib_per_s']:>8.0f}{row['seconds']:>9.2f}{before:>12}{peak:>10}")
    largest = max(sizes_mib)
    bot = medians[f"Cohost {largest} MiB"]
    ratio = bot["mib_per_s"] / medians[CURL]["mib_per_s"]
    print(f"\nCohost/curl throughput at {largest} MiB: {ratio:.2f}")
    peaks = [medians[f"Cohost {size} MiB"]["peak"] for size in sizes_mib]
    growth = [medians[f"Cohost {size} MiB"]["peak"] - medians[f"Cohost {size} MiB"]["before"] for size in sizes_mib]
    print(
        "peak RSS growth during the upload: "
        + ", ".join(f"{s} MiB: {g:.1f} MB" for s, g in zip(sizes_mib, growth, strict=True))
    )
    checks = {
        f"peak memory under {PEAK_TARGET_MB:g} MB ({', '.join(f'{p:.1f}' for p in peaks)} MB)": max(peaks)
        < PEAK_TARGET_MB,
    }
    for way in sorted(set(sent_as.values())):
        same_way = [medians[name]["peak"] for name, sent in sent_as.items() if sent == way]
        spread = max(same_way) - min(same_way)
        checks[f"peak memory the same for every size sent in {way} (spread {spread:.1f} MB)"] = spread < 5
    checks[f"throughput at least {THROUGHPUT_TARGET:g} of curl's ({ratio:.2f})"] = ratio >= THROUGHPUT_TARGET
    for label, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-chunk-size", type=int, default=MAX_CHUNK_SIZE, help="MirrorAce's max_chunk_size, in bytes"
    )
    parser.add_argument("--sizes-mib", default="90,100,1024", help="comma-separated file sizes in MiB")
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.max_chunk_size, [int(s) for s in args.sizes_mib.split(",")]))
