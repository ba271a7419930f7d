"""What every handler gets: the services, and an `Interaction` that answers the person who acted.

`Interaction.private` is how every failure and every personal link reaches its person alone: through the
request's `response_url` when there is one, else as an ephemeral message, else by direct message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, once
from handlers.parsing import ParseError
from handlers.people import People
from handlers.when import zone
from services.clock import Clock
from services.errors import InvalidInput, VendorError
from services.intake import Intakes, Ticket
from services.store import Store
from services.vendors import Vendors

log = logging.getLogger("cohost.handlers")

#: chat.postMessage errors that mean "not here", where the card goes to its creator privately instead.
_CANNOT_POST_HERE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


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

    async def first_delivery(self, body: dict[str, Any]) -> bool:
        """False when Slack redelivers an act already handled: acknowledge it, act on nothing."""
        return await once.first_delivery(self.store, self.clock, body)


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

    async def private(self, text: str, blocks_: list[blocks.Block] | None = None) -> None:
        if self.respond is not None:
            try:
                sent = await self.respond(text=text, blocks=blocks_, response_type="ephemeral", replace_original=False)
                if sent.status_code == 200:
                    return
                log.warning("response_url answered %s; answering through the Web API", sent.status_code)
            except Exception as exc:  # unreachable or expired response_url: fall back to the Web API
                log.warning("response_url post failed (%s); answering through the Web API", type(exc).__name__)
        try:
            await self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, text=text, blocks=blocks_)
        except SlackApiError:
            await self.dm(self.user_id, text, blocks_)

    async def dm(self, user_id: str, text: str, blocks_: list[blocks.Block] | None = None) -> None:
        opened = await self.client.conversations_open(users=user_id)
        await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks_)

    async def post_card(self, text: str, blocks_: list[blocks.Block]) -> str | None:
        """Posts a card in the channel; returns its ts, or None when the bot may not post there (then the
        card goes to the caller privately, with what to do)."""
        try:
            resp = await self.client.chat_postMessage(channel=self.channel_id, text=text, blocks=blocks_)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error not in _CANNOT_POST_HERE:
                raise
            note = blocks.context(
                f":information_source: I can't post in this channel ({error}): invite me with `/invite @Cohost`. "
                "Here is the card, for you alone."
            )
            await self.private(text, [*blocks_, note])
            return None
        return str(resp["ts"])

    async def update_message(self, channel: str, ts: str, text: str, blocks_: list[blocks.Block]) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks_)

    async def is_admin(self) -> bool:
        return await self.deps.people.is_admin(self.user_id)

    async def tz(self, override: str | None = None) -> ZoneInfo:
        return zone(override) if override else zone((await self.deps.people.get(self.user_id)).tz)

    async def guarded(self, work: Callable[[], Awaitable[Any]], *, help_hint: str = "") -> Exception | None:
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
