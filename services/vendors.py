"""Which vendors are on, and their clients and adapters, built once per process on the shared HTTP pool from the
vendor registry (`services.registry`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from services import registry
from services.clock import Clock, SystemClock
from services.cobrowsing import CobrowseAdapter
from services.coviu import Coviu
from services.errors import VendorError, VendorNotConfigured
from services.http import HttpPool, VendorHealth, VendorHttp
from services.mirotalk import HostUser, MiroTalk
from services.mirrorace import MirrorAce
from services.mirrortab import MirrorTab
from services.registry import VendorEntry
from services.samesurf import SameSurf
from services.sessions import SessionAdapter

log = logging.getLogger("cohost.vendors")

C = TypeVar("C")
CobrowseVendor = Literal["mirrortab", "samesurf"]
MeetingVendor = Literal["mirotalk", "coviu"]


@dataclass(frozen=True)
class VendorConfig:
    timeout_s: float = 15.0
    mirrortab_api_key: str = ""
    mirrortab_url: str = "https://api.mirrortab.com"
    samesurf_api_key: str = ""
    samesurf_api_secret: str = ""
    samesurf_url: str = "https://api.samesurf.com"
    samesurf_jwt_alg: str = "HS256"
    mirotalk_url: str = ""
    mirotalk_api_secret: str = ""
    #: A host user configured on the MiroTalk server: presenter links and tokens are made for it (both or neither).
    mirotalk_host_username: str = ""
    mirotalk_host_password: str = ""
    coviu_api_key: str = ""
    coviu_api_secret: str = ""
    coviu_url: str = "https://api.coviu.com/v1"
    mirrorace_api_key: str = ""
    mirrorace_api_token: str = ""
    mirrorace_url: str = "https://mirrorace.com/api/v1"
    cobrowse_provider: str = ""
    meeting_provider: str = ""
    #: `COHOST_ALLOW_PRIVATE_URLS`: URLs naming loopback, private or link-local hosts may be handed to vendors.
    allow_private_urls: bool = False
    #: How often a call that is safe to repeat is retried through a failure a retry may cure (`doctor`: never).
    retries: int = 3

    def missing(self, vendor: str) -> list[str]:
        """The variables still empty for `vendor` (none: it is on)."""
        return [name for name, value in registry.vendor(vendor).settings(self).items() if not value]

    def enabled(self, family: str) -> list[str]:
        """The vendors of `family` that are on, in the order of the configuration contract."""
        return [v.key for v in registry.family_vendors(family) if not self.missing(v.key)]

    def mirotalk_host_user(self) -> HostUser | None:
        if self.mirotalk_host_username and self.mirotalk_host_password:
            return HostUser(self.mirotalk_host_username, self.mirotalk_host_password)
        return None


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
        self._clients: dict[str, object] = {v.key: v.connect(config, http, clock) for v in registry.VENDORS.values()}
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
        configured = {"cobrowse": self.config.cobrowse_provider, "meeting": self.config.meeting_provider}.get(family)
        keys = [v.key for v in registry.family_vendors(family)]
        if configured in keys:
            return str(configured)
        enabled = self.config.enabled(family)
        return enabled[0] if enabled else keys[0]
