"""Which vendors are on, and their clients and adapters, built once per process on the shared HTTP pool from the
vendor registry (`services.registry`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from services import registry
from services.clock import Clock, SystemClock
from services.cobrowsing import CobrowseAdapter
from services.coviu import Coviu
from services.errors import VendorError, VendorNotConfigured
from services.http import HttpPool, VendorHealth, VendorHttp
from services.mirotalk import MiroTalk
from services.mirrorace import MirrorAce
from services.mirrortab import MirrorTab
from services.registry import VendorClient, VendorEntry
from services.samesurf import SameSurf
from services.sessions import SessionAdapter

log = logging.getLogger("cohost.vendors")

C = TypeVar("C", bound=VendorClient)


@dataclass(frozen=True)
class VendorConfig:
    """The vendors' part of the configuration: every vendor's variables as its registry entry names them."""

    #: Each vendor setting by its variable's name; one not given has its default (`registry.Setting`).
    values: Mapping[str, str] = field(default_factory=dict)
    #: Each family's configured default vendor (`COBROWSE_PROVIDER`, `MEETING_PROVIDER`), by family.
    providers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 15.0
    #: `COHOST_ALLOW_PRIVATE_URLS`: URLs naming loopback, private or link-local hosts may be handed to vendors.
    allow_private_urls: bool = False
    #: How often a call that is safe to repeat is retried through a failure a retry may cure (`doctor`: never).
    retries: int = 3

    def __post_init__(self) -> None:
        defaults = {setting.name: setting.default for setting in registry.vendor_settings()}
        object.__setattr__(self, "values", {**defaults, **self.values})

    def missing(self, vendor: str) -> list[str]:
        """The variables still empty for `vendor` (none: it is on)."""
        return registry.vendor(vendor).missing(self.values)

    def enabled(self, family: str) -> list[str]:
        """The vendors of `family` that are on, in the order of the configuration contract."""
        return [v.key for v in registry.family_vendors(family) if not self.missing(v.key)]


class Vendors:
    """The vendor clients of this process; a vendor that is off raises `VendorNotConfigured` when asked for."""

    def __init__(self, config: VendorConfig, pool: HttpPool, *, clock: Clock | None = None) -> None:
        self.config = config
        self.pool = pool
        #: How each vendor's calls have been going, by its name (its HTTP layer records it).
        self._health: dict[str, VendorHealth] = {v.name: VendorHealth() for v in registry.VENDORS.values()}

        def http(**kwargs: Any) -> VendorHttp:
            # Every client the same way: its own VendorHttp on the shared pool, under this deployment's bounds.
            return VendorHttp(
                pool=pool,
                timeout_s=config.timeout_s,
                retries=config.retries,
                health=self._health[kwargs["vendor"]],
                **kwargs,
            )

        clock = clock or SystemClock()
        self._clients: dict[str, object] = {
            v.key: v.connect(config.values, http, clock) for v in registry.VENDORS.values()
        }
        self._adapters: dict[str, SessionAdapter] = {}

    async def learn_at_start(self, within_s: float = 5.0) -> None:
        """What is worth knowing before the first request: which endpoints the MiroTalk server has switched on.
        Bounded and never fatal: a server that cannot be asked now is asked when a meeting needs it."""
        if self.config.missing("mirotalk"):
            return
        try:
            async with asyncio.timeout(within_s):
                await self._client(registry.MIROTALK).switches()
        except (VendorError, TimeoutError) as exc:
            log.warning("MiroTalk's switched-on endpoints not learned at start: %s", type(exc).__name__)

    def failure(self, vendor: str) -> str | None:
        """Why the vendor's last call failed (down, or Cohost's credentials refused); None when it answered, or
        was not called yet. What it has seen, never a call of its own."""
        return self._health[registry.display_name(vendor)].failure

    def _require(self, vendor: str) -> None:
        missing = self.config.missing(vendor)
        if missing:
            raise VendorNotConfigured(registry.display_name(vendor), missing)

    def _client(self, entry: VendorEntry[C]) -> C:
        return cast(C, self._clients[entry.key])

    def client(self, entry: VendorEntry[C]) -> C:
        """The vendor's client (`VendorNotConfigured` while it is off)."""
        self._require(entry.key)
        return self._client(entry)

    @property
    def mirrortab(self) -> MirrorTab:
        return self.client(registry.MIRRORTAB)

    @property
    def samesurf(self) -> SameSurf:
        return self.client(registry.SAMESURF)

    @property
    def mirotalk(self) -> MiroTalk:
        return self.client(registry.MIROTALK)

    @property
    def coviu(self) -> Coviu:
        return self.client(registry.COVIU)

    @property
    def mirrorace(self) -> MirrorAce:
        return self.client(registry.MIRRORACE)

    def sessions(self, vendor: str) -> SessionAdapter:
        """The vendor's family adapter (`VendorNotConfigured` while it is off)."""
        entry: VendorEntry[Any] = registry.vendor(vendor)
        if entry.adapter is None:
            raise ValueError(f"{entry.name} runs no sessions")
        self._require(vendor)
        if vendor not in self._adapters:
            self._adapters[vendor] = entry.adapter(self._client(entry))
        return self._adapters[vendor]

    def cobrowse(self, vendor: str) -> CobrowseAdapter:
        """A co-browsing vendor's adapter, which also starts sessions."""
        if registry.vendor(vendor).family != "cobrowse":
            raise ValueError(f"{vendor} is no co-browsing vendor")
        return cast(CobrowseAdapter, self.sessions(vendor))

    def default(self, family: str) -> str:
        """The configured default of the family (`COBROWSE_PROVIDER`, `MEETING_PROVIDER`), else its first vendor on,
        else its first vendor (whose error then names the variables that turn it on)."""
        configured = self.config.providers.get(family)
        keys = [v.key for v in registry.family_vendors(family)]
        if configured in keys:
            return str(configured)
        enabled = self.config.enabled(family)
        return enabled[0] if enabled else keys[0]
