"""The endpoints a MiroTalk server's admin may switch off (and that ship switched off): which they are, what a call
to one that is off answers, and what Cohost has learned of a server's switches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.errors import VendorAuthError, VendorDisabled, VendorError, VendorNotFound, VendorUnsupported

VENDOR = "MiroTalk"
#: The endpoints a server's admin may switch off that ship switched off, and the `.env` setting that turns each on.
Switch = Literal["meetings", "meetingEnd", "token"]
SWITCH_SETTINGS: dict[Switch, str] = {
    "meetings": "API_ALLOW_MEETINGS",
    "meetingEnd": "API_ALLOW_MEETING_END",
    "token": "API_ALLOW_TOKEN",
}
_SWITCHED_OFF_TEXT: dict[Switch, str] = {
    "meetings": "Listing meetings is switched off on this MiroTalk server",
    "meetingEnd": "Ending meetings is switched off on this MiroTalk server: a meeting ends when everyone has left",
    "token": "Tokens are switched off on this MiroTalk server",
}


@dataclass(frozen=True)
class MiroTalkSwitches:
    """Which of the endpoints that ship switched off the server has on, and when that was learned."""

    meetings: bool
    meeting_end: bool
    token: bool
    learned_at: datetime

    def by_switch(self) -> dict[Switch, bool]:
        return {"meetings": self.meetings, "meetingEnd": self.meeting_end, "token": self.token}

    def seen(self, switch: Switch, on: bool) -> MiroTalkSwitches:
        """The same, with what a real call just showed of one switch."""
        states = {**self.by_switch(), switch: on}
        return MiroTalkSwitches(states["meetings"], states["meetingEnd"], states["token"], self.learned_at)

    def __str__(self) -> str:
        return ", ".join(f"{switch} {'on' if on else 'off'}" for switch, on in self.by_switch().items())


def switch_phrases(switches: MiroTalkSwitches, *, presenter_links_on: bool) -> list[str]:
    """Which endpoints the server has switched on and whether presenter links can be made, a phrase each for the
    doctor (DESIGN: "MiroTalk as servers run it"). A switch that is off is no failure: Cohost works around it, and
    the phrase says what it costs and which server setting turns it on."""
    phrases = [
        "meetings listed" if switches.meetings else "meetings not listed (server: API_ALLOW_MEETINGS=true)",
        "ending on"
        if switches.meeting_end
        else "ending off: meetings end when everyone leaves (server: API_ALLOW_MEETING_END=true)",
    ]
    if not presenter_links_on:
        phrases.append("presenter links off (set MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD)")
    elif not switches.token:
        phrases.append("presenter links on; /meeting token off (server: API_ALLOW_TOKEN=true)")
    else:
        phrases.append("presenter links and tokens on")
    return phrases


class EndpointSwitchedOff(VendorDisabled):
    """The server's admin has one of the switchable endpoints off (as a server ships)."""

    def __init__(self, switch: Switch, *, status: int | None = None) -> None:
        super().__init__(VENDOR, _SWITCHED_OFF_TEXT[switch], status=status)
        self.switch = switch
        self.advice = f"The MiroTalk server's admin must set {SWITCH_SETTINGS[switch]}=true in the server's .env."


def switch_state(switch: Switch, error: VendorError) -> bool | None:
    """What a failed call to a switchable endpoint shows of its switch: off for the "disabled" answer (and for
    a web page: an older server without the call), on when the server went past the switch (it checks the
    switch before the secret, then looks for the room); None when the answer shows nothing of it."""
    if isinstance(error, VendorDisabled | VendorUnsupported):
        return False
    if isinstance(error, VendorAuthError | VendorNotFound):
        return True
    return None
