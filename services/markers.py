"""The marker Cohost puts into the name of every session it asks a vendor to create.

Most vendors answer with the session's id only once it is created: a process that dies while the call is under
way never learns it. The marker, chosen and recorded before the call, travels in the name the vendor keeps and
lists back (MirrorTab `session_name`, SameSurf `title`, Coviu `session_name`), so the next process can pick out
in the vendor's list the sessions Cohost started and finish them. Clients take the marker off names they read,
so nobody sees it in Slack.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from pydantic import BaseModel, model_validator

from services.vendor_values import VendorId, VendorText

#: Lower-case letters and digits (base 32: 60 random bits): survives every vendor's name field unchanged.
LENGTH = 12
_MARKED = re.compile(rf"^(?P<name>.*?) ?\(cohost:(?P<marker>[a-z0-9]{{{LENGTH}}})\)$", re.DOTALL)


def new_marker() -> str:
    """A fresh marker: random, so two Cohost installations sharing a vendor account never claim each other's."""
    return base64.b32encode(secrets.token_bytes(8)).decode().lower()[:LENGTH]


def mark(name: str, marker: str | None) -> str:
    """The name as the vendor should keep it: `Demo (cohost:abc…)`, readable in the vendor's own dashboard."""
    return f"{name} (cohost:{marker})" if marker else name


def split(name: str | None) -> tuple[str | None, str | None]:
    """(the name as the person gave it, the marker) of a name read back from a vendor; no marker: (name, None)."""
    if not name:
        return name, None
    found = _MARKED.match(name)
    if found is None:
        return name, None
    return found.group("name") or None, found.group("marker")


def lift(data: Any, field: str) -> Any:
    """For a model's `mode="before"` validator: a vendor's answer with the marker taken out of `field` and put
    in `marker`."""
    if not isinstance(data, dict) or not isinstance(data.get(field), str):
        return data
    name, marker = split(data[field])
    return {**data, field: name, "marker": marker}


class MarkedSession(BaseModel):
    """A session as a vendor lists it back (MirrorTab's, Coviu's): its id, and its name with the marker taken off
    into `marker` (None: not one Cohost started, or started before markers)."""

    session_id: VendorId
    session_name: VendorText = None
    marker: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unmark(cls, data: Any) -> Any:
        return lift(data, "session_name")
