"""A family's new-session form: opened (by `/x new` with nothing after it, a global shortcut or the App Home's button),
then what it asks for started. Its card goes where the form was opened (by the command), or, from a global
shortcut's form, to the channel the person picked, in an order that loses and leaks nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers.core import blocks, slack_io
from handlers.core.blocks import Mrkdwn, channel_link, mention
from handlers.core.interaction import Interaction
from services.registry import FAMILIES

#: Draws a family's new-session form: for the channel it was opened in (None: the form asks for one), offering the
#: family's enabled vendors with its default one picked.
FormView = Callable[[str | None, list[str], str], dict[str, Any]]


async def open_form(ix: Interaction, family: str, view: FormView, channel_id: str | None) -> None:
    """Opens a family's new-session form: from its command, for the channel it was typed in; from the global shortcut
    or the App Home's button (`channel_id` None: neither names a channel), asking for one."""
    vendors = ix.deps.vendors
    form = view(channel_id, vendors.config.enabled(family), vendors.default(family))
    await ix.client.views_open(trigger_id=ix.trigger_id, view=form)


async def start_from_form(ix: Interaction, family: str, start: Callable[[], Awaitable[None]], *, picked: bool) -> None:
    """Starts the session a form asks for. Its card goes where the form was opened (by the command), as the
    command's would, or to the channel the person `picked` in it (the global shortcut's form, opened where Slack
    says nothing of where they were): see `in_picked_channel`."""
    if picked:
        await in_picked_channel(ix, family, start)
    else:
        await start()


async def in_picked_channel(ix: Interaction, family: str, start: Callable[[], Awaitable[None]]) -> None:
    """Starts a session whose card goes to a channel the person picked, in the order that loses and leaks
    nothing: first a message holding the card's place, and only once Slack took it is the vendor asked. A channel
    Cohost may not post in (a private one it was not invited to, an archived one) then costs nothing: no session is
    made that would have no card, and the person is told by direct message what to do, with what they entered. The
    card takes the held place; if the start fails, the place is given up (the person hears why, privately)."""
    noun = FAMILIES[family].noun
    try:
        held = await ix.client.chat_postMessage(
            channel=ix.channel_id,
            text=Mrkdwn(":hourglass_flowing_sand: {} is starting a {} here…").format(mention(ix.user_id), noun),
        )
    except SlackApiError as exc:
        error = slack_io.cannot_post_here(exc)
        if error is None:
            raise
        refused = Mrkdwn(
            ":warning: Cohost cannot post in {} ({}), so it started nothing. In a private channel, invite it first "
            "(`/invite @Cohost` there), or pick another channel, then submit the form again."
        ).format(channel_link(ix.channel_id), error)
        await ix.dm(ix.user_id, blocks.with_command(refused, ix.typed))
        return
    await ix.hold_place(str(held["ts"]))
    try:
        await start()
    finally:
        await ix.give_up_place()  # only if the start failed before its card took the place
