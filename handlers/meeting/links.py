"""Personal links of meetings: the caller's own privately, each mentioned person's by direct message, never one
person's link to another (a MiroTalk link carries its person's name, a Coviu link is its person's own participant)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError

from handlers.core import blocks, retries
from handlers.core.blocks import Mrkdwn, mention
from handlers.core.interaction import Interaction
from services.coviu import NewParticipant, Participant, Role
from services.errors import VendorError, VendorNotFound
from services.mirotalk import MAX_DURATION_MINUTES, JoinRequest, duration_of
from services.store import Card

#: A personal link in the making: the caller's own, or a mentioned person's (by user id).
Link = Callable[[], Awaitable[str]]


LinkFor = Callable[[str], Awaitable[str]]


#: How long a presenter link made for a meeting without a set length stays good.
PRESENTER_LINK_LIFETIME = "1d"


#: What a creator is told when links carry no presenter token (no MiroTalk host user configured).
FIRST_IN_PRESENTS = "the first person in the room presents"


@dataclass(frozen=True)
class Handout:
    user_id: str
    error: str | None = None


async def hand_out(
    ix: Interaction,
    *,
    own: Link,
    own_text: Mrkdwn,
    invitees: list[str],
    link_for: LinkFor,
    invite_text: Mrkdwn,
) -> None:
    """The caller's own link privately, each mentioned person's by direct message; a link that could not be made
    is named to the caller, and the others still go."""
    try:
        await ix.private(own_text + Mrkdwn(": ") + await own())
    except VendorError as exc:
        await ix.private(
            Mrkdwn(":warning: The card is up, but your own link could not be made. ") + blocks.error_text(exc)
        )

    async def send(user_id: str) -> Handout:
        try:
            link = await link_for(user_id)
        except VendorError as exc:
            return Handout(user_id, f"{exc.message}. {exc.advice}")
        try:
            await ix.dm(user_id, invite_text + Mrkdwn(": ") + link)
        except (SlackApiError, aiohttp.ClientError) as exc:
            # A person Slack will not open a conversation with (deactivated, unknown): the others still get theirs.
            return Handout(user_id, f"no direct message could be sent: {retries.what_failed(exc)}")
        return Handout(user_id)

    others = [user for user in dict.fromkeys(invitees) if user != ix.user_id]
    results = await asyncio.gather(*(send(user) for user in others))
    sent = [mention(r.user_id) for r in results if r.error is None]
    failed = [Mrkdwn("{} ({})").format(mention(r.user_id), r.error) for r in results if r.error is not None]
    if sent:
        await ix.private(
            Mrkdwn(":envelope: Sent their own links by direct message to {}.").format(Mrkdwn(", ").join(sent))
        )
    if failed:
        await ix.private(Mrkdwn(":warning: No link reached {}.").format(Mrkdwn(", ").join(failed)))


async def mirotalk_link(
    ix: Interaction, room: str, user_id: str, duration: str, *, presenter_for: str | None = None
) -> str:
    """The person's own link, their name on it; a presenter token (for the host user) when `presenter_for`."""
    person = await ix.person(user_id)
    request = JoinRequest(room=room, name=person.name, duration=duration)
    return await ix.deps.vendors.mirotalk.join_link(request, presenter_for=presenter_for)


def duration_left(ix: Interaction, card: Card | None) -> str:
    """A link made after the start lasts what is left of the meeting's length (whole minutes, rounded up)."""
    if card is None or card.expires_at is None:
        return "unlimited"
    left = (card.expires_at - ix.deps.clock.now()) / timedelta(minutes=1)
    return duration_of(min(max(1, math.ceil(left)), MAX_DURATION_MINUTES))


async def coviu_link(ix: Interaction, session_id: str, user_id: str, role: Role) -> str:
    participant = await coviu_participant(ix, session_id, user_id, role)
    if not participant.entry_url:
        raise VendorError("Coviu", "Coviu answered without an entry link for this participant")
    return participant.entry_url


async def coviu_participant(ix: Interaction, session_id: str, user_id: str, role: Role) -> Participant:
    """The person's own participant in the session: the one they have (role brought up to date), else a new one.
    Never another person's: each Coviu entry link belongs to one person."""
    coviu, store = ix.deps.vendors.coviu, ix.deps.store
    known = await store.guest(ix.team_id, "coviu", session_id, user_id)
    if known is not None:
        try:
            participant: Participant | None = await coviu.get_participant(known)
        except VendorNotFound:
            participant = None
        if participant is None or participant.deleted:
            # Canceled on Coviu's side (it keeps the participant with its `deleted_at`): its link lets nobody in
            # any more, so the person gets a new participant instead.
            await store.forget_guest(ix.team_id, "coviu", known)
        else:
            if role == "host" and participant.role != "host":
                participant = await coviu.update_participant(known, role="host")
            return participant
    person = await ix.person(user_id)
    created = await coviu.add_participant(session_id, NewParticipant(display_name=person.name, role=role))
    winner = await store.add_guest(
        ix.team_id, "coviu", session_id, user_id, created.participant_id, ix.deps.clock.now()
    )
    if winner != created.participant_id:
        # A second click of the same person got there first: keep theirs, drop ours.
        await coviu.cancel_participant(created.participant_id)
        return await coviu.get_participant(winner)
    return created
