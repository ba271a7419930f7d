"""Every stand-in of the outside world at once: the Slack Web API and each vendor, on loopback ports; and the
settings that wire Cohost to them, written once for the tests, the offline mode and the benchmarks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.coviu import CoviuSim
from sandbox.mirotalk import MiroTalkSim
from sandbox.mirrorace import MirrorAceSim
from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.server import SimServer
from sandbox.slack import SlackStandIn

#: The repository's root: a `python -m bot` started from elsewhere finds the packages through it.
ROOT = Path(__file__).resolve().parents[1]
#: What Cohost reads from its environment (bot/settings.py): every name starting so, or one of these exactly.
COHOST_SETTING_PREFIXES = ("SLACK_", "MIRRORTAB_", "SAMESURF_", "MIROTALK_", "COVIU_", "MIRRORACE_", "COHOST_")
COHOST_SETTING_NAMES = frozenset(
    {"PORT", "DATABASE_URL", "EXPIRY_WARNING_MINUTES", "VENDOR_TIMEOUT_S", "COBROWSE_PROVIDER", "MEETING_PROVIDER"}
)


def variables(*stand_ins: SimServer) -> dict[str, str]:
    """The settings that wire Cohost to these stand-ins (and to nothing else), as environment variables."""
    wired: dict[str, str] = {}
    for stand_in in stand_ins:
        wired.update(stand_in.variables())
    return wired


def sqlite_url(path: Path) -> str:
    """`DATABASE_URL` for an SQLite file at `path`."""
    return f"sqlite+aiosqlite:///{path}"


def is_cohost_setting(name: str) -> bool:
    return name.startswith(COHOST_SETTING_PREFIXES) or name in COHOST_SETTING_NAMES


def process_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a `python -m bot` child: this one's, less any Cohost setting of its own (so the child
    sees exactly `settings`), and the packages importable from any working directory."""
    kept = {name: value for name, value in os.environ.items() if not is_cohost_setting(name)}
    return {**kept, "PYTHONPATH": str(ROOT), **settings}


@dataclass
class Sims:
    slack: SlackStandIn
    mirrortab: MirrorTabSim
    samesurf: SameSurfSim
    mirotalk: MiroTalkSim
    coviu: CoviuSim
    mirrorace: MirrorAceSim

    def all(self) -> tuple[SimServer, ...]:
        return (self.slack, self.mirrortab, self.samesurf, self.mirotalk, self.coviu, self.mirrorace)

    def variables(self) -> dict[str, str]:
        """The settings that wire Cohost to Slack's stand-in and every vendor's simulator."""
        return variables(*self.all())

    async def start(self) -> None:
        for sim in self.all():
            await sim.start()

    async def stop(self) -> None:
        for sim in self.all():
            await sim.stop()
