"""Nothing acked is lost (DESIGN.md, "Trust and safety"): a command is recorded before it is acknowledged
(`receive`) and its outcome after (`run`). What a process that died left open is finished by another
(handlers/intake: `recover`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from handlers.core import blocks, once
from handlers.core.interaction import Deps, Interaction
from handlers.core.workspaces import request_team
from services.errors import VendorUnavailable
from services.intake import Outcome, Received, Ticket

log = logging.getLogger("cohost.intake")


class IntakeUnavailable(Exception):
    """The command could not be recorded, so it must not be acknowledged as taken."""


async def receive(
    deps: Deps,
    context: AsyncBoltContext,
    body: dict[str, Any],
    *,
    typed: str,
    channel_id: str,
    response_url: str | None,
) -> Ticket | None:
    """Records a command (as typed, or a form that asks for the same) before it is acknowledged; None for a
    redelivery, which must act on nothing.

    Raises `IntakeUnavailable` when the store does not take it: then the command is refused, not acknowledged
    and dropped."""
    team_id = request_team(context)
    command, _, text = typed.partition(" ")
    received = Received(
        # One set of keys per team, like the handled requests': another workspace's act with the same key is its own.
        key=f"{team_id}:{once.request_key(body)}",
        team_id=team_id,
        user_id=str(context.user_id or ""),
        channel_id=channel_id,
        command=command,
        text=text.strip(),
        response_url=response_url,
        at=deps.clock.now(),
    )
    try:
        return await deps.intakes.receive(received)
    except Exception as exc:
        log.warning("a command could not be recorded (%s): refused", type(exc).__name__)
        raise IntakeUnavailable from exc


def unavailable_text(typed: str) -> blocks.Mrkdwn:
    return blocks.with_command(
        blocks.Mrkdwn(
            ":warning: Cohost could not take your command just now (its database did not answer), so it did "
            "nothing. Please try again in a moment."
        ),
        typed,
    )


async def run(ix: Interaction, work: Callable[[], Awaitable[Any]], *, help_hint: blocks.Mrkdwn | None = None) -> None:
    """Does the command's work (every failure answered privately), then records how it went."""
    failure = await ix.guarded(work, help_hint=help_hint)
    ticket = ix.intake
    if ticket is None:
        return
    intakes, now = ix.deps.intakes, ix.deps.clock.now()
    try:
        made = ticket.vendor_id is not None or isinstance(failure, VendorUnavailable)
        if failure is not None and ticket.asked is not None and ticket.card_id is None and made:
            # The vendor made a session that got no card, or may have (its answer was lost): the record stays open
            # for the session to be carded, or ended, once the vendor is surely done with the call.
            await intakes.answered_unsure(ticket.id, at=now, check_at=now + intakes.lease)
            return
        outcome = Outcome.ANSWERED if failure else Outcome.CARDED if ticket.card_id is not None else Outcome.DONE
        await intakes.finish(ticket.id, outcome, at=now, card_id=ticket.card_id)
    except Exception as exc:
        # Left open and leased to this process: the next process to start finds its card and closes it.
        log.warning("the outcome of command %s could not be recorded (%s)", ticket.id, type(exc).__name__)
