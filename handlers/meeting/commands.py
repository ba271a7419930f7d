"""`/meeting`: video meetings on MiroTalk SFU and Coviu; each subcommand's typed arguments above it.

Personal links never reach the channel: a MiroTalk link carries its person's name (and, for the creator, a
presenter token when a host user is configured: a token for anyone else locks its holder out); a Coviu link is
its person's own participant. They go to the caller privately and to mentioned people by direct message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.core import cards, form_start
from handlers.core.blocks import Mrkdwn, code, mention, when_text
from handlers.core.bounds import ParseError
from handlers.core.interaction import Interaction
from handlers.core.live import live_blocks, own_live
from handlers.core.own import walled
from handlers.core.parsing import MINUTES, NAME, TZ, Family, NoArgs, Option, Parsed, arg, opt
from handlers.core.when import parse_when
from handlers.meeting import views as meeting_views
from handlers.meeting.actions import my_link
from handlers.meeting.links import (
    PRESENTER_LINK_LIFETIME,
    coviu_participant,
    duration_left,
)
from handlers.meeting.starting import new_coviu, new_mirotalk
from handlers.meeting.views import DEFAULT_NAME, FAMILY
from services import registry
from services.coviu import Role
from services.mirotalk import JoinRequest, PresenterLinksOff
from services.registry import COVIU, MIROTALK, REDIRECT, CardButton, VendorEntry
from services.store import Card, CardState
from services.vendors import Vendors

MEETING = Family("/meeting", "video meetings on MiroTalk SFU and Coviu")

#: Coviu wants a start in the future: `new` starts one minute from now.
COVIU_START_LEAD = timedelta(minutes=1)
COVIU_DEFAULT_MINUTES = 60

PROVIDER = Option("provider", "choice", choices=tuple(v.key for v in registry.family_vendors(FAMILY)))


# -- starting meetings ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class New:
    room: str | None = arg("ROOM", optional=True)
    invitees: list[str] = arg("@user", optional=True, variadic=True)
    provider: str | None = opt(PROVIDER)
    minutes: int | None = opt(MINUTES)
    name: str | None = opt(NAME)


def starts_session(parsed: Parsed[Any], vendors: Vendors) -> str | None:
    """The vendor a command asks for a new meeting, if it does (to finish it after a crash)."""
    if isinstance(parsed.args, New) and parsed.args != New():  # `new` alone opens the form, and starts nothing
        provider: str = parsed.args.provider or vendors.default(FAMILY)
        return provider
    return "coviu" if isinstance(parsed.args, Schedule) else None


@MEETING.sub("new", New)
async def new(ix: Interaction, a: New) -> None:
    """Start a meeting and post its card here; people you mention get their own link by direct message. With nothing
    after `new`, a form opens."""
    if a == New():
        await form_start.open_form(ix, FAMILY, meeting_views.new_meeting_view, ix.channel_id)
        return
    vendor = a.provider or ix.deps.vendors.default(FAMILY)
    if vendor == "coviu":  # a session at set times, each person its own participant; MiroTalk: a named room
        if a.room:
            raise ParseError(
                "Coviu sessions have no room name: name the session with --name.", MEETING.find("new").usage()
            )
        start = ix.deps.clock.now().replace(microsecond=0) + COVIU_START_LEAD
        minutes = a.minutes or COVIU_DEFAULT_MINUTES
        await new_coviu(ix, a.name, start, start + timedelta(minutes=minutes), a.invitees)
        return
    await new_mirotalk(ix, a.room, a.name, a.minutes, a.invitees)


@dataclass(frozen=True)
class Schedule:
    when: str = arg("WHEN")
    invitees: list[str] = arg("@user", optional=True, variadic=True)
    minutes: int = opt(MINUTES, default=COVIU_DEFAULT_MINUTES)
    name: str | None = opt(NAME)
    tz: str | None = opt(TZ)


@MEETING.sub("schedule", Schedule)
async def schedule(ix: Interaction, a: Schedule) -> None:
    """Schedule a Coviu session (WHEN: `2026-11-23 15:00`, `tomorrow 09:30`, `in 2h`, in your time zone)."""
    start = parse_when(a.when, ix.deps.clock.now(), await ix.tz(a.tz))
    end = start + timedelta(minutes=a.minutes)
    await new_coviu(ix, a.name, start, end, a.invitees)


# -- personal links ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    room: str = arg("ROOM")
    name: str | None = opt(Option("name", "name", metavar="NAME"))
    audio: bool = opt(Option("audio", "flag"))
    video: bool = opt(Option("video", "flag"))
    screen: bool = opt(Option("screen", "flag"))
    chat: bool = opt(Option("chat", "flag"))
    hide: bool = opt(Option("hide", "flag"))
    notify: bool = opt(Option("notify", "flag"))
    duration: str | None = opt(Option("duration", metavar="HH:MM:SS|unlimited"))
    presenter: bool = opt(Option("presenter", "flag"))
    password: str | None = opt(Option("password", metavar="P"))


@MEETING.sub("join", Join)
async def join(ix: Interaction, a: Join) -> None:
    """Your own link to a MiroTalk room, for you alone (`--presenter`: the meeting's creator or an admin)."""
    room = a.room
    coviu_card = await ix.deps.store.find_card(ix.team_id, COVIU.key, room)
    if coviu_card is not None:  # a Coviu session's id: its own link is the way in
        await my_link(ix, cards.button_value(COVIU, CardButton.MY_LINK, room))
        return
    presenter = a.presenter
    card = await ix.deps.store.find_card(ix.team_id, "mirotalk", room)
    if presenter:
        if not (card is not None and card.creator_id == ix.user_id) and not await ix.is_admin():
            await ix.private(Mrkdwn(":no_entry: A presenter link is for the meeting's creator or an admin."))
            return
        if not ix.deps.vendors.mirotalk.presenter_links_on:
            raise PresenterLinksOff
    active = card if card is not None and card.state == CardState.ACTIVE.value else None
    person = await ix.person()
    name = a.name or person.name
    request = JoinRequest(
        room=room,
        room_password=a.password,
        name=name,
        audio=a.audio,
        video=a.video,
        screen=a.screen,
        chat=a.chat,
        hide=a.hide,
        notify=a.notify,
        duration=a.duration or duration_left(ix, active),
    )
    presenter_for = PRESENTER_LINK_LIFETIME if presenter else None
    link = await ix.deps.vendors.mirotalk.join_link(request, presenter_for=presenter_for)
    kind = "presenter link" if presenter else "link"
    await ix.private(Mrkdwn(":key: Your {} to MiroTalk room {} (for you alone): {}").format(kind, code(room), link))


@dataclass(frozen=True)
class Token:
    presenter: bool = opt(Option("presenter", "flag"))
    expire: str = opt(Option("expire", metavar="1h"), default="1h")


@MEETING.sub("token", Token)
async def token(ix: Interaction, a: Token) -> None:
    """A MiroTalk sign-in token for its host user, for you alone (admins only)."""
    # Every token signs in as the server's host user (a plain one too: it only lacks the presenter role), so it is
    # as privileged as the host user's password: for admins alone.
    if not await ix.is_admin():
        await ix.private(
            Mrkdwn(
                ":no_entry: A MiroTalk token signs in as the server's host user, so it is for Cohost admins and "
                "workspace admins. To join a meeting, `/meeting join ROOM` gives you your own link."
            )
        )
        return
    jwt = await ix.deps.vendors.mirotalk.token(presenter=a.presenter, expire=a.expire)
    kind = "presenter token" if a.presenter else "token"
    await ix.private(
        Mrkdwn(
            ":closed_lock_with_key: Your MiroTalk {} (it signs in as the server's host user), good for {} "
            "(keep it to yourself):\n{}"
        ).format(kind, a.expire, code(jwt))
    )


# -- ending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class End:
    target: str = arg("ROOM_OR_SESSION")
    redirect: str | None = opt(Option(REDIRECT, "url", metavar="URL"))


@MEETING.sub("end", End)
async def end(ix: Interaction, a: End) -> None:
    """End a meeting for everyone (its creator or an admin); MiroTalk sends people to `--redirect`."""
    target, redirect = a.target, a.redirect
    entry, card = await _find_meeting(ix, target)
    if redirect and REDIRECT not in entry.options:
        raise ParseError(cards.option_refused(entry, REDIRECT), MEETING.find("end").usage())
    await cards.end(ix, entry, target, card, redirect=redirect)


async def _find_meeting(ix: Interaction, target: str) -> tuple[VendorEntry[Any], Card | None]:
    """Whose meeting `target` is: its card's vendor; else, with several vendors on, the first that knows the id,
    else the first on (a MiroTalk room may have any name)."""
    card = await cards.find_card(ix, FAMILY, target)
    if card is not None:
        return registry.vendor(card.vendor), card
    vendors = ix.deps.vendors
    enabled = vendors.config.enabled(FAMILY)
    if len(enabled) < 2:
        return registry.vendor(vendors.default(FAMILY)), None
    for key in enabled:
        if await vendors.sessions(key).knows(target):
            return registry.vendor(key), None
    return registry.vendor(enabled[0]), None


# -- Coviu participants and changes ------------------------------------------------------------------------------


async def _coviu_card(ix: Interaction, session_id: str) -> Card | None:
    return await ix.deps.store.find_card(ix.team_id, "coviu", session_id)


@dataclass(frozen=True)
class Invite:
    session: str = arg("SESSION")
    invitees: list[str] = arg("@user")
    role: Role = opt(Option("role", "choice", choices=("host", "guest")), default="guest")


@MEETING.sub("invite", Invite)
async def invite(ix: Interaction, a: Invite) -> None:
    """Add people to a Coviu session; each gets their own link by direct message (its creator or an admin)."""
    session_id, role = a.session, a.role
    card = await _coviu_card(ix, session_id)
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    session = await ix.deps.vendors.coviu.get_session(session_id)  # unknown ids stop here, clearly

    async def add(user_id: str) -> str:
        participant = await coviu_participant(ix, session_id, user_id, role)
        if participant.role != role:
            participant = await ix.deps.vendors.coviu.update_participant(participant.participant_id, role=role)
        await ix.dm(
            user_id,
            Mrkdwn("{} added you to Coviu session {} ({}) as {}. Your own link (do not share it): {}").format(
                mention(ix.user_id), code(session_id), when_text(session.start_time), role, participant.entry_url
            ),
        )
        return Mrkdwn("{} as {} (participant {})").format(mention(user_id), role, code(participant.participant_id))

    added = [await add(user) for user in dict.fromkeys(a.invitees)]
    await ix.private(
        Mrkdwn("Added to Coviu session {}: {}. Their links went by direct message.").format(
            code(session_id), Mrkdwn(", ").join(added)
        )
    )


@dataclass(frozen=True)
class Uninvite:
    participant: str = arg("PARTICIPANT")


@MEETING.sub("uninvite", Uninvite)
async def uninvite(ix: Interaction, a: Uninvite) -> None:
    """Remove a participant from a Coviu session (its creator or an admin)."""
    participant_id = a.participant
    coviu = ix.deps.vendors.coviu
    participant = await coviu.get_participant(participant_id)
    card = await _coviu_card(ix, participant.session_id or "")
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    if not participant.deleted:  # one canceled already (here or in Coviu's console) stays canceled
        await coviu.cancel_participant(participant_id)
    await ix.deps.store.forget_guest(ix.team_id, "coviu", participant_id)
    who = participant.display_name or participant_id
    where = Mrkdwn("Coviu session {}").format(code(participant.session_id or "unknown"))
    if participant.deleted:
        await ix.private(
            Mrkdwn("{} (participant {}) was already removed from {}.").format(who, code(participant_id), where)
        )
    else:
        await ix.private(Mrkdwn("Removed {} (participant {}) from {}.").format(who, code(participant_id), where))


@dataclass(frozen=True)
class Update:
    session: str = arg("SESSION")
    name: str | None = opt(NAME)
    start: str | None = opt(Option("start", metavar="WHEN"))
    minutes: int | None = opt(MINUTES)
    tz: str | None = opt(TZ)


@MEETING.sub("update", Update)
async def update(ix: Interaction, a: Update) -> None:
    """Rename, move or lengthen a Coviu session; its card follows (its creator or an admin)."""
    session_id = a.session
    if not (a.name or a.start or a.minutes):
        raise ParseError("Say what changes: --name, --start or --minutes.", MEETING.find("update").usage())
    start = parse_when(a.start, ix.deps.clock.now(), await ix.tz(a.tz)) if a.start else None
    card = await _coviu_card(ix, session_id)
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    coviu = ix.deps.vendors.coviu
    current = await coviu.get_session(session_id)
    if a.minutes:
        length = timedelta(minutes=a.minutes)
    elif current.start_time is not None and current.end_time is not None:
        length = current.end_time - current.start_time
    else:  # Coviu did not say how long it runs: the default length, as for a new session
        length = timedelta(minutes=COVIU_DEFAULT_MINUTES)
    begins = start or current.start_time
    if begins is None and a.minutes:
        raise ParseError(
            "Coviu did not say when this session starts: give --start with --minutes.", MEETING.find("update").usage()
        )
    end = begins + length if begins is not None and (start or a.minutes) else None
    updated = await coviu.update_session(session_id, name=a.name, start=start, end=end)
    if card is not None:
        name = updated.session_name or card.name
        card = await ix.deps.store.update_card(
            card.id, name=name, starts_at=updated.start_time, expires_at=updated.end_time
        )
        view = meeting_views.coviu_card(
            name=name,
            session_id=session_id,
            creator_id=card.creator_id,
            starts_at=updated.start_time,
            ends_at=updated.end_time,
        )
        await cards.redraw(ix, card, view)
    await ix.private(
        Mrkdwn("Updated Coviu session {}: {}, {} to {}.").format(
            code(session_id),
            updated.session_name or DEFAULT_NAME,
            when_text(updated.start_time),
            when_text(updated.end_time),
        )
    )


# -- lists and stats (answers to the caller alone) ------------------------------------------------------------------


@MEETING.sub("list", NoArgs)
async def list_meetings(ix: Interaction, a: NoArgs) -> None:
    """MiroTalk meetings and Coviu's running and upcoming sessions, for you alone."""
    vendors = ix.deps.vendors
    chosen = vendors.config.enabled(FAMILY) or [vendors.default(FAMILY)]
    sections = await own_live(ix.deps, ix.team_id, chosen, DEFAULT_NAME)
    await ix.private(Mrkdwn("Live meetings"), live_blocks(sections))


@MEETING.sub("stats", NoArgs)
async def stats(ix: Interaction, a: NoArgs) -> None:
    """MiroTalk server stats and who is in which meeting, for you alone."""
    # The server's counts are every workspace's: shared between workspaces, they are left out (handlers/core/own.py).
    numbers = None if walled(ix.deps) else await ix.deps.vendors.mirotalk.stats()
    (live,) = await own_live(ix.deps, ix.team_id, [MIROTALK.key], DEFAULT_NAME)
    await ix.private(Mrkdwn("MiroTalk stats"), meeting_views.stats_blocks(numbers, live))
