"""Who a Slack user is: display name, time zone, admin rights (from `users.info`, cached briefly)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("cohost.people")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    tz: str
    is_admin: bool


class People:
    ttl_s = 300.0

    def __init__(self, client_for: Callable[[str], AsyncWebClient], admins: frozenset[str]) -> None:
        """`client_for`: the Web API client of a workspace (each asks its own about its own people)."""
        self._client_for = client_for
        self._admins = admins
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}

    async def get(self, user_id: str, team_id: str) -> Person:
        cached = self._cache.get((team_id, user_id))
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            user = (await self._client_for(team_id).users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return Person(user_id, user_id, "UTC", False)
        profile = user.get("profile") or {}
        person = Person(
            id=user_id,
            name=profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or user_id,
            tz=user.get("tz") or "UTC",
            is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        )
        self._cache[(team_id, user_id)] = (time.monotonic(), person)
        return person

    async def is_admin(self, user_id: str, team_id: str) -> bool:
        """A `COHOST_ADMINS` member, or a workspace admin or owner."""
        return user_id in self._admins or (await self.get(user_id, team_id)).is_admin
