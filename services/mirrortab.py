"""MirrorTab: co-browsing sessions. Every call is a POST with a JSON body carrying `api_key`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from pydantic import ValidationError

from services import markers
from services.errors import VendorBadRequest, VendorError
from services.http import VendorHttp
from services.markers import MarkedSession
from services.phrases import plural
from services.vendor_values import Rows, VendorText, VendorTime

VENDOR = "MirrorTab"
Permissions = Literal["open", "gocode", "account"]
#: The doc's defaults. The spec disagrees on `permissions`, so both are always sent explicitly.
DEFAULT_PERMISSIONS: Permissions = "gocode"
DEFAULT_DURATION_MIN = 45


class MirrorTabSession(MarkedSession):
    go_url: VendorText = None
    gocode: VendorText = None
    #: The vendor's kill time; None when it gave none or one out of range (shown as unknown).
    kill_time: VendorTime = None


def error_text(body: Any) -> str | None:
    """`{"error_msg": ...}`, or field errors such as `{"api_key": ["This field is required."]}`."""
    if not isinstance(body, dict) or not body:
        return None
    if body.get("error_msg"):
        return str(body["error_msg"])
    parts = [f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}" for key, value in body.items()]
    return "; ".join(parts) or None


def _removed(value: object) -> bool:
    # `removed` comes as a boolean or as the strings "true"/"false".
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _session(session_id: str, data: dict[str, Any]) -> MirrorTabSession:
    raw_name = data.get("session_name")
    return MirrorTabSession.model_validate(
        {
            "session_id": session_id,
            "session_name": raw_name if isinstance(raw_name, str) else None,
            "go_url": data.get("go_url"),
            "gocode": data.get("gocode") or None,
            "kill_time": data.get("kill_time_UTC", data.get("kill_time")),
        }
    )


def _is_link(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


class MirrorTab:
    vendor = VENDOR

    def __init__(self, http: VendorHttp, api_key: str) -> None:
        self._http = replace(http, error_text=error_text)
        self._api_key = api_key

    async def new_session(
        self,
        *,
        name: str | None = None,
        permissions: Permissions = DEFAULT_PERMISSIONS,
        duration_min: int = DEFAULT_DURATION_MIN,
        urls: list[str] | None = None,
        marker: str | None = None,
    ) -> MirrorTabSession:
        """`marker`: put into the session's name, so the session can be told apart in `list_sessions` even if
        this call's answer is never read."""
        body: dict[str, Any] = {"api_key": self._api_key, "permissions": permissions, "duration_min": duration_min}
        if name or marker:
            body["session_name"] = markers.mark(name or "", marker).strip()
        if urls:
            body["urls"] = urls
        resp = await self._http.call("POST", "new_session", json_body=body)
        data = resp.body if isinstance(resp.body, dict) else {}
        session_id = data.get("session_id")
        if not isinstance(session_id, str | int) or not str(session_id).strip() or not _is_link(data.get("go_url")):
            raise VendorError(VENDOR, "MirrorTab answered without a session id or join link")
        return _session(str(session_id), data)

    async def list_sessions(self) -> Rows[MirrorTabSession]:
        """The live sessions; a session whose details cannot be read is counted in `unreadable`."""
        resp = await self._http.call("POST", "list_sessions", json_body={"api_key": self._api_key}, safe_to_repeat=True)
        if resp.status == 204 or resp.body is None:
            return Rows()
        if not isinstance(resp.body, dict):
            return Rows(unreadable=1)
        sessions: list[MirrorTabSession] = []
        unreadable = 0
        for sid, data in resp.body.items():
            try:
                sessions.append(_session(sid, data if isinstance(data, dict) else {}))
            except ValidationError:
                unreadable += 1
        return Rows(sessions, unreadable)

    async def probe(self) -> str:
        """The doctor's harmless live call: what works, in a phrase (a typed `VendorError` when it does not)."""
        return f"API key accepted; {plural(len(await self.list_sessions()), 'live session')}"

    async def remove_session(self, session_id: str) -> None:
        resp = await self._http.call(
            "POST", "remove_session", json_body={"api_key": self._api_key, "session_id": session_id}
        )
        if not (isinstance(resp.body, dict) and _removed(resp.body.get("removed"))):
            raise VendorBadRequest(VENDOR, error_text(resp.body) or "MirrorTab did not remove the session")
