"""The vendor registry: everything that differs between vendors, declared once.

Per vendor: its key, display name and family, what it calls the thing a card shows (its id label), its settings
(the variables of the configuration contract, their defaults, which turn it on, which is its address), the buttons
its cards carry (End where Cohost can end its sessions), how its sessions show in its own list, which of its
family's options it takes, and how its client and its family adapter are built (every client the same way: a
`VendorHttp` on the shared pool, the client adding its own hooks in its constructor, and a `probe()`, the doctor's
one harmless live call).
Handlers and scheduled jobs ask the registry, or the vendor's adapter, instead of branching on vendor names;
adding a vendor is a client, a simulator, an entry here and its adapter: the settings (`bot/settings.py`) and the
doctor (`bot/doctor_checks.py`) read their vendor parts from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar

from services.client_credentials import TokenSource
from services.clock import Clock
from services.cobrowsing import ACCESS, DISABLE, MINUTES, MirrorTabSessions, SameSurfRooms
from services.coviu import Coviu
from services.http import VendorHttp
from services.meetings import CoviuSessions, MiroTalkMeetings
from services.mirotalk import MAX_DURATION_MINUTES, HostUser, MiroTalk
from services.mirrorace import MirrorAce
from services.mirrortab import MirrorTab
from services.samesurf import SameSurf
from services.sessions import SessionAdapter

FamilyKey = Literal["cobrowse", "meeting", "upload"]
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
    #: The setting that names its default vendor (none for a family of one vendor).
    provider: str = ""


FAMILIES: dict[str, FamilySpec] = {
    family.key: family
    for family in (
        FamilySpec("cobrowse", "/cobrowse", "Co-browsing", "session", provider="COBROWSE_PROVIDER"),
        FamilySpec("meeting", "/meeting", "Meetings", "meeting", provider="MEETING_PROVIDER"),
        FamilySpec("upload", "/upload", "Uploads", "file"),
    )
}

#: Words in a setting's name that make its value a credential: never shown, kept exact, kept out of every error.
CREDENTIAL_WORDS = ("SECRET", "TOKEN", "KEY", "PASSWORD")


def is_credential(name: str) -> bool:
    return any(word in name for word in CREDENTIAL_WORDS)


@dataclass(frozen=True)
class Setting:
    """One environment variable of a vendor, as the configuration contract (DESIGN.md) names it."""

    name: str
    default: str = ""
    #: It must be non-empty for the vendor to be on.
    needed: bool = False
    #: It says where the vendor is: an http(s) URL, checked at start, and named when the vendor cannot be reached.
    address: bool = False
    #: The values it may take (any text where empty).
    choices: tuple[str, ...] = ()


def credentials(*names: str) -> tuple[Setting, ...]:
    """Settings the vendor needs, every one, to be on (its key, its secret)."""
    return tuple(Setting(name, needed=True) for name in names)


def address(name: str, default: str = "") -> Setting:
    """The setting that says where the vendor is; one with no default must be set for the vendor to be on."""
    return Setting(name, default, needed=not default, address=True)


#: Vendor settings by their variables' names, every one present (`VendorConfig.values`).
Values = Mapping[str, str]


class VendorClient(Protocol):
    """What every vendor's client has, besides its own calls."""

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase; a typed `VendorError` when it does not."""
        ...


C = TypeVar("C", bound=VendorClient)


@dataclass(frozen=True)
class VendorEntry(Generic[C]):
    key: str
    name: str
    family: FamilyKey
    #: Its variables, in the order of the configuration contract.
    settings: tuple[Setting, ...]
    build: Callable[[Values, VendorHttp, Clock], C]
    adapter: Callable[[C], SessionAdapter] | None = None
    #: What its client adds to its address (`/api/v3`), the one slash between them.
    api_path: str = ""
    #: The variables still empty that it needs to be on, where that depends on other settings.
    unset: Callable[[Values], list[str]] | None = None
    #: Settings that go together (both or neither), with what they are together.
    pairs: tuple[tuple[str, str, str], ...] = ()
    #: The settings to check when it refuses Cohost's credentials (its needed credentials unless named).
    refused: tuple[str, ...] = ()
    #: What the vendor calls the thing a card shows ("Session", "Room").
    id_label: str = "Session"
    #: What it runs, in a sentence ("MiroTalk meetings", "SameSurf rooms").
    runs: str = "sessions"
    buttons: tuple[CardButton, ...] = ()
    #: Its list shows a session only while people are in it: a card is closed only once it was seen and is gone.
    live_while_occupied: bool = False
    #: Its list shows sessions still to come, so a scheduled one missing from it has ended.
    lists_upcoming: bool = False
    #: Its sessions have names of their own (a MiroTalk room is only its id).
    names_sessions: bool = True
    #: The family's vendor-specific options it takes (the other vendors refuse them).
    options: frozenset[str] = field(default_factory=frozenset)
    #: The longest session it takes, in minutes, where that is less than Cohost's own bound (a week).
    max_minutes: int | None = None

    @property
    def endable(self) -> bool:
        """Whether Cohost can end its sessions (else they end when everyone leaves): what its cards' End is for."""
        return CardButton.END in self.buttons

    def missing(self, values: Values) -> list[str]:
        """The variables still empty that it needs to be on (none: it is on)."""
        if self.unset is not None:
            return self.unset(values)
        return [s.name for s in self.settings if s.needed and not values[s.name]]

    @property
    def address(self) -> str:
        """The setting that says where it is."""
        return next(s.name for s in self.settings if s.address)

    @property
    def credentials_refused(self) -> tuple[str, ...]:
        return self.refused or tuple(s.name for s in self.settings if s.needed and is_credential(s.name))

    def base_url(self, values: Values) -> str:
        """Where its client calls: its address, and its API path after it."""
        address = values[self.address]
        return address.rstrip("/") + self.api_path if self.api_path else address

    def secrets(self, values: Values) -> tuple[str, ...]:
        """Values its errors must never show (keys, secrets)."""
        return tuple(values[s.name] for s in self.settings if is_credential(s.name))

    def connect(self, values: Values, http: Callable[..., VendorHttp], clock: Clock) -> C:
        """Its client, on its own `VendorHttp` (made by `http`, the same way for every vendor)."""
        return self.build(
            values, http(vendor=self.name, base_url=self.base_url(values), secrets=self.secrets(values)), clock
        )


def _samesurf_unset(v: Values) -> list[str]:
    # With the `none` algorithm nothing is signed, so the secret is not needed.
    needed = ["SAMESURF_API_KEY"] + ([] if v["SAMESURF_JWT_ALG"] == "none" else ["SAMESURF_API_SECRET"])
    return [name for name in needed if not v[name]]


def _mirotalk(v: Values, http: VendorHttp, clock: Clock) -> MiroTalk:
    username, password = v["MIROTALK_HOST_USERNAME"], v["MIROTALK_HOST_PASSWORD"]
    host = HostUser(username, password) if username and password else None
    return MiroTalk(http, v["MIROTALK_API_SECRET"], host_user=host, clock=clock)


def _coviu(v: Values, http: VendorHttp, clock: Clock) -> Coviu:
    return Coviu(http, TokenSource(http, v["COVIU_API_KEY"], v["COVIU_API_SECRET"]))


MIRRORTAB: VendorEntry[MirrorTab] = VendorEntry(
    "mirrortab",
    "MirrorTab",
    "cobrowse",
    settings=(*credentials("MIRRORTAB_API_KEY"), address("MIRRORTAB_URL", "https://api.mirrortab.com")),
    build=lambda v, http, clock: MirrorTab(http, v["MIRRORTAB_API_KEY"]),
    adapter=MirrorTabSessions,
    buttons=(CardButton.END,),
    options=frozenset({MINUTES, ACCESS}),
)
SAMESURF: VendorEntry[SameSurf] = VendorEntry(
    "samesurf",
    "SameSurf",
    "cobrowse",
    settings=(
        *credentials("SAMESURF_API_KEY", "SAMESURF_API_SECRET"),
        address("SAMESURF_URL", "https://api.samesurf.com"),
        Setting("SAMESURF_JWT_ALG", "HS256", choices=("HS256", "HS384", "HS512", "none")),
    ),
    unset=_samesurf_unset,
    refused=("SAMESURF_API_KEY", "SAMESURF_API_SECRET", "SAMESURF_JWT_ALG"),
    api_path="/api/v3",
    build=lambda v, http, clock: SameSurf(http, v["SAMESURF_API_KEY"], v["SAMESURF_API_SECRET"], v["SAMESURF_JWT_ALG"]),
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
    settings=(
        address("MIROTALK_URL"),
        *credentials("MIROTALK_API_SECRET"),
        Setting("MIROTALK_HOST_USERNAME"),
        Setting("MIROTALK_HOST_PASSWORD"),
    ),
    pairs=(("MIROTALK_HOST_USERNAME", "MIROTALK_HOST_PASSWORD", "the MiroTalk host user's sign-in"),),
    api_path="/api/v1",
    build=_mirotalk,
    adapter=MiroTalkMeetings,
    id_label="Room",
    runs="meetings",
    buttons=(CardButton.MY_LINK, CardButton.END),
    live_while_occupied=True,
    names_sessions=False,
    options=frozenset({REDIRECT, ROOM}),
    max_minutes=MAX_DURATION_MINUTES,  # its join links carry the length as HH:MM:SS
)
COVIU: VendorEntry[Coviu] = VendorEntry(
    "coviu",
    "Coviu",
    "meeting",
    settings=(*credentials("COVIU_API_KEY", "COVIU_API_SECRET"), address("COVIU_URL", "https://api.coviu.com/v1")),
    build=_coviu,
    adapter=CoviuSessions,
    buttons=(CardButton.MY_LINK, CardButton.END),
    lists_upcoming=True,
)
MIRRORACE: VendorEntry[MirrorAce] = VendorEntry(
    "mirrorace",
    "MirrorAce",
    "upload",
    settings=(
        *credentials("MIRRORACE_API_KEY", "MIRRORACE_API_TOKEN"),
        address("MIRRORACE_URL", "https://mirrorace.com/api/v1"),
    ),
    build=lambda v, http, clock: MirrorAce(http, v["MIRRORACE_API_KEY"], v["MIRRORACE_API_TOKEN"]),
    id_label="File",
)

#: Every vendor, in the order of the configuration contract: the first one on is its family's default.
VENDORS: dict[str, VendorEntry[Any]] = {v.key: v for v in (MIRRORTAB, SAMESURF, MIROTALK, COVIU, MIRRORACE)}


def vendor_settings() -> list[Setting]:
    """Every vendor's variables, in the order of the configuration contract."""
    return [setting for entry in VENDORS.values() for setting in entry.settings]


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
