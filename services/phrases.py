"""Figures a vendor gave, as a person reads them in a phrase: counts and sizes, said to be unknown where the vendor
gave none (or gave something else)."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def plural(count: int | None, noun: str) -> str:
    """`1 room`, `3 rooms`; a count the vendor did not give is said to be unknown."""
    if count is None:
        return f"an unknown number of {noun}s"
    return f"{count} {noun}{'' if count == 1 else 's'}"


def human_size(size: int | None) -> str:
    """`35892` -> `35.1 KiB`; binary units, as file managers show them."""
    if size is None or size < 0:
        return "unknown size"
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
