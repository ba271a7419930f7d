"""`python -m sandbox`: every stand-in in one process, on loopback ports, for benchmarks and manual runs.

Prints one JSON line: per stand-in (`slack`, `mirrortab`, ...), the settings that wire Cohost to it, as
environment variables (`{"mirrortab": {"MIRRORTAB_API_KEY": ..., "MIRRORTAB_URL": ...}, ...}`); then serves until
interrupted. Latency and faults can be set from outside over HTTP (`POST {url}/_sandbox/latency`,
`/_sandbox/fault`).
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
from sandbox.world import Sims


async def serve(mirrortab_latency: float, spec_forms: bool) -> None:
    sims = Sims(SlackStandIn(), MirrorTabSim(), SameSurfSim(), MiroTalkSim(), CoviuSim(), MirrorAceSim())
    await sims.start()
    mirrortab = sims.mirrortab
    mirrortab.faults.set_latency("/new_session", mirrortab_latency)
    if spec_forms:
        # The answers as MirrorTab's OpenAPI spec has them (200 and `kill_time`), where the doc says 201.
        mirrortab.create_status = 200
        mirrortab.kill_time_style = "spec"
    print(
        # Per stand-in, the settings that wire Cohost to it: a run takes those of the parts it needs.
        json.dumps({sim.name.lower(): sim.variables() for sim in sims.all()}),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sims.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--mirrortab-latency", type=float, default=0.0, help="seconds before /new_session answers")
    parser.add_argument("--spec-forms", action="store_true", help="MirrorTab answers as its spec says, not its doc")
    args = parser.parse_args()
    asyncio.run(serve(args.mirrortab_latency, args.spec_forms))


if __name__ == "__main__":
    main()
