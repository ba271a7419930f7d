"""`python -m bot [web|scheduler|migrate|doctor]`: the whole bot by default; `web` or `scheduler` for one half;
`migrate` brings the database's schema up to date and exits (a deployment's release step, so that the processes it
then starts find the schema current and never load Alembic); `doctor` checks every configured part with one
harmless live call each and says what to fix (exit 0 only when all of them are ok).

With no Slack credentials at all, the offline mode: the bot wired to the sandbox, driven from a prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import resource
import sys

from aiohttp import web

from bot.app import Role, Runtime, build_runtime, server_options, web_runner
from bot.settings import Settings, SettingsError, load_settings
from services.store import Store

log = logging.getLogger("cohost")


async def _serve_socket_mode(runtime: Runtime) -> None:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(runtime.bolt, runtime.settings.SLACK_APP_TOKEN)
    runtime.socket = handler.client  # /healthz fails while the socket is down
    runner = web_runner(runtime)  # only /healthz, for the platform: Slack's requests come through the socket
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", runtime.settings.PORT).start()
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await runner.cleanup()


def raise_open_file_limit() -> None:
    """Lifts the soft limit on open files to the hard one. Each connection is a file: at a soft limit of 1,024
    (common), a thousand slow clients left no room to accept `/healthz` or Slack, and every refused accept was
    logged."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20  # Linux refuses an unlimited soft limit here
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as exc:
        log.warning("open files: could not raise the limit of %d (%s)", soft, exc)
        return
    log.info("open files: limit raised from %d to %d", soft, wanted)


def tune_garbage_collector() -> None:
    """Keeps full collections short. Under a burst of commands the heap holds thousands of in-flight tasks, and
    a full collection that also walks every object made at start-up (modules, SQLAlchemy and pydantic models)
    stalled the event loop for 60-120 ms, which was the whole tail of the ack latency. Freezing the start-up
    heap and collecting the young generation less often took the ack p99 from ~200 ms to ~60 ms
    (benchmarks/cobrowse_ack.py)."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def serve(settings: Settings, role: Role) -> None:
    raise_open_file_limit()
    runtime = build_runtime(settings, role=role)

    async def after_start(app: web.Application) -> None:
        tune_garbage_collector()  # after migrations: everything start-up made stays out of collections

    runtime.web.on_startup.append(after_start)
    if settings.slack_mode == "socket" and role != "scheduler":
        log.info("Socket Mode (%s)", role)
        asyncio.run(_serve_socket_mode(runtime))
        return
    log.info("HTTP mode (%s) on port %d", role, settings.PORT)
    web.run_app(runtime.web, host="0.0.0.0", port=settings.PORT, print=None, **server_options(runtime))


async def migrate(settings: Settings) -> None:
    store = Store(settings.DATABASE_URL)
    try:
        await store.migrate()
        log.info("schema at %s", await store.schema_version())
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "role",
        nargs="?",
        choices=["web", "scheduler", "migrate", "doctor"],
        help="run one half only, only migrate, or check the setup",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cohost: {exc}", file=sys.stderr)
        return 2
    if args.role == "doctor":
        from bot.doctor import run_doctor

        logging.getLogger().setLevel(logging.CRITICAL)  # its report is the output; failures are in it, in words
        return run_doctor(settings)
    if args.role == "migrate":
        asyncio.run(migrate(settings))
        return 0
    if settings.slack_mode == "offline":
        from bot.offline import run_offline

        logging.getLogger().setLevel(logging.WARNING)  # the prompt is the person's; only problems interrupt it
        return run_offline(settings)
    try:
        serve(settings, args.role or "all")
    except SettingsError as exc:  # found at start, once the store is open (a secret key that opens none of it)
        print(f"cohost: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
