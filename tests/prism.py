"""Prism (`@stoplight/prism-cli`) between a client and a simulator, checking requests against a vendor's spec.

In proxy mode with `--errors`, a request that breaks the spec answers 422 and is not forwarded, so the client's
call fails; an upstream answer the spec does not allow becomes a 500.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DOCS = ROOT.parent / "shared" / "vendor-docs"


def prism_binary() -> str:
    found = shutil.which("prism") or str(ROOT / ".venv" / "prism" / "node_modules" / ".bin" / "prism")
    if not os.path.exists(found):
        pytest.fail("Prism is not installed: scripts/test installs it (npm @stoplight/prism-cli)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def sandbox_process(*args: str) -> Iterator[dict[str, dict[str, str]]]:
    """`python -m sandbox` in its own process; yields, per stand-in, the settings that point Cohost at it."""
    process = subprocess.Popen([sys.executable, "-m", "sandbox", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def prism_proxy(spec: str, upstream: str) -> Iterator[str]:
    """Prism checking requests against `vendor-docs/{spec}`, forwarding to `upstream`; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [prism_binary(), "proxy", str(VENDOR_DOCS / spec), upstream, "-p", str(port), "-h", "127.0.0.1", "--errors"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
