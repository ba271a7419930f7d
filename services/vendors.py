"""Which vendors are on, and their clients, built once per process on the shared HTTP pool."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from services import coviu, mirotalk, mirrorace, mirrortab, samesurf
from services.clock import Clock
from services.coviu import Coviu, TokenSource
from services.errors import VendorError, VendorNotConfigured
from services.http import HttpPool, VendorHttp
from services.mirotalk import HostUser, MiroTalk
from services.mirrorace import MirrorAce
from services.mirrortab import MirrorTab
from services.samesurf import SameSurf

log = logging.getLogger("cohost.vendors")

CobrowseVendor = Literal["mirrortab", "samesurf"]
MeetingVendor = Literal["mirotalk", "coviu"]
#: The order of the configuration contract: the first vendor on is a family's default.
COBROWSE_VENDORS: tuple[CobrowseVendor, ...] = ("mirrortab", "samesurf")
MEETING_VENDORS: tuple[MeetingVendor, ...] = ("mirotalk", "coviu")
DISPLAY_NAMES = {
    "mirrortab": "MirrorTab",
    "samesurf": "SameSurf",
    "mirotalk": "MiroTalk",
    "coviu": "Coviu",
    "mirrorace": "MirrorAce",
}


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
        if vendor == "mirrortab":
            required = {"MIRRORTAB_API_KEY": self.mirrortab_api_key}
        elif vendor == "samesurf":
            # With the `none` algorithm nothing is signed, so the secret is not needed.
            secret = self.samesurf_api_secret or ("unsigned" if self.samesurf_jwt_alg == "none" else "")
            required = {"SAMESURF_API_KEY": self.samesurf_api_key, "SAMESURF_API_SECRET": secret}
        elif vendor == "mirotalk":
            required = {"MIROTALK_URL": self.mirotalk_url, "MIROTALK_API_SECRET": self.mirotalk_api_secret}
        elif vendor == "coviu":
            required = {"COVIU_API_KEY": self.coviu_api_key, "COVIU_API_SECRET": self.coviu_api_secret}
        elif vendor == "mirrorace":
            required = {"MIRRORACE_API_KEY": self.mirrorace_api_key, "MIRRORACE_API_TOKEN": self.mirrorace_api_token}
        else:
            raise ValueError(f"unknown vendor {vendor!r}")
        return [name for name, value in required.items() if not value]

    def enabled_cobrowse(self) -> list[CobrowseVendor]:
        return [vendor for vendor in COBROWSE_VENDORS if not self.missing(vendor)]

    def enabled_meeting(self) -> list[MeetingVendor]:
        return [vendor for vendor in MEETING_VENDORS if not self.missing(vendor)]

    def mirotalk_host_user(self) -> HostUser | None:
        if self.mirotalk_host_username and self.mirotalk_host_password:
            return HostUser(self.mirotalk_host_username, self.mirotalk_host_password)
        return None


class Vendors:
    """The vendor clients of this process; a vendor that is off raises `VendorNotConfigured` when asked for."""

    def __init__(self, config: VendorConfig, pool: HttpPool, *, clock: Clock | None = None) -> None:
        self.config = config
        self.pool = pool
        self._mirrortab = MirrorTab(
            VendorHttp(
                vendor=mirrortab.VENDOR,
                base_url=config.mirrortab_url,
                pool=pool,
                timeout_s=config.timeout_s,
                retries=config.retries,
                error_text=mirrortab.error_text,
                secrets=(config.mirrortab_api_key,),
            ),
            config.mirrortab_api_key,
        )
        self._samesurf = SameSurf(
            VendorHttp(
                vendor=samesurf.VENDOR,
                base_url=config.samesurf_url.rstrip("/") + "/api/v3",
                pool=pool,
                timeout_s=config.timeout_s,
                retries=config.retries,
                secrets=(config.samesurf_api_key, config.samesurf_api_secret),
            ),
            config.samesurf_api_key,
            config.samesurf_api_secret,
            config.samesurf_jwt_alg,
        )
        self._mirotalk = MiroTalk(
            VendorHttp(
                vendor=mirotalk.VENDOR,
                base_url=config.mirotalk_url.rstrip("/") + "/api/v1",
                pool=pool,
                timeout_s=config.timeout_s,
                retries=config.retries,
                secrets=(config.mirotalk_api_secret, config.mirotalk_host_password),
            ),
            config.mirotalk_api_secret,
            host_user=config.mirotalk_host_user(),
            clock=clock,
        )
        coviu_http = VendorHttp(
            vendor=coviu.VENDOR,
            base_url=config.coviu_url,
            pool=pool,
            timeout_s=config.timeout_s,
            retries=config.retries,
            secrets=(config.coviu_api_key, config.coviu_api_secret),
        )
        self._coviu = Coviu(coviu_http, TokenSource(coviu_http, config.coviu_api_key, config.coviu_api_secret))
        self._mirrorace = MirrorAce(
            VendorHttp(
                vendor=mirrorace.VENDOR,
                base_url=config.mirrorace_url,
                pool=pool,
                timeout_s=config.timeout_s,
                retries=config.retries,
                secrets=(config.mirrorace_api_key, config.mirrorace_api_token),
            ),
            config.mirrorace_api_key,
            config.mirrorace_api_token,
        )

    async def learn_at_start(self, within_s: float = 5.0) -> None:
        """What is worth knowing before the first request: which endpoints the MiroTalk server has switched on.
        Bounded and never fatal: a server that cannot be asked now is asked when a meeting needs it."""
        if self.config.missing("mirotalk"):
            return
        try:
            async with asyncio.timeout(within_s):
                await self._mirotalk.switches()
        except (VendorError, TimeoutError) as exc:
            log.warning("MiroTalk's switched-on endpoints not learned at start: %s", type(exc).__name__)

    def _require(self, vendor: str) -> None:
        missing = self.config.missing(vendor)
        if missing:
            raise VendorNotConfigured(DISPLAY_NAMES[vendor], missing)

    @property
    def mirrortab(self) -> MirrorTab:
        self._require("mirrortab")
        return self._mirrortab

    @property
    def samesurf(self) -> SameSurf:
        self._require("samesurf")
        return self._samesurf

    @property
    def mirotalk(self) -> MiroTalk:
        self._require("mirotalk")
        return self._mirotalk

    @property
    def coviu(self) -> Coviu:
        self._require("coviu")
        return self._coviu

    @property
    def mirrorace(self) -> MirrorAce:
        self._require("mirrorace")
        return self._mirrorace

    def default_cobrowse(self) -> CobrowseVendor:
        """The configured default, else the first vendor on, else MirrorTab (whose error names its variables)."""
        if self.config.cobrowse_provider in COBROWSE_VENDORS:
            return self.config.cobrowse_provider
        enabled = self.config.enabled_cobrowse()
        return enabled[0] if enabled else "mirrortab"

    def default_meeting(self) -> MeetingVendor:
        """The configured default, else the first vendor on, else MiroTalk (whose error names its variables)."""
        if self.config.meeting_provider in MEETING_VENDORS:
            return self.config.meeting_provider
        enabled = self.config.enabled_meeting()
        return enabled[0] if enabled else "mirotalk"
