"""A vendor's OAuth 2 client-credentials token (Coviu's): its grant, its refresh, and the errors of its endpoint."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from services.errors import VendorAuthError, VendorBadRequest, VendorError
from services.http import VendorHttp


def oauth_error_text(body: Any) -> str | None:
    """The error of a token endpoint (RFC 6749 section 5.2: `error_description`, else `error`), or a message."""
    if not isinstance(body, dict):
        return None
    for key in ("message", "error_description", "error", "detail"):
        if body.get(key):
            return str(body[key])
    return None


@dataclass
class _Token:
    access: str
    refresh: str | None
    obtained: float
    lifetime: float

    def due_for_refresh(self, now: float) -> bool:
        return now - self.obtained >= self.lifetime / 2


class TokenSource:
    """The client-credentials token (OAuth 2, RFC 6749 section 4.4), shared by every call of this process: granted
    once, refreshed at half its life by one call that everyone needing a token meanwhile waits on, granted anew
    when the refresh is refused."""

    def __init__(
        self, http: VendorHttp, api_key: str, api_secret: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._http = replace(http, error_text=oauth_error_text)
        basic = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        self._clock = clock
        self._token: _Token | None = None
        self._pending: asyncio.Task[_Token] | None = None
        self.grants = 0
        self.refreshes = 0

    async def access_token(self) -> str:
        token = self._token
        if token is not None and not token.due_for_refresh(self._clock()):
            return token.access
        # One refresh (or grant) in flight; everyone who needs a token meanwhile waits on the same one.
        if self._pending is None or self._pending.done():
            self._pending = asyncio.create_task(self._renew(token))
        return (await asyncio.shield(self._pending)).access

    def invalidate(self, access: str) -> None:
        """A call was refused with this token: the next call gets a new one."""
        if self._token is not None and self._token.access == access:
            self._token = None

    async def _renew(self, old: _Token | None) -> _Token:
        if old is not None and old.refresh:
            try:
                self.refreshes += 1
                self._token = await self._ask({"grant_type": "refresh_token", "refresh_token": old.refresh})
                return self._token
            except (VendorAuthError, VendorBadRequest):
                pass  # refresh refused (`invalid_grant`: expired or revoked): start over with a new grant
        self.grants += 1
        self._token = await self._ask({"grant_type": "client_credentials"})
        return self._token

    async def _ask(self, form: dict[str, str]) -> _Token:
        resp = await self._http.call("POST", "auth/token", form=form, headers=self._headers)
        body = resp.body if isinstance(resp.body, dict) else {}
        if not body.get("access_token"):
            raise VendorError(self._http.vendor, f"{self._http.vendor} answered the token request without a token")
        return _Token(
            access=str(body["access_token"]),
            refresh=body.get("refresh_token"),
            obtained=self._clock(),
            lifetime=float(body.get("expires_in") or 3600),
        )
