"""The vendor registry: everything that differs between vendors, declared once.

Per vendor: its key, display name and family, what it calls the thing a card shows (its id label), the settings
that turn it on, the buttons its cards carry, whether Cohost can end its sessions, how its sessions show in its
own list, which of its family's options it takes, and how its client and its family adapter are built (every
client the same way: a `VendorHttp` on the shared pool, the client adding its own hooks in its constructor).
Handlers and scheduled jobs ask the registry, or the vendor's adapter, instead of branching on vendor names;
adding a vendor is a client, a simulator, an entry here and its adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from services.client_credentials import TokenSource
from services.clock import Clock
from services.cobrowsing import ACCESS, DISABLE, MINUTES, MirrorTabSessions, SameSurfRooms
from services.coviu import Coviu
from services.http import VendorHttp
from services.meetings import CoviuSessions, MiroTalkMeetings
from services.mirotalk import MiroTalk
from services.mirrorace import MirrorAce
from services.mirrortab import MirrorTab
from services.samesurf import SameSurf
from services.sessions import SessionAdapter

if TYPE_CHECKING:
    from services.vendors import VendorConfig

FamilyKey = Literal["cobrowse", "meeting", "upload"]
C = TypeVar("C")
#: The option of `/meeting end` that sends a meeting's people somewhere (MiroTalk only).
REDIRECT = "redirect"
#: A room named by the person who starts a meeting (`/meeting new ROOM`): MiroTalk only, Coviu sessions have none.
ROOM = "room"


class CardButton(StrEnum):
    """What a card carries besides its Join link."""

    END = "end"
    MY_LINK = "my_link"
    INVITE_LINK = "invite_link"


@dataclass(frozen=True)
class FamilySpec:
    key: FamilyKey
    #: The slash command.
    command: str
    #: What its digest is called.
    title: str
    #: What one of its cards is, in a sentence ("only its creator can change this session").
    noun: str


FAMILIES: dict[str, FamilySpec] = {
    family.key: family
    for family in (
        FamilySpec("cobrowse", "/cobrowse", "Co-browsing", "session"),
        FamilySpec("meeting", "/meeting", "Meetings", "meeting"),
        FamilySpec("upload", "/upload", "Uploads", "file"),
    )
}


@dataclass(frozen=True)
class VendorEntry(Generic[C]):
    key: str
    name: str
    family: FamilyKey
    #: The variables that turn it on (all non-empty), with their values in a configuration.
    settings: Callable[[VendorConfig], Mapping[str, str]]
    base_url: Callable[[VendorConfig], str]
    #: Values its errors must never show (keys, secrets).
    secrets: Callable[[VendorConfig], tuple[str, ...]]
    build: Callable[[VendorConfig, VendorHttp, Clock], C]
    adapter: Callable[[C], SessionAdapter] | None = None
    #: What the vendor calls the thing a card shows ("Session", "Room").
    id_label: str = "Session"
    #: What it runs, in a sentence ("MiroTalk meetings", "SameSurf rooms").
    runs: str = "sessions"
    buttons: tuple[CardButton, ...] = ()
    #: Whether Cohost can end its sessions (else they end when everyone leaves).
    endable: bool = False
    #: Its list shows a session only while people are in it: a card is closed only once it was seen and is gone.
    live_while_occupied: bool = False
    #: Its list shows sessions still to come, so a scheduled one missing from it has ended.
    lists_upcoming: bool = False
    #: Its sessions have names of their own (a MiroTalk room is only its id).
    names_sessions: bool = True
    #: The family's vendor-specific options it takes (the other vendors refuse them).
    options: frozenset[str] = field(default_factory=frozenset)

    def connect(self, config: VendorConfig, http: Callable[..., VendorHttp], clock: Clock) -> C:
        """Its client, on its own `VendorHttp` (made by `http`, the same way for every vendor)."""
        return self.build(
            config, http(vendor=self.name, base_url=self.base_url(config), secrets=self.secrets(config)), clock
        )


def _samesurf_settings(c: VendorConfig) -> dict[str, str]:
    # With the `none` algorithm nothing is signed, so the secret is not needed.
    secret = c.samesurf_api_secret or ("unsigned" if c.samesurf_jwt_alg == "none" else "")
    return {"SAMESURF_API_KEY": c.samesurf_api_key, "SAMESURF_API_SECRET": secret}


def _coviu(c: VendorConfig, http: VendorHttp, clock: Clock) -> Coviu:
    return Coviu(http, TokenSource(http, c.coviu_api_key, c.coviu_api_secret))


MIRRORTAB: VendorEntry[MirrorTab] = VendorEntry(
    "mirrortab",
    "MirrorTab",
    "cobrowse",
    settings=lambda c: {"MIRRORTAB_API_KEY": c.mirrortab_api_key},
    base_url=lambda c: c.mirrortab_url,
    secrets=lambda c: (c.mirrortab_api_key,),
    build=lambda c, http, clock: MirrorTab(http, c.mirrortab_api_key),
    adapter=MirrorTabSessions,
    buttons=(CardButton.END,),
    endable=True,
    options=frozenset({MINUTES, ACCESS}),
)
SAMESURF: VendorEntry[SameSurf] = VendorEntry(
    "samesurf",
    "SameSurf",
    "cobrowse",
    settings=_samesurf_settings,
    base_url=lambda c: c.samesurf_url.rstrip("/") + "/api/v3",
    secrets=lambda c: (c.samesurf_api_key, c.samesurf_api_secret),
    build=lambda c, http, clock: SameSurf(http, c.samesurf_api_key, c.samesurf_api_secret, c.samesurf_jwt_alg),
    adapter=SameSurfRooms,
    id_label="Room",
    runs="rooms",
    buttons=(CardButton.INVITE_LINK,),
    live_while_occupied=True,
    options=frozenset({DISABLE}),
)
MIROTALK: VendorEntry[MiroTalk] = VendorEntry(
    "mirotalk",
    "MiroTalk",
    "meeting",
    settings=lambda c: {"MIROTALK_URL": c.mirotalk_url, "MIROTALK_API_SECRET": c.mirotalk_api_secret},
    base_url=lambda c: c.mirotalk_url.rstrip("/") + "/api/v1",
    secrets=lambda c: (c.mirotalk_api_secret, c.mirotalk_host_password),
    build=lambda c, http, clock: MiroTalk(http, c.mirotalk_api_secret, host_user=c.mirotalk_host_user(), clock=clock),
    adapter=MiroTalkMeetings,
    id_label="Room",
    runs="meetings",
    buttons=(CardButton.MY_LINK, CardButton.END),
    endable=True,
    live_while_occupied=True,
    names_sessions=False,
    options=frozenset({REDIRECT, ROOM}),
)
COVIU: VendorEntry[Coviu] = VendorEntry(
    "coviu",
    "Coviu",
    "meeting",
    settings=lambda c: {"COVIU_API_KEY": c.coviu_api_key, "COVIU_API_SECRET": c.coviu_api_secret},
    base_url=lambda c: c.coviu_url,
    secrets=lambda c: (c.coviu_api_key, c.coviu_api_secret),
    build=_coviu,
    adapter=CoviuSessions,
    buttons=(CardButton.MY_LINK, CardButton.END),
    endable=True,
    lists_upcoming=True,
)
MIRRORACE: VendorEntry[MirrorAce] = VendorEntry(
    "mirrorace",
    "MirrorAce",
    "upload",
    settings=lambda c: {"MIRRORACE_API_KEY": c.mirrorace_api_key, "MIRRORACE_API_TOKEN": c.mirrorace_api_token},
    base_url=lambda c: c.mirrorace_url,
    secrets=lambda c: (c.mirrorace_api_key, c.mirrorace_api_token),
    build=lambda c, http, clock: MirrorAce(http, c.mirrorace_api_key, c.mirrorace_api_token),
    id_label="File",
)

#: Every vendor, in the order of the configuration contract: the first one on is its family's default.
VENDORS: dict[str, VendorEntry[Any]] = {v.key: v for v in (MIRRORTAB, SAMESURF, MIROTALK, COVIU, MIRRORACE)}


def vendor(key: str) -> VendorEntry[Any]:
    """The entry of `key` (a `ValueError` for a key no vendor has)."""
    try:
        return VENDORS[key]
    except KeyError:
        raise ValueError(f"unknown vendor {key!r}") from None


def family_vendors(family: str) -> list[VendorEntry[Any]]:
    return [v for v in VENDORS.values() if v.family == family]


def display_name(key: str) -> str:
    """The vendor's name as people read it (the key itself for one the registry does not know)."""
    entry = VENDORS.get(key)
    return entry.name if entry is not None else key


def offering(family: str, option: str) -> list[VendorEntry[Any]]:
    """The vendors of `family` that take `option`."""
    return [v for v in family_vendors(family) if option in v.options]


def with_button(family: str, button: CardButton) -> list[VendorEntry[Any]]:
    """The vendors of `family` whose cards carry `button`."""
    return [v for v in family_vendors(family) if button in v.buttons]


def family_title(family: str) -> str:
    """What a family's digest is called ("Co-browsing"); the key itself for one the registry does not know."""
    spec = FAMILIES.get(family)
    return spec.title if spec is not None else family
