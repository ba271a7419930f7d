"""`python -m sandbox`: every stand-in in one process, on loopback ports, for benchmarks and manual runs.

Prints one JSON line with the URLs and credentials, then serves until interrupted. Latency and faults can be
set from outside over HTTP (`POST {url}/_sandbox/latency`, `/_sandbox/fault`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from sandbox.coviu import CoviuSim
from sandbox.mirotalk import MiroTalkSim
from sandbox.mirrorace import MirrorAceSim
from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.slack import SlackStandIn


async def serve(mirrortab_latency: float, spec_forms: bool) -> None:
    slack, mirrortab, samesurf, mirotalk, coviu, mirrorace = (
        SlackStandIn(),
        MirrorTabSim(),
        SameSurfSim(),
        MiroTalkSim(),
        CoviuSim(),
        MirrorAceSim(),
    )
    sims = (slack, mirrortab, samesurf, mirotalk, coviu, mirrorace)
    for sim in sims:
        await sim.start()
    mirrortab.faults.set_latency("/new_session", mirrortab_latency)
    if spec_forms:
        # The answers as MirrorTab's OpenAPI spec has them (200 and `kill_time`), where the doc says 201.
        mirrortab.create_status = 200
        mirrortab.kill_time_style = "spec"
    print(
        json.dumps(
            {
                "slack": {"url": slack.url, "bot_token": slack.bot_token, "signing_secret": slack.signing_secret},
                "mirrortab": {"url": mirrortab.url, "api_key": mirrortab.api_key},
                "samesurf": {"url": samesurf.url, "api_key": samesurf.api_key, "api_secret": samesurf.api_secret},
                "mirotalk": {"url": mirotalk.url, "api_secret": mirotalk.api_secret},
                "coviu": {"url": coviu.url, "api_key": coviu.api_key, "api_secret": coviu.api_secret},
                "mirrorace": {
                    "url": mirrorace.api_url,
                    "upload_url": mirrorace.upload.url,
                    "api_key": mirrorace.api_key,
                    "api_token": mirrorace.api_token,
                },
            }
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for sim in sims:
        await sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--mirrortab-latency", type=float, default=0.0, help="seconds before /new_session answers")
    parser.add_argument("--spec-forms", action="store_true", help="MirrorTab answers as its spec says, not its doc")
    args = parser.parse_args()
    asyncio.run(serve(args.mirrortab_latency, args.spec_forms))


if __name__ == "__main__":
    main()
