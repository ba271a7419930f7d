"""What every handler gets: the services, and an `Interaction` that answers the person who acted.

`Interaction.private` is how every failure and every personal link reaches its person alone: through the
request's `response_url` when there is one, else as an ephemeral message, else by direct message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core import blocks, once, slack_io
from handlers.core.acks_first import AcksFirst
from handlers.core.background import BackgroundWork
from handlers.core.bounds import InputRules, ParseError
from handlers.core.people import People, Person
from handlers.core.when import zone
from handlers.core.workspaces import HomeTeam, Workspaces, request_team, token_gone
from services.clock import Clock
from services.errors import InvalidInput, VendorError
from services.intake import Intakes, Ticket
from services.store import Card, Store
from services.vendors import Vendors

log = logging.getLogger("cohost.handlers")


@dataclass
class Deps:
    vendors: Vendors
    store: Store
    clock: Clock
    people: People
    #: The Web API client, for work no request started (scheduled warnings, reminders, digests).
    client: AsyncWebClient
    #: Commands recorded before they are acknowledged, and finished after (services/intake.py).
    intakes: Intakes
    #: `EXPIRY_WARNING_MINUTES`: how long before an expiry or a scheduled start people hear of it.
    warning_lead: timedelta = timedelta(minutes=5)
    #: The workspace the bot token serves (learned at start); requests from any other team do nothing.
    home: HomeTeam = field(default_factory=HomeTeam)
    #: Each workspace's Web API client: the one bot token's, or (OAuth) each installation's own.
    workspaces: Workspaces | None = None
    #: Acknowledged work waits for the front door to fall quiet (handlers/core/acks_first.py).
    acks: AcksFirst = field(default_factory=AcksFirst)
    #: Told of every card that started or closed (its creator's Home tab shows it: handlers/home). It must return
    #: at once and never raise: the card's own flow does not wait for it.
    card_changed: Callable[[Card], None] = field(default=lambda card: None)
    #: Work left running in the background (a command's work after its ack, a Home published after a card changed).
    background: BackgroundWork = field(default_factory=BackgroundWork)

    @property
    def input_rules(self) -> InputRules:
        """What typed input may hold beyond the fixed bounds, by this deployment's settings."""
        return InputRules(allow_private_urls=self.vendors.config.allow_private_urls)

    def in_background(self, work: Awaitable[None]) -> asyncio.Task[None]:
        """Runs `work` without anyone waiting for it; it is finished (or cut off) when the process stops."""
        return self.background.start(work)

    async def first_delivery(self, team_id: str, body: dict[str, Any]) -> bool:
        """False when Slack redelivers an act already handled: acknowledge it, act on nothing."""
        return await once.first_delivery(self.store, self.clock, team_id, body)

    def slack_for(self, team_id: str) -> AsyncWebClient:
        """The Web API client for work in the workspace `team_id` that no request started (the scheduler's
        warnings, reminders, expiries and digests): with one workspace its bot token's, with many (OAuth) the
        token of that workspace's installation."""
        return self.client if self.workspaces is None else self.workspaces.client_for(team_id)

    async def workspace_gone(self, team_id: str, error: BaseException) -> bool:
        """After a failure that says the workspace's token will never work again (uninstalled, revoked): that
        workspace's work is stopped instead of retried, and True comes back. False for any other failure."""
        if self.workspaces is None or not self.workspaces.many or not token_gone(error):
            return False
        why = f"Slack answered {error.response.get('error')}" if isinstance(error, SlackApiError) else str(error)
        await self.workspaces.gone(team_id, why)
        return True


@dataclass
class Interaction:
    deps: Deps
    client: AsyncWebClient
    team_id: str
    user_id: str
    channel_id: str
    respond: AsyncRespond | None = None
    #: The command as the person typed it, given back with any failure so nothing they wrote is lost.
    typed: str | None = None
    trigger_id: str | None = None
    #: The message a button was clicked on.
    message_ts: str | None = None
    #: The command's intake record, while it is being handled (None for clicks, and after a crash).
    intake: Ticket | None = None
    #: A message Cohost already posted in the channel to hold the card's place (handlers/core/cards.py,
    #: `form_start.in_picked_channel`): the card replaces it instead of being posted anew.
    reserved_ts: str | None = None

    @classmethod
    def of(
        cls,
        deps: Deps,
        context: AsyncBoltContext,
        body: dict[str, Any],
        *,
        typed: str | None = None,
        channel_id: str | None = None,
        intake: Ticket | None = None,
    ) -> Interaction:
        """The one place an Interaction is made: who acted, where and on what, from Bolt's context (which has
        read the team, user, channel and response_url out of any kind of request) and the few ids it leaves in
        the body. `channel_id` stands in where the request names none (a form carries its channel itself)."""
        container: dict[str, Any] = body.get("container") or {}
        message: dict[str, Any] = body.get("message") or {}
        channel = channel_id if channel_id is not None else context.channel_id or container.get("channel_id")
        return cls(
            deps=deps,
            client=context.client,
            team_id=request_team(context),
            user_id=str(context.user_id or ""),
            channel_id=str(channel or ""),
            respond=context.respond if context.response_url else None,
            typed=typed,
            trigger_id=body.get("trigger_id"),
            message_ts=container.get("message_ts") or message.get("ts"),
            intake=intake,
        )

    def marker_for(self, vendor: str) -> str | None:
        """What to put into the name of the session about to be asked of `vendor`, so it is recognisable there
        after a crash or a lost answer (services/markers.py)."""
        if self.intake is None:
            return None
        self.intake.asked = vendor
        return self.intake.marker

    async def started(self, vendor: str, vendor_id: str) -> None:
        """The vendor created the session: its id is recorded before anything else happens."""
        if self.intake is not None:
            await self.deps.intakes.started(self.intake, vendor, vendor_id)

    async def private(self, text: blocks.Mrkdwn, blocks_: list[blocks.Block] | None = None) -> None:
        await slack_io.private(self.client, self.respond, self.channel_id, self.user_id, text, blocks_)

    async def dm(self, user_id: str, text: blocks.Mrkdwn, blocks_: list[blocks.Block] | None = None) -> None:
        await slack_io.dm(self.client, user_id, text, blocks_)

    async def hold_place(self, ts: str) -> None:
        """The message `ts` holds the card's place in the channel: the card will take it. Recorded with the
        command, so that after a crash the process finishing it does the same, or takes the message away."""
        self.reserved_ts = ts
        if self.intake is not None:
            await self.deps.intakes.holding(self.intake, ts)

    async def give_up_place(self) -> None:
        """Takes away the message holding the card's place, if no card took it (the start failed)."""
        if self.reserved_ts is None:
            return
        ts, self.reserved_ts = self.reserved_ts, None
        try:
            await self.client.chat_delete(channel=self.channel_id, ts=ts)
        except SlackApiError as exc:
            log.warning("a held card place could not be removed: %s", exc.response.get("error"))

    async def post_card(self, text: blocks.Mrkdwn, blocks_: list[blocks.Block]) -> str | None:
        """Posts a card in the channel; returns its ts, or None when the bot may not post there (then the
        card goes to the caller privately, with what to do). A card whose place is held takes that place."""
        if self.reserved_ts is not None:
            await self.update_message(self.channel_id, self.reserved_ts, text, blocks_)
            ts, self.reserved_ts = self.reserved_ts, None
            return ts
        try:
            resp = await self.client.chat_postMessage(channel=self.channel_id, text=text, blocks=blocks_)
        except SlackApiError as exc:
            error = slack_io.cannot_post_here(exc)
            if error is None:
                raise
            note = blocks.context(
                blocks.Mrkdwn(
                    ":information_source: I can't post in this channel ({}): invite me with `/invite @Cohost`. "
                    "Here is the card, for you alone."
                ).format(error)
            )
            await self.private(text, [*blocks_, note])
            return None
        return str(resp["ts"])

    async def update_message(self, channel: str, ts: str, text: blocks.Mrkdwn, blocks_: list[blocks.Block]) -> None:
        await slack_io.update(self.client, channel, ts, text, blocks_)

    async def is_admin(self) -> bool:
        return await self.deps.people.is_admin(self.user_id, self.team_id)

    async def person(self, user_id: str | None = None) -> Person:
        """Who a person of this workspace is (the one who acted, unless `user_id`)."""
        return await self.deps.people.get(user_id or self.user_id, self.team_id)

    async def tz(self, override: str | None = None) -> ZoneInfo:
        return zone(override) if override else zone((await self.person()).tz)

    async def guarded(
        self, work: Callable[[], Awaitable[Any]], *, help_hint: blocks.Mrkdwn | None = None
    ) -> Exception | None:
        """Runs `work`; any failure becomes a private answer to the person, never a silent stop. Returns the
        failure that was answered, None when the work ran to its end."""
        try:
            await work()
            return None
        except ParseError as exc:
            await self.private(blocks.usage_error_text(exc.message, exc.usage, self.typed, help_hint))
            return exc
        except InvalidInput as exc:
            await self.private(blocks.usage_error_text(str(exc), None, self.typed, help_hint))
            return exc
        except VendorError as exc:
            log.info("%s refused: %s (%s)", exc.vendor, type(exc).__name__, exc.status)
            await self.private(blocks.error_text(exc, self.typed))
            return exc
        except SlackApiError as exc:
            log.warning("Slack API error: %s", exc.response.get("error"))
            await self.private(blocks.internal_error_text(self.typed))
            return exc
        except Exception as exc:
            log.exception("handler failed")
            await self.private(blocks.internal_error_text(self.typed))
            return exc
