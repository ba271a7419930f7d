"""MirrorTab: co-browsing sessions. Every call is a POST with a JSON body carrying `api_key`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from services import markers
from services.clock import parse_vendor_time
from services.errors import VendorBadRequest, VendorError
from services.http import VendorHttp

VENDOR = "MirrorTab"
Permissions = Literal["open", "gocode", "account"]
#: The doc's defaults. The spec disagrees on `permissions`, so both are always sent explicitly.
DEFAULT_PERMISSIONS: Permissions = "gocode"
DEFAULT_DURATION_MIN = 45


class MirrorTabSession(BaseModel):
    session_id: str
    session_name: str | None = None
    go_url: str
    gocode: str | None = None
    kill_time: datetime | None = None
    #: The marker Cohost put into the name when it created the session (`services.markers`), taken off the name.
    marker: str | None = None


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
    name, marker = markers.split(raw_name if isinstance(raw_name, str) else None)
    return MirrorTabSession(
        session_id=session_id,
        session_name=name,
        marker=marker,
        go_url=str(data.get("go_url", "")),
        gocode=data.get("gocode") or None,
        kill_time=parse_vendor_time(data.get("kill_time_UTC", data.get("kill_time"))),
    )


class MirrorTab:
    vendor = VENDOR

    def __init__(self, http: VendorHttp, api_key: str) -> None:
        self._http = http
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
        if not data.get("session_id") or not data.get("go_url"):
            raise VendorError(VENDOR, "MirrorTab answered without a session id or join link")
        return _session(str(data["session_id"]), data)

    async def list_sessions(self) -> list[MirrorTabSession]:
        resp = await self._http.call("POST", "list_sessions", json_body={"api_key": self._api_key}, safe_to_repeat=True)
        if resp.status == 204 or not isinstance(resp.body, dict):
            return []
        return [_session(sid, data) for sid, data in resp.body.items() if isinstance(data, dict)]

    async def remove_session(self, session_id: str) -> None:
        resp = await self._http.call(
            "POST", "remove_session", json_body={"api_key": self._api_key, "session_id": session_id}
        )
        if not (isinstance(resp.body, dict) and _removed(resp.body.get("removed"))):
            raise VendorBadRequest(VENDOR, error_text(resp.body) or "MirrorTab did not remove the session")
