"""SameSurf API v3, as its servers behave (samesurf.txt + NOTES.md): a fresh HS256 JWT per request
(`{"iat", "sub": API key}` signed with the API secret), application errors as HTTP 200 with
`{"success": false, "error", "errorcode"}`, rooms with follower and leader links, limited-use invitations,
analytics, and reseller subscriptions."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
from aiohttp import web

from sandbox.server import SimServer, json_body
from services.samesurf import FEATURES, OVERRIDE_KEYS

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_PROSE_TIME = re.compile(r"^(\d{2})/(\d{2})/(\d{4})T(\d{2}):(\d{2}):(\d{2})(Z?)$")


class Refusal(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(body: dict[str, Any], key: str, default: int | None = None, *, code: int = 100) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refusal(code, f"{key} must be a number")
    return value


class SameSurfSim(SimServer):
    name = "SameSurf"

    def __init__(
        self,
        api_key: str = "ss-sandbox-key",
        api_secret: str = "ss-sandbox-secret-0123456789abcdefghij",
        *,
        clock: Callable[[], float] = time.time,
        reseller: bool = True,
        allow_none_alg: bool = False,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.clock = clock
        self.reseller = reseller
        self.allow_none_alg = allow_none_alg
        self.rooms: dict[str, dict[str, Any]] = {}
        self.invitations: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.analytics: list[dict[str, Any]] = []
        super().__init__()

    def variables(self) -> dict[str, str]:
        # Signed tokens whatever else the environment says: the simulator refuses `none` unless told otherwise.
        return {
            "SAMESURF_API_KEY": self.api_key,
            "SAMESURF_API_SECRET": self.api_secret,
            "SAMESURF_URL": self.url,
            "SAMESURF_JWT_ALG": "HS256",
        }

    def routes(self) -> None:
        handlers: dict[str, Handler] = {
            "create": self._create,
            "runningrooms": self._running,
            "createlimitedusetoken": self._create_invitation,
            "deletelimitedusetoken": self._delete_invitation,
            "analyticsoverview": self._overview,
            "analyticsrooms": self._analytics_rooms,
            "roomanalytics": self._room_analytics,
            "reseller/createsubscription": self._create_subscription,
            "reseller/deletesubscription": self._delete_subscription,
            "reseller/createapikey": self._create_api_key,
        }
        for path, handler in handlers.items():
            self.app.router.add_post(f"/api/v3/{path}", self._endpoint(handler, path.startswith("reseller/")))

    def reset(self) -> None:
        super().reset()
        for table in (self.rooms, self.invitations, self.subscriptions):
            table.clear()
        self.analytics.clear()

    # -- test helpers --------------------------------------------------------------------------------------------

    def end_room(self, room: str) -> None:
        """Everyone left: the room is no longer running."""
        self.rooms[room]["running"] = False

    def seed_analytics_room(
        self,
        room: str,
        title: str,
        date: str,
        duration: int,
        screenrecordings: int = 0,
        *,
        users: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        self.analytics.append(
            {
                "room": room,
                "title": title,
                "date": date,
                "duration": duration,
                "screenrecordings": screenrecordings,
                "users": users or [],
                "events": events or [],
            }
        )

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _endpoint(self, handler: Handler, reseller_only: bool) -> Callable[[web.Request], Any]:
        async def serve(request: web.Request) -> web.Response:
            refusal = self._check_jwt(request.headers.get("Authorization", ""))
            if refusal is not None:
                return refusal
            body = await json_body(request)
            try:
                if body is None:
                    raise Refusal(100, "Invalid JSON body")
                if reseller_only and not self.reseller:
                    raise Refusal(116, "This call can only be made from a reseller subscription")
                answer = handler(body)
            except Refusal as exc:
                return web.json_response({"success": False, "error": exc.text, "errorcode": exc.code})
            return web.json_response({**answer, "success": True})

        return serve

    def _check_jwt(self, header: str) -> web.Response | None:
        def invalid(code: int = 101, text: str = "Invalid JWT") -> web.Response:
            return web.json_response({"success": False, "error": text, "errorcode": code}, status=401)

        if not header.startswith("Bearer "):
            return invalid()
        token = header.removeprefix("Bearer ").strip()
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg == "none":
                if not self.allow_none_alg:
                    return invalid()
                claims = jwt.decode(token, options={"verify_signature": False})
            else:
                claims = jwt.decode(
                    token, self.api_secret, algorithms=["HS256", "HS384", "HS512"], options={"verify_iat": False}
                )
        except jwt.PyJWTError:
            return invalid()
        if claims.get("sub") != self.api_key:
            return invalid(119, "API key not found")
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(self.clock() - iat) > 300:
            return invalid()
        return None

    # -- rooms -------------------------------------------------------------------------------------------------

    def _link(self, room: str, token: str) -> str:
        return f"{self.url}/r/{room}/{token}"

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("starturl"):
            # The doc calls `starturl` optional, but SameSurf has an error for its absence (105, NOTES.md) and every
            # example sends it: strict, a room without one is refused.
            raise Refusal(105, "starturl required")
        bookmarks = _bookmarks(body.get("bookmarks"))
        session = body.get("session") or {}
        for cookie in session.get("cookies") or []:
            missing = {"domain", "path", "name", "value", "secure", "httponly"} - set(cookie)
            if missing:
                raise Refusal(100, f"cookie is missing {', '.join(sorted(missing))}")
        for item in session.get("storage") or []:
            if {"domain", "name", "value"} - set(item):
                raise Refusal(100, "storage items need domain, name and value")
        features = _features(body.get("disabledfeatures"))
        scheduled_at = None
        if "eventtime" in body:
            scheduled_at = _event_time(str(body["eventtime"]), body.get("timezone"))
            if "lengthinminutes" in body and _int(body, "lengthinminutes") < 1:
                raise Refusal(123, "Length must be greater than or equal to 1")
        room = str(100_000_000 + secrets.randbelow(900_000_000))
        token, leadertoken = secrets.token_hex(6).upper(), secrets.token_hex(6).upper()
        now = datetime.fromtimestamp(self.clock(), UTC)
        self.rooms[room] = {
            **body,
            "bookmarks": bookmarks,
            "disabledfeatures": features,
            "room": room,
            "token": token,
            "leadertoken": leadertoken,
            "scheduled_at": scheduled_at,
            "running": scheduled_at is None,
            "starttime": now if scheduled_at is None else scheduled_at,
            "created": now,
        }
        return {
            "room": room,
            "token": token,
            "leadertoken": leadertoken,
            "privateinvitation": self._link(room, leadertoken),
            "publicinvitation": self._link(room, token),
        }

    def _running(self, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        running = [
            r
            for r in self.rooms.values()
            if r["running"]
            or (r["scheduled_at"] is not None and r["scheduled_at"] <= now and r["running"] is not False)
        ]
        skip, limit = _int(body, "skip", 0), _int(body, "limit", len(running) or 1)
        page = running[skip : skip + limit]
        return {
            "rooms": [
                {
                    "room": r["room"],
                    "starttime": _iso(r["starttime"]),
                    "title": r.get("title"),
                    "publicinvitation": self._link(r["room"], r["token"]),
                    "privateinvitation": self._link(r["room"], r["leadertoken"]),
                }
                for r in page
            ],
            "totalrooms": len(running),
        }

    def _create_invitation(self, body: dict[str, Any]) -> dict[str, Any]:
        room = str(body.get("room", ""))
        if room not in self.rooms:
            raise Refusal(102, "Invalid room")
        limit = _int(body, "usagelimit", code=125)
        if limit < 1:
            raise Refusal(125, "Usage limit must be greater than or equal to 1")
        if not isinstance(body.get("isleader"), bool):
            raise Refusal(100, "isleader must be true or false")
        token = secrets.token_hex(6).upper()
        self.invitations[token] = {
            "room": room,
            "usagelimit": limit,
            "isleader": body["isleader"],
            "usersname": body.get("usersname"),
        }
        return {"token": token, "link": self._link(room, token)}

    def _delete_invitation(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.invitations.pop(str(body.get("token", "")), None) is None:
            raise Refusal(112, "Invalid token")
        return {}

    # -- analytics ---------------------------------------------------------------------------------------------

    def _overview(self, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        rows = [
            (datetime.fromisoformat(a["date"].replace("Z", "+00:00")), a["duration"] / 60, a) for a in self.analytics
        ]
        rows += [(r["created"], 0.0, r) for r in self.rooms.values()]

        def within(days: float) -> list[float]:
            return [minutes for when, minutes, _ in rows if now - when <= timedelta(days=days)]

        def average(values: list[float]) -> int:
            return round(sum(values) / len(values)) if values else 0

        urls = [str(r.get("starturl")) for r in self.rooms.values() if r.get("starturl")]
        return {
            "url_latest": urls[-1] if urls else None,
            "url_most_popular": max(set(urls), key=urls.count) if urls else None,
            "rooms_total": len(rows),
            "rooms_today": len(within(1)),
            "rooms_thisweek": len(within(7)),
            "rooms_thismonth": len(within(31)),
            "averageduration_alltime": average([m for _, m, _ in rows]),
            "averageduration_today": average(within(1)),
            "averageduration_thisweek": average(within(7)),
            "averageduration_thismonth": average(within(31)),
        }

    def _analytics_rooms(self, body: dict[str, Any]) -> dict[str, Any]:
        skip, take = _int(body, "skip", 0), _int(body, "take", 20)
        ordered = sorted(self.analytics, key=lambda a: a["date"], reverse=True)
        page = ordered[skip : skip + take]
        return {
            "total_rooms": str(len(ordered)),  # a string, as SameSurf sends it
            "rooms": [{k: a[k] for k in ("room", "title", "date", "duration", "screenrecordings")} for a in page],
        }

    def _room_analytics(self, body: dict[str, Any]) -> dict[str, Any]:
        room = str(body.get("room", ""))
        version = _int(body, "version", 0)
        versions = [a for a in self.analytics if a["room"] == room]
        if not versions or version >= len(versions):
            raise Refusal(102, "Invalid room")
        chosen = versions[version]
        return {"title": chosen["title"], "events": chosen["events"], "users": chosen["users"]}

    # -- reseller ----------------------------------------------------------------------------------------------

    def _create_subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "")
        if not name:
            raise Refusal(100, "name is required")
        if name in self.subscriptions:
            raise Refusal(100, "A subscription with that name already exists")
        if _int(body, "licensecount") < 1:
            raise Refusal(100, "licensecount must be at least 1")
        overrides = body.get("configuration_overrides") or []
        for override in overrides:
            if override.get("key") not in OVERRIDE_KEYS or not isinstance(override.get("value"), str):
                raise Refusal(100, f"Invalid configuration override {override.get('key')!r}")
        features = _features(body.get("disabledfeatures", body.get("disabled_features")))
        self.subscriptions[name] = {
            "licensecount": body["licensecount"],
            "configuration_overrides": overrides,
            "bookmarks": _bookmarks(body.get("bookmarks")),
            "disabledfeatures": features,
            "apikeys": [],
        }
        return {}

    def _delete_subscription(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "")
        subscription = self.subscriptions.get(name)
        if subscription is None:
            raise Refusal(118, "Subscription not found")
        if subscription["apikeys"] and body.get("force") is not True:
            raise Refusal(120, "The subscription has API keys: set force=true to delete it")
        del self.subscriptions[name]
        return {}

    def _create_api_key(self, body: dict[str, Any]) -> dict[str, Any]:
        subscription = self.subscriptions.get(str(body.get("subscription") or ""))
        if subscription is None:
            raise Refusal(118, "Subscription not found")
        key = {"apikey": secrets.token_hex(12), "apisecret": secrets.token_urlsafe(24)}
        subscription["apikeys"].append(key)
        return dict(key)


def _bookmarks(value: Any) -> list[dict[str, str]]:
    bookmarks = value or []
    if not isinstance(bookmarks, list) or not all(
        isinstance(b, dict) and b.get("name") and b.get("link") for b in bookmarks
    ):
        raise Refusal(100, "Each bookmark needs a name and a link")
    return bookmarks


def _features(value: Any) -> list[str]:
    features = value or []
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise Refusal(100, f"Unknown disabled feature {unknown[0]!r}")
    return list(features)


def _event_time(text: str, zone_name: Any) -> datetime:
    zone: ZoneInfo | None = None
    if zone_name:
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise Refusal(106, "Invalid time zone") from None
    prose = _PROSE_TIME.match(text)
    try:
        if prose:
            day, month, year, hour, minute, second, utc = prose.groups()
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
            moment = moment.replace(tzinfo=UTC) if utc else moment
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(108, "Invalid event time: use ISO-8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or UTC)
    return moment
