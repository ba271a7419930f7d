"""Reading what vendors answer, a value and a row at a time, so that no answer breaks a view.

A value that is missing, of the wrong type or out of range becomes None (views show it as unknown); a row that
cannot be read at all (no id) is counted and left out, and the rest of the list still shows. A single object a
command needs (the room just created) that cannot be read is a `VendorError` naming the vendor, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from services.clock import parse_vendor_time
from services.errors import VendorError

M = TypeVar("M", bound=BaseModel)
N = TypeVar("N", bound=BaseModel)
#: Counts and sizes beyond this are not values a vendor means (and would not fit a Slack field).
LARGEST_COUNT = 10**15


def text_or_none(value: object) -> str | None:
    """Text as it came; a number shown as itself; anything else (a list, an object, a boolean) unknown."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return None


def an_id(value: object) -> str:
    """A vendor's id for a row: text or a whole number. Anything else makes the row unreadable (it raises)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("no id")


def count_or_none(value: object) -> int | None:
    """A count (rooms, people, seconds): a whole number from 0 up, or digits in a string; else unknown."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 16 else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= LARGEST_COUNT:
        return value
    return None


def amount_or_none(value: object) -> float | None:
    """An amount (average minutes): a finite number from 0 up, or one in a string; else unknown."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) if 0 <= value <= LARGEST_COUNT else None
    return None


def flag(value: object) -> bool:
    """A yes/no that vendors send as a boolean, `"true"`/`"false"` or 1/0; anything else is no."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return value is True or (isinstance(value, int) and value == 1)


VendorText = Annotated[str | None, BeforeValidator(text_or_none)]
VendorId = Annotated[str, BeforeValidator(an_id)]
VendorCount = Annotated[int | None, BeforeValidator(count_or_none)]
VendorAmount = Annotated[float | None, BeforeValidator(amount_or_none)]
VendorFlag = Annotated[bool, BeforeValidator(flag)]
VendorTime = Annotated[datetime | None, BeforeValidator(parse_vendor_time)]


class Rows(list[M]):
    """A vendor's list as read: the rows that could be, and how many could not (`unreadable`)."""

    def __init__(self, rows: Iterable[M] = (), unreadable: int = 0) -> None:
        super().__init__(rows)
        self.unreadable = unreadable

    def map(self, each: Callable[[M], N]) -> Rows[N]:
        """Each row as `each` makes it, the unreadable ones still counted."""
        return Rows([each(row) for row in self], self.unreadable)


def read_rows(model: type[M], items: object) -> Rows[M]:
    """Every row of `items` that `model` can read; the others counted. A list that is not a list is one
    unreadable answer (none when it is missing)."""
    if items is None:
        return Rows()
    if not isinstance(items, list):
        return Rows(unreadable=1)
    rows: list[M] = []
    unreadable = 0
    for item in items:
        try:
            rows.append(model.model_validate(item))
        except ValidationError:
            unreadable += 1
    return Rows(rows, unreadable)


def rows_of(model: type[M]) -> Callable[[Any], list[M]]:
    """A validator for a list inside a row (the people in a room): the readable entries, the others left out."""
    return lambda items: list(read_rows(model, items))


def read_one(model: type[M], data: object, vendor: str, what: str) -> M:
    """One object a command needs; an answer it cannot read is the vendor's failure, named and shown as such."""
    try:
        return model.model_validate(data)
    except ValidationError:
        raise VendorError(vendor, f"{vendor} answered with {what} Cohost could not read") from None
