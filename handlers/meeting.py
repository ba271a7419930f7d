"""`/meeting`: video meetings on MiroTalk SFU and Coviu. Each subcommand's grammar sits on its handler.

Personal links never reach the channel: a MiroTalk link carries its person's name (and, for the creator, a
presenter token when a host user is configured: a token for anyone else locks its holder out); a Coviu link is
its person's own participant. They go to the caller privately and to mentioned people by direct message.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import blocks, cards, meeting_views
from handlers.blocks import LiveSection, Mrkdwn, code, mention, when_text
from handlers.context import Interaction
from handlers.digest import add_digest_subcommands
from handlers.meeting_views import DEFAULT_NAME
from handlers.parsing import MAX_NAME, MINUTES, NAME, Family, Option, Parsed, ParseError
from handlers.when import parse_when
from services.coviu import NewParticipant, Participant, Role
from services.errors import VendorError, VendorNotFound
from services.mirotalk import MAX_DURATION_MINUTES, JoinRequest, PresenterLinksOff, duration_of
from services.store import Card, CardState
from services.vendors import DISPLAY_NAMES, MeetingVendor, Vendors

MEETING = Family("/meeting", "video meetings on MiroTalk SFU and Coviu")
FAMILY = "meeting"
#: A personal link in the making: the caller's own, or a mentioned person's (by user id).
Link = Callable[[], Awaitable[str]]
LinkFor = Callable[[str], Awaitable[str]]

#: Coviu wants a start in the future: `new` starts one minute from now.
COVIU_START_LEAD = timedelta(minutes=1)
COVIU_DEFAULT_MINUTES = 60
#: How long a presenter link made for a meeting without a set length stays good.
PRESENTER_LINK_LIFETIME = "1d"
#: What a creator is told when links carry no presenter token (no MiroTalk host user configured).
FIRST_IN_PRESENTS = "the first person in the room presents"

PROVIDER = Option("provider", "choice", choices=("mirotalk", "coviu"))
TZ = Option("tz", metavar="ZONE")


# -- starting meetings ------------------------------------------------------------------------------------------


@MEETING.sub(
    "new [ROOM] [@user ...]",
    PROVIDER,
    MINUTES,
    NAME,
    summary="Start a meeting and post its card here; people you mention get their own link by direct message.",
)
async def new(ix: Interaction, p: Parsed) -> None:
    vendor: MeetingVendor = p.opt("provider") or ix.deps.vendors.default_meeting()
    if vendor == "coviu":
        if p.arg("ROOM"):
            raise ParseError(
                "Coviu sessions have no room name: name the session with --name.", MEETING.find("new").usage()
            )
        start = ix.deps.clock.now().replace(microsecond=0) + COVIU_START_LEAD
        minutes = p.opt("minutes", COVIU_DEFAULT_MINUTES)
        await _new_coviu(ix, p.opt("name"), start, start + timedelta(minutes=minutes), p.arg("@user"))
        return
    await _new_mirotalk(ix, p.arg("ROOM"), p.opt("name"), p.opt("minutes"), p.arg("@user"))


@MEETING.sub(
    "schedule WHEN [@user ...]",
    MINUTES,
    NAME,
    TZ,
    summary="Schedule a Coviu session (WHEN: `2026-11-23 15:00`, `tomorrow 09:30`, `in 2h`, in your time zone).",
)
async def schedule(ix: Interaction, p: Parsed) -> None:
    start = parse_when(p.arg("WHEN"), ix.deps.clock.now(), await ix.tz(p.opt("tz")))
    end = start + timedelta(minutes=p.opt("minutes", COVIU_DEFAULT_MINUTES))
    await _new_coviu(ix, p.opt("name"), start, end, p.arg("@user"))


async def _new_mirotalk(
    ix: Interaction, room: str | None, name: str | None, minutes: int | None, invitees: list[str]
) -> None:
    mirotalk = ix.deps.vendors.mirotalk
    duration = duration_of(minutes)  # before any call: a length the links could not carry stops here
    room, link = await mirotalk.new_room(room)
    expires = ix.deps.clock.now() + timedelta(minutes=minutes) if minutes else None
    view = meeting_views.mirotalk_card(
        name=name or DEFAULT_NAME,
        room=room,
        link=link,
        creator_id=ix.user_id,
        expires_at=expires,
        can_end=await mirotalk.ending_on(),
    )
    await cards.post(ix, FAMILY, "mirotalk", view)
    lifetime = f"{minutes + 60}m" if minutes else PRESENTER_LINK_LIFETIME
    presenter = mirotalk.presenter_links_on
    await _hand_out(
        ix,
        own=lambda: _mirotalk_link(ix, room, ix.user_id, duration, presenter_for=lifetime if presenter else None),
        own_text=Mrkdwn(":key: Your presenter link for MiroTalk room {} (keep it to yourself)").format(code(room))
        if presenter
        else Mrkdwn(":key: Your link to MiroTalk room {}, with your name on it ({})").format(
            code(room), FIRST_IN_PRESENTS
        ),
        invitees=invitees,
        link_for=lambda user: _mirotalk_link(ix, room, user, duration),
        invite_text=Mrkdwn("{} invited you to MiroTalk room {}. Your own link").format(mention(ix.user_id), code(room)),
    )


async def _new_coviu(ix: Interaction, name: str | None, start: datetime, end: datetime, invitees: list[str]) -> None:
    session = await ix.deps.vendors.coviu.create_session(start=start, end=end, name=name)
    view = meeting_views.coviu_card(
        # What was asked for, where Coviu's answer leaves it out (or sends something other than a name).
        name=(session.session_name or name or DEFAULT_NAME)[:MAX_NAME],
        session_id=session.session_id,
        creator_id=ix.user_id,
        starts_at=session.start_time,
        ends_at=session.end_time,
    )
    await cards.post(ix, FAMILY, "coviu", view)
    sid = session.session_id
    await _hand_out(
        ix,
        own=lambda: _coviu_link(ix, sid, ix.user_id, "host"),
        own_text=Mrkdwn(":key: Your host link for Coviu session {} (yours alone: do not share it)").format(code(sid)),
        invitees=invitees,
        link_for=lambda user: _coviu_link(ix, sid, user, "guest"),
        invite_text=Mrkdwn("{} invited you to Coviu session {} ({}). Your own link (do not share it)").format(
            mention(ix.user_id), code(sid), when_text(session.start_time)
        ),
    )


@dataclass(frozen=True)
class _Handout:
    user_id: str
    error: str | None = None


async def _hand_out(
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

    async def send(user_id: str) -> _Handout:
        try:
            await ix.dm(user_id, invite_text + Mrkdwn(": ") + await link_for(user_id))
        except VendorError as exc:
            return _Handout(user_id, f"{exc.message}. {exc.advice}")
        return _Handout(user_id)

    others = [user for user in dict.fromkeys(invitees) if user != ix.user_id]
    results = await asyncio.gather(*(send(user) for user in others))
    sent = [mention(r.user_id) for r in results if r.error is None]
    failed = [Mrkdwn("{} ({})").format(mention(r.user_id), r.error) for r in results if r.error is not None]
    if sent:
        await ix.private(
            Mrkdwn(":envelope: Sent their own links by direct message to {}.").format(Mrkdwn(", ").join(sent))
        )
    if failed:
        await ix.private(Mrkdwn(":warning: No link could be made for {}.").format(Mrkdwn(", ").join(failed)))


# -- personal links ----------------------------------------------------------------------------------------------


async def _mirotalk_link(
    ix: Interaction, room: str, user_id: str, duration: str, *, presenter_for: str | None = None
) -> str:
    """The person's own link, their name on it; a presenter token (for the host user) when `presenter_for`."""
    person = await ix.person(user_id)
    request = JoinRequest(room=room, name=person.name, duration=duration)
    return await ix.deps.vendors.mirotalk.join_link(request, presenter_for=presenter_for)


def _duration_left(ix: Interaction, card: Card | None) -> str:
    """A link made after the start lasts what is left of the meeting's length (whole minutes, rounded up)."""
    if card is None or card.expires_at is None:
        return "unlimited"
    left = (card.expires_at - ix.deps.clock.now()) / timedelta(minutes=1)
    return duration_of(min(max(1, math.ceil(left)), MAX_DURATION_MINUTES))


async def _coviu_link(ix: Interaction, session_id: str, user_id: str, role: Role) -> str:
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


async def my_link(ix: Interaction, value: str) -> None:
    """The "Get my link" button: the clicker's own link, to them alone."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    card = await ix.deps.store.find_card(ix.team_id, vendor, vendor_id)
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(Mrkdwn("This {} meeting has ended.").format(DISPLAY_NAMES.get(vendor, vendor)))
        return
    is_creator = card is not None and card.creator_id == ix.user_id
    if vendor == "coviu":
        link = await _coviu_link(ix, vendor_id, ix.user_id, "host" if is_creator else "guest")
        await ix.private(
            Mrkdwn(":key: Your own link to Coviu session {} (do not share it): {}").format(code(vendor_id), link)
        )
        return
    presenter = PRESENTER_LINK_LIFETIME if is_creator and ix.deps.vendors.mirotalk.presenter_links_on else None
    link = await _mirotalk_link(ix, vendor_id, ix.user_id, _duration_left(ix, card), presenter_for=presenter)
    kind = "presenter link" if presenter else "link"
    await ix.private(
        Mrkdwn(":key: Your {} to MiroTalk room {}, with your name on it: {}").format(kind, code(vendor_id), link)
    )


@MEETING.sub(
    "join ROOM",
    Option("name", "name", metavar="NAME"),
    Option("audio", "flag"),
    Option("video", "flag"),
    Option("screen", "flag"),
    Option("chat", "flag"),
    Option("hide", "flag"),
    Option("notify", "flag"),
    Option("duration", metavar="HH:MM:SS|unlimited"),
    Option("presenter", "flag"),
    Option("password", metavar="P"),
    summary="Your own link to a MiroTalk room, for you alone (`--presenter`: the meeting's creator or an admin).",
)
async def join(ix: Interaction, p: Parsed) -> None:
    room = p.arg("ROOM")
    coviu_card = await ix.deps.store.find_card(ix.team_id, "coviu", room)
    if coviu_card is not None:  # a Coviu session's id: its own link is the way in
        await my_link(ix, meeting_views.button_value("coviu", room))
        return
    presenter = bool(p.opt("presenter"))
    card = await ix.deps.store.find_card(ix.team_id, "mirotalk", room)
    if presenter:
        if not (card is not None and card.creator_id == ix.user_id) and not await ix.is_admin():
            await ix.private(Mrkdwn(":no_entry: A presenter link is for the meeting's creator or an admin."))
            return
        if not ix.deps.vendors.mirotalk.presenter_links_on:
            raise PresenterLinksOff
    active = card if card is not None and card.state == CardState.ACTIVE.value else None
    person = await ix.person()
    name = p.opt("name") or person.name
    request = JoinRequest(
        room=room,
        room_password=p.opt("password"),
        name=name,
        audio=bool(p.opt("audio")),
        video=bool(p.opt("video")),
        screen=bool(p.opt("screen")),
        chat=bool(p.opt("chat")),
        hide=bool(p.opt("hide")),
        notify=bool(p.opt("notify")),
        duration=p.opt("duration") or _duration_left(ix, active),
    )
    presenter_for = PRESENTER_LINK_LIFETIME if presenter else None
    link = await ix.deps.vendors.mirotalk.join_link(request, presenter_for=presenter_for)
    kind = "presenter link" if presenter else "link"
    await ix.private(Mrkdwn(":key: Your {} to MiroTalk room {} (for you alone): {}").format(kind, code(room), link))


@MEETING.sub(
    "token",
    Option("presenter", "flag"),
    Option("expire", metavar="1h"),
    summary="A MiroTalk sign-in token for its host user, for you alone (`--presenter`: admins).",
)
async def token(ix: Interaction, p: Parsed) -> None:
    presenter = bool(p.opt("presenter"))
    if presenter and not await ix.is_admin():
        await ix.private(Mrkdwn(":no_entry: A presenter token is for Cohost admins and workspace admins."))
        return
    expire = p.opt("expire", "1h")
    jwt = await ix.deps.vendors.mirotalk.token(presenter=presenter, expire=expire)
    kind = "presenter token" if presenter else "token"
    await ix.private(
        Mrkdwn(
            ":closed_lock_with_key: Your MiroTalk {} (it signs in as the server's host user), good for {} "
            "(keep it to yourself):\n{}"
        ).format(kind, expire, code(jwt))
    )


# -- ending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    state: CardState
    message: Mrkdwn
    #: Worth telling also after a click on End, whose card change says the rest.
    surprising: bool = False


@MEETING.sub(
    "end ROOM_OR_SESSION",
    Option("redirect", "url", metavar="URL"),
    summary="End a meeting for everyone (its creator or an admin); MiroTalk sends people to `--redirect`.",
)
async def end(ix: Interaction, p: Parsed) -> None:
    target = p.arg("ROOM_OR_SESSION")
    redirect = p.opt("redirect")
    vendor, card = await _find_meeting(ix, target)
    if vendor == "coviu" and redirect:
        raise ParseError("--redirect is for MiroTalk meetings.", MEETING.find("end").usage())
    await end_meeting(ix, vendor, target, card, redirect)


async def end_card(ix: Interaction, value: str) -> None:
    """The End button of a meeting card."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    meeting_vendor: MeetingVendor = "coviu" if vendor == "coviu" else "mirotalk"
    await end_meeting(ix, meeting_vendor, vendor_id, await ix.deps.store.find_card(ix.team_id, vendor, vendor_id), None)


async def _find_meeting(ix: Interaction, target: str) -> tuple[MeetingVendor, Card | None]:
    """Whose meeting `target` is: its card's vendor; else, with both vendors on, Coviu if it knows the id."""
    store, vendors = ix.deps.store, ix.deps.vendors
    for vendor in ("mirotalk", "coviu"):
        card = await store.find_card(ix.team_id, vendor, target)
        if card is not None:
            return ("coviu" if vendor == "coviu" else "mirotalk"), card
    enabled = vendors.config.enabled_meeting()
    if len(enabled) != 2:
        return vendors.default_meeting(), None
    try:
        await vendors.coviu.get_session(target)
    except VendorNotFound:
        return "mirotalk", None
    return "coviu", None


async def end_meeting(
    ix: Interaction, vendor: MeetingVendor, vendor_id: str, card: Card | None, redirect: str | None
) -> None:
    what = Mrkdwn("{} {} {}").format(
        DISPLAY_NAMES[vendor], "room" if vendor == "mirotalk" else "session", code(vendor_id)
    )
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(what + Mrkdwn(" has already ended."))
        return
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    try:
        async with cards.ending(ix, card):
            if vendor == "mirotalk":
                outcome = await _end_mirotalk(ix, vendor_id, redirect, what)
            else:
                outcome = await _end_coviu(ix, vendor_id, what)
    except cards.AlreadyEnded:
        await ix.private(what + Mrkdwn(" has already ended."))
        return
    if card is not None:
        await cards.close(ix, card, outcome.state, by=ix.user_id if outcome.state == CardState.ENDED else None)
    if ix.typed or outcome.surprising:  # a click on End sees the card change instead
        await ix.private(outcome.message)


async def _end_mirotalk(ix: Interaction, room: str, redirect: str | None, what: Mrkdwn) -> _Outcome:
    try:
        await ix.deps.vendors.mirotalk.end_meeting(room, redirect=redirect)
    except VendorNotFound:
        # A MiroTalk room exists only while someone is in it: nobody is, so the meeting is over.
        return _Outcome(
            CardState.ENDED, Mrkdwn("Nobody was in {}; the meeting is closed.").format(what), surprising=True
        )
    sent_to = Mrkdwn(" Everyone in it was sent to {}.").format(redirect) if redirect else ""
    return _Outcome(CardState.ENDED, Mrkdwn("Ended {} for everyone.{}").format(what, sent_to))


async def _end_coviu(ix: Interaction, session_id: str, what: Mrkdwn) -> _Outcome:
    """Ends the session as Coviu allows for where it stands; where Coviu did not say its times, as if running."""
    coviu, now = ix.deps.vendors.coviu, ix.deps.clock.now()
    session = await coviu.get_session(session_id)
    if session.canceled_time or (session.end_time is not None and session.end_time <= now):
        return _Outcome(CardState.EXPIRED, Mrkdwn("{} had already ended.").format(what), surprising=True)
    if session.start_time is not None and session.start_time > now:
        await coviu.cancel_session(session_id)  # not started: Coviu cancels it
        return _Outcome(CardState.ENDED, Mrkdwn("Cancelled {} before it started.").format(what))
    await coviu.end_session(session_id, now)  # running: its end becomes now
    return _Outcome(CardState.ENDED, Mrkdwn("Ended {} for everyone.").format(what))


# -- Coviu participants and changes ------------------------------------------------------------------------------


async def _coviu_card(ix: Interaction, session_id: str) -> Card | None:
    return await ix.deps.store.find_card(ix.team_id, "coviu", session_id)


@MEETING.sub(
    "invite SESSION @user",
    Option("role", "choice", choices=("host", "guest")),
    summary="Add people to a Coviu session; each gets their own link by direct message (its creator or an admin).",
)
async def invite(ix: Interaction, p: Parsed) -> None:
    session_id, role = p.arg("SESSION"), p.opt("role", "guest")
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

    added = [await add(user) for user in dict.fromkeys(p.arg("@user"))]
    await ix.private(
        Mrkdwn("Added to Coviu session {}: {}. Their links went by direct message.").format(
            code(session_id), Mrkdwn(", ").join(added)
        )
    )


@MEETING.sub("uninvite PARTICIPANT", summary="Remove a participant from a Coviu session (its creator or an admin).")
async def uninvite(ix: Interaction, p: Parsed) -> None:
    participant_id = p.arg("PARTICIPANT")
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


@MEETING.sub(
    "update SESSION",
    NAME,
    Option("start", metavar="WHEN"),
    MINUTES,
    TZ,
    summary="Rename, move or lengthen a Coviu session; its card follows (its creator or an admin).",
)
async def update(ix: Interaction, p: Parsed) -> None:
    session_id = p.arg("SESSION")
    if not any(p.opt(name) for name in ("name", "start", "minutes")):
        raise ParseError("Say what changes: --name, --start or --minutes.", MEETING.find("update").usage())
    start = parse_when(p.opt("start"), ix.deps.clock.now(), await ix.tz(p.opt("tz"))) if p.opt("start") else None
    card = await _coviu_card(ix, session_id)
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    coviu = ix.deps.vendors.coviu
    current = await coviu.get_session(session_id)
    if p.opt("minutes"):
        length = timedelta(minutes=p.opt("minutes"))
    elif current.start_time is not None and current.end_time is not None:
        length = current.end_time - current.start_time
    else:  # Coviu did not say how long it runs: the default length, as for a new session
        length = timedelta(minutes=COVIU_DEFAULT_MINUTES)
    begins = start or current.start_time
    if begins is None and p.opt("minutes"):
        raise ParseError(
            "Coviu did not say when this session starts: give --start with --minutes.", MEETING.find("update").usage()
        )
    end = begins + length if begins is not None and (start or p.opt("minutes")) else None
    updated = await coviu.update_session(session_id, name=p.opt("name"), start=start, end=end)
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


async def fetch_live(ix: Interaction, vendor: MeetingVendor) -> LiveSection:
    """One vendor's live meetings; its failure becomes a line in the answer, so the other vendor still shows."""
    vendors: Vendors = ix.deps.vendors
    name = DISPLAY_NAMES[vendor]
    try:
        if vendor == "mirotalk":
            meetings = await vendors.mirotalk.meetings()
            ours = await ix.deps.store.active_cards(FAMILY, team_id=ix.team_id)
            names = {c.vendor_id: c.name for c in ours if c.vendor == vendor}
            rows, unreadable = meeting_views.mirotalk_rows(meetings, names), meetings.unreadable
        else:
            sessions = await vendors.coviu.live_sessions(ix.deps.clock.now())
            rows, unreadable = meeting_views.coviu_rows(sessions), sessions.unreadable
    except VendorError as exc:
        return LiveSection(name, error=f"{exc.message}. {exc.advice}")
    return LiveSection(name, rows, unreadable=unreadable)


@MEETING.sub("list", summary="MiroTalk meetings and Coviu's running and upcoming sessions, for you alone.")
async def list_meetings(ix: Interaction, p: Parsed) -> None:
    vendors = ix.deps.vendors
    chosen = vendors.config.enabled_meeting() or [vendors.default_meeting()]
    sections = await ix.only_own([await fetch_live(ix, vendor) for vendor in chosen])
    await ix.private(Mrkdwn("Live meetings"), blocks.live_blocks(sections))


@MEETING.sub("stats", summary="MiroTalk server stats and who is in which meeting, for you alone.")
async def stats(ix: Interaction, p: Parsed) -> None:
    numbers = await ix.deps.vendors.mirotalk.stats()
    live = await fetch_live(ix, "mirotalk")
    await ix.private(Mrkdwn("MiroTalk stats"), meeting_views.stats_blocks(numbers, live))


add_digest_subcommands(MEETING, FAMILY)
