"""Every stand-in of the outside world at once: the Slack Web API and each vendor, on loopback ports."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.coviu import CoviuSim
from sandbox.mirotalk import MiroTalkSim
from sandbox.mirrorace import MirrorAceSim
from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.server import SimServer
from sandbox.slack import SlackStandIn


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

    async def start(self) -> None:
        for sim in self.all():
            await sim.start()

    async def stop(self) -> None:
        for sim in self.all():
            await sim.stop()
