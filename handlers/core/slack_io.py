"""Slack I/O written once: a message to a person alone (response_url, else ephemeral, else a direct message), a
direct message, a post that may find the channel closed to the bot, a reply in a card's thread, an edit.

Every handler and scheduled job goes through these, so "open a DM, then post" and the errors that mean "the bot
cannot post here" are each said in one place.
"""

from __future__ import annotations

import logging

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.core.blocks import Block, Mrkdwn

log = logging.getLogger("cohost.handlers")

#: chat.postMessage errors that mean "not here": retrying will not help, so the message goes to its person
#: privately (a card) or its person is told (a digest).
CANNOT_POST_HERE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def cannot_post_here(error: SlackApiError) -> str | None:
    """Slack's error code when it says the bot may not post in that channel, else None."""
    code = str(error.response.get("error"))
    return code if code in CANNOT_POST_HERE else None


async def dm(client: AsyncWebClient, user_id: str, text: Mrkdwn, blocks_: list[Block] | None = None) -> None:
    """A direct message: it stays until its person reads it, and reaches them whatever the channel allows."""
    opened = await client.conversations_open(users=user_id)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks_)


async def private(
    client: AsyncWebClient,
    respond: AsyncRespond | None,
    channel_id: str,
    user_id: str,
    text: Mrkdwn,
    blocks_: list[Block] | None = None,
) -> None:
    """To `user_id` alone: through the request's `response_url` when there is one, else as an ephemeral message in
    the channel, else by direct message (straight away where the request came from no channel: a global shortcut,
    a click on the Home tab)."""
    if respond is not None:
        try:
            sent = await respond(text=text, blocks=blocks_, response_type="ephemeral", replace_original=False)
            if sent.status_code == 200:
                return
            log.warning("response_url answered %s; answering through the Web API", sent.status_code)
        except Exception as exc:  # unreachable or expired response_url: fall back to the Web API
            log.warning("response_url post failed (%s); answering through the Web API", type(exc).__name__)
    if not channel_id:
        await dm(client, user_id, text, blocks_)
        return
    try:
        await client.chat_postEphemeral(channel=channel_id, user=user_id, text=text, blocks=blocks_)
    except SlackApiError:
        await dm(client, user_id, text, blocks_)


async def in_thread_or_dm(
    client: AsyncWebClient, channel_id: str, thread_ts: str | None, user_id: str, text: Mrkdwn, blocks_: list[Block]
) -> None:
    """A reply in a card's thread; a card that could not be posted in its channel has no thread, so then its
    person gets it directly."""
    if thread_ts is not None:
        await client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, text=text, blocks=blocks_)
        return
    await dm(client, user_id, text, blocks_)


async def update(client: AsyncWebClient, channel_id: str, ts: str, text: Mrkdwn, blocks_: list[Block]) -> None:
    await client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks_)
