"""`python -m bot doctor`: is this setup right? One harmless live call to each configured part (`bot.doctor_checks`),
all at once, each within `VENDOR_TIMEOUT_S`, and one line per part: its name, `ok` / `off` / `FAILED`, what works,
and what to do.

Exit status 0 only when every configured part is ok, else 1 (2, before any check, for unusable settings). A part
that is off is not a failure: its line names the variables that turn it on. Nothing printed carries a secret:
vendors' typed errors are kept free of them, and every line is scrubbed of every secret setting besides.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TextIO

from sqlalchemy.engine import make_url

from bot.doctor_checks import PARTS, Finding, Part, Setup
from bot.settings import Settings
from services.http import HttpPool, redact
from services.phrases import plural
from services.registry import is_credential
from services.vendors import Vendors

# -- running them ------------------------------------------------------------------------------------------------


async def _bounded(part: Part, setup: Setup) -> Finding:
    limit = setup.settings.VENDOR_TIMEOUT_S
    try:
        async with asyncio.timeout(limit):
            return await part.check(setup)
    except TimeoutError:
        return Finding(
            "FAILED",
            f"no answer within {limit:g} s",
            f"check {part.address} and that it is up (VENDOR_TIMEOUT_S sets how long to wait)",
        )
    except Exception as exc:
        return Finding("FAILED", f"the check itself failed ({type(exc).__name__})", "run it again")


async def examine(settings: Settings, parts: Sequence[Part] = PARTS) -> list[tuple[str, Finding]]:
    """Every part's finding, checked all at once: the whole run takes about as long as the slowest part."""
    pool = HttpPool()
    # One call each, its answer as it came: a retry would only hide what failed behind a time limit.
    setup = Setup(settings, Vendors(replace(settings.vendors, retries=0), pool), pool)
    try:
        findings = await asyncio.gather(*(_bounded(part, setup) for part in parts))
    finally:
        await pool.close()
    return [(part.name, finding) for part, finding in zip(parts, findings, strict=True)]


def secrets_of(settings: Settings) -> list[str]:
    """Every secret setting's value, the database's password included."""
    values = [
        str(getattr(settings, name))
        for name in type(settings).model_fields
        if is_credential(name) and getattr(settings, name)
    ]
    password = make_url(settings.DATABASE_URL).password
    return [*values, *([str(password)] if password else [])]


def report(results: Sequence[tuple[str, Finding]], secrets: Sequence[str]) -> list[str]:
    width = max(len(name) for name, _ in results)
    lines = []
    for name, finding in results:
        line = f"{name:<{width}}  {finding.status:<6}  {finding.detail}"
        if finding.fix:
            line += f" -> {finding.fix}"
        lines.append(line)
    configured = [finding for _, finding in results if finding.status != "off"]
    failed = sum(finding.status == "FAILED" for finding in configured)
    if failed:
        lines.append(
            f"{failed} of {plural(len(configured), 'configured part')} FAILED: "
            "fix what the arrows say, then run `python -m bot doctor` again."
        )
    else:
        lines.append(f"All {plural(len(configured), 'configured part')} ok.")
    # Longest first, so a secret that contains another is scrubbed whole.
    return [redact(line, sorted(secrets, key=len, reverse=True)) for line in lines]


def run_doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    results = asyncio.run(examine(settings))
    for line in report(results, secrets_of(settings)):
        print(line, file=out)
    return 1 if any(finding.status == "FAILED" for _, finding in results) else 0
