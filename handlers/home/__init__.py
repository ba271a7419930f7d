"""The App Home tab: what a person has in Cohost, published for them when they open the tab and again whenever one of
their cards starts or closes (ended, expired, from a click, a command or the scheduler).

Its session buttons are the cards' own (same action ids and values), so the card's click handlers do the work; a
click from the Home comes with no channel and no message, and its answers go to the person by direct message
(`slack_io.private`). Its own button turns a digest off. Drawing it is `views`; what it shows is read here.

A Home is published for a card's creator whenever the card changes, whether or not they have opened the tab yet:
knowing who has would take a row per person in the store (every process publishes, the scheduler's too), and a
publish is one cheap call off every request's path. Slack shows the latest one when the tab is opened.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core import blocks, cards, listeners, retries
from handlers.core.background import together
from handlers.core.blocks import Mrkdwn
from handlers.core.interaction import Deps, Interaction
from handlers.core.workspaces import request_team
from handlers.digest.schedule import Schedule
from handlers.home import views
from handlers.home.views import HomeData, HomeDigest, HomeSession, VendorState
from services import registry
from services.store import Card

log = logging.getLogger("cohost.home")


async def home_of(deps: Deps, team_id: str, user_id: str) -> HomeData:
    """What the person's Home shows, from the store alone (and, for the vendors' states, what their HTTP layers
    last saw): no vendor is called."""
    now = deps.clock.now()
    # One more than is shown of each list: the Home then says there are more.
    live, upcoming, subscriptions, admin = await together(
        deps.store.person_cards(team_id, user_id, now, upcoming=False, limit=views.MAX_LIVE + 1),
        deps.store.person_cards(team_id, user_id, now, upcoming=True, limit=views.MAX_UPCOMING + 1),
        deps.store.team_digests(team_id, limit=views.MAX_DIGESTS + 1),
        deps.people.is_admin(user_id, team_id),
    )
    can_end: dict[str, bool] = {}

    async def session_of(card: Card) -> HomeSession:
        entry = registry.vendor(card.vendor)
        if entry.key not in can_end:
            can_end[entry.key] = await cards.can_end_now(deps, entry)
        shown = cards.card_of(
            entry,
            card.vendor_id,
            name=card.name,
            creator_id=card.creator_id,
            join_url=card.join_url,
            starts_at=card.starts_at,
            expires_at=card.expires_at,
            can_end=can_end[entry.key],
        )
        return HomeSession(card.id, shown, card.channel_id if card.ts else "")

    digests = [
        HomeDigest(
            channel_id=sub.channel_id,
            family=sub.family,
            title=registry.family_title(sub.family),
            schedule=Schedule.of(sub).describe(),
            next_run_at=sub.next_run_at,
            can_turn_off=admin or sub.created_by == user_id,
        )
        for sub in subscriptions
    ]
    vendors = None
    if admin:
        config = deps.vendors.config
        vendors = [
            VendorState(v.name, config.missing(v.key), deps.vendors.failure(v.key)) for v in registry.VENDORS.values()
        ]
    return HomeData(
        user_id=user_id,
        live=[await session_of(card) for card in live],
        upcoming=[await session_of(card) for card in upcoming],
        digests=digests,
        vendors=vendors,
    )


class Publisher:
    """Publishes people's Homes, one at a time per person: a change while one is being published publishes again
    once it is done (so the last one out shows the latest state), and any number of changes in between publish
    once; in a burst (the scheduler expiring many of one person's cards) at most one every `burst_gap_s`. A
    failure is logged, never raised: it never fails the work that changed the card."""

    #: Between two publishes of one person's Home in a burst: the store and Slack (views.publish allows about a
    #: hundred a minute per workspace) are not kept busy redrawing a tab nobody may be looking at.
    burst_gap_s = 2.0

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        #: The people whose Home is being published now, and whether it changed again meanwhile.
        self._running: dict[tuple[str, str], bool] = {}

    def card_changed(self, card: Card) -> None:
        """A card started or closed: its creator's Home is published again, in the background."""
        self.refresh(self._deps.slack_for(card.team_id), card.team_id, card.creator_id)

    def refresh(self, client: AsyncWebClient, team_id: str, user_id: str) -> asyncio.Task[None] | None:
        """Publishes the person's Home in the background (the task, or None when one under way will do it)."""
        key = (team_id, user_id)
        if key in self._running:
            self._running[key] = True
            return None
        self._running[key] = False
        return self._deps.in_background(self._publish_until_current(client, key))

    async def _publish_until_current(self, client: AsyncWebClient, key: tuple[str, str]) -> None:
        try:
            while True:
                self._running[key] = False
                await self.publish(client, *key)
                if not self._running[key]:
                    return
                await asyncio.sleep(self.burst_gap_s)  # changed again meanwhile: once more, after a breath
        finally:
            del self._running[key]

    async def publish(self, client: AsyncWebClient, team_id: str, user_id: str) -> None:
        try:
            view = views.home_view(await home_of(self._deps, team_id, user_id))
            await client.views_publish(user_id=user_id, view=view)
        except Exception as exc:
            log.warning("the Home of %s in %s was not published: %s", user_id, team_id, retries.what_failed(exc))


async def turn_off_digest(ix: Interaction, value: str, publisher: Publisher) -> None:
    """The Home's "Turn off" of a digest: by its subscriber or an admin; anyone else is told why not."""
    channel_id, family = views.read_digest_value(value)
    title = registry.family_title(family)
    where = blocks.channel_link(channel_id)
    sub = await ix.deps.store.digest(ix.team_id, channel_id, family)
    if sub is None:
        await ix.private(Mrkdwn("The {} digest of {} is already off.").format(title.lower(), where))
    elif sub.created_by != ix.user_id and not await ix.is_admin():
        await ix.private(
            Mrkdwn(
                ":no_entry: Only {} (who set it up), a Cohost admin or a workspace admin can turn off the {} digest "
                "of {}."
            ).format(blocks.mention(sub.created_by), title.lower(), where)
        )
        return
    elif await ix.deps.store.remove_digest(ix.team_id, channel_id, family):
        await ix.private(Mrkdwn("The {} digest of {} is off.").format(title.lower(), where))
    task = publisher.refresh(ix.client, ix.team_id, ix.user_id)
    if task is not None:
        await task


def register(app: AsyncApp, deps: Deps) -> None:
    publisher = Publisher(deps)
    deps.card_changed = publisher.card_changed

    @app.event("app_home_opened")
    async def opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return  # the Messages tab, or About
        publisher.refresh(context.client, request_team(context), str(event["user"]))  # in the background

    async def turn_off(ix: Interaction, value: str) -> None:
        await turn_off_digest(ix, value, publisher)

    listeners.click(app, deps, views.DIGEST_OFF, turn_off)
