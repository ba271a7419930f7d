"""`/meeting`: video meetings on MiroTalk SFU and Coviu. Each subcommand's grammar sits on its handler.

Personal links never reach the channel: a MiroTalk link carries its person's name (and, for the creator, a
presenter token); a Coviu link is its person's own participant. They go to the caller privately and to
mentioned people by direct message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import blocks, cards, meeting_views
from handlers.blocks import LiveSection
from handlers.context import Interaction
from handlers.digest import add_digest_subcommands
from handlers.meeting_views import DEFAULT_NAME
from handlers.parsing import Family, Option, Parsed, ParseError, web_url
from handlers.when import parse_when
from services.coviu import NewParticipant, Participant, Role, Session
from services.errors import VendorError, VendorNotFound
from services.mirotalk import JoinRequest, TokenRequest
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

PROVIDER = Option("provider", "choice", choices=("mirotalk", "coviu"))
NAME = Option("name", metavar="TEXT")
MINUTES = Option("minutes", "int", metavar="N", minimum=1)
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
    room, link = await ix.deps.vendors.mirotalk.new_room(room)
    # MiroTalk creates nothing until someone joins; the room is recorded all the same, so a crash after its card
    # is posted is not mistaken for one before.
    await ix.started("mirotalk", room)
    expires = ix.deps.clock.now() + timedelta(minutes=minutes) if minutes else None
    view = meeting_views.mirotalk_card(
        name=name or DEFAULT_NAME, room=room, link=link, creator_id=ix.user_id, expires_at=expires
    )
    await cards.post(ix, FAMILY, "mirotalk", view)
    lifetime = f"{minutes + 60}m" if minutes else PRESENTER_LINK_LIFETIME
    await _hand_out(
        ix,
        own=lambda: _mirotalk_link(ix, room, ix.user_id, presenter_for=lifetime),
        own_text=f":key: Your presenter link for MiroTalk room `{room}` (keep it to yourself)",
        invitees=invitees,
        link_for=lambda user: _mirotalk_link(ix, room, user),
        invite_text=f"{blocks.mention(ix.user_id)} invited you to MiroTalk room `{room}`. Your own link",
    )


async def _new_coviu(ix: Interaction, name: str | None, start: datetime, end: datetime, invitees: list[str]) -> None:
    session = await ix.deps.vendors.coviu.create_session(start=start, end=end, name=name, marker=ix.marker_for("coviu"))
    await ix.started("coviu", session.session_id)
    view = meeting_views.coviu_card(
        name=session.session_name or name or DEFAULT_NAME,
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
        own_text=_coviu_host_link_text(sid),
        invitees=invitees,
        link_for=lambda user: _coviu_link(ix, sid, user, "guest"),
        invite_text=f"{blocks.mention(ix.user_id)} invited you to Coviu session `{sid}` "
        f"({blocks.date_token(session.start_time)}). Your own link (do not share it)",
    )


def _coviu_host_link_text(session_id: str) -> str:
    return f":key: Your host link for Coviu session `{session_id}` (yours alone: do not share it)"


# -- after a crash: the sessions Cohost started -------------------------------------------------------------------


def starts_session(p: Parsed, vendors: Vendors) -> str | None:
    """The vendor a command asks for a new meeting, if it does (to finish it after a crash)."""
    if p.sub.name == "new":
        vendor: MeetingVendor = p.opt("provider") or vendors.default_meeting()
        return vendor
    return "coviu" if p.sub.name == "schedule" else None


async def _started_at_coviu(vendors: Vendors, since: datetime) -> list[cards.Started]:
    coviu = vendors.coviu

    async def end(session_id: str, now: datetime) -> None:
        current = await coviu.get_session(session_id)
        if current.canceled_time or current.end_time <= now:
            return
        if current.start_time > now:
            await coviu.cancel_session(session_id)
        else:
            await coviu.end_session(session_id, now)

    async def host_link(ix: Interaction, session_id: str) -> None:
        link = await _coviu_link(ix, session_id, ix.user_id, "host")
        await ix.private(f"{_coviu_host_link_text(session_id)}: {link}")

    def started(session: Session) -> cards.Started:
        sid = session.session_id
        return cards.Started(
            FAMILY,
            "coviu",
            sid,
            session.marker,
            card=lambda creator_id: meeting_views.coviu_card(
                name=session.session_name or DEFAULT_NAME,
                session_id=sid,
                creator_id=creator_id,
                starts_at=session.start_time,
                ends_at=session.end_time,
            ),
            end=lambda now: end(sid, now),
            then=lambda ix: host_link(ix, sid),
        )

    # Cohost's sessions start after the command that asked for them (`new`: a minute after; `schedule`: later).
    return [started(s) for s in await coviu.all_sessions(start_time=since) if s.marker and not s.canceled_time]


#: Each vendor's live sessions that carry a Cohost marker (services/markers.py), by vendor. MiroTalk is not
#: here: it creates nothing until someone joins, so a crash before the card leaves nothing behind.
STARTED_AT = {"coviu": _started_at_coviu}


@dataclass(frozen=True)
class _Handout:
    user_id: str
    error: str | None = None


async def _hand_out(
    ix: Interaction,
    *,
    own: Link,
    own_text: str,
    invitees: list[str],
    link_for: LinkFor,
    invite_text: str,
) -> None:
    """The caller's own link privately, each mentioned person's by direct message; a link that could not be made
    is named to the caller, and the others still go."""
    try:
        await ix.private(f"{own_text}: {await own()}")
    except VendorError as exc:
        await ix.private(f":warning: The card is up, but your own link could not be made. {blocks.error_text(exc)}")

    async def send(user_id: str) -> _Handout:
        try:
            await ix.dm(user_id, f"{invite_text}: {await link_for(user_id)}")
        except VendorError as exc:
            return _Handout(user_id, f"{exc.message}. {exc.advice}")
        return _Handout(user_id)

    others = [user for user in dict.fromkeys(invitees) if user != ix.user_id]
    results = await asyncio.gather(*(send(user) for user in others))
    sent = [blocks.mention(r.user_id) for r in results if r.error is None]
    failed = [f"{blocks.mention(r.user_id)} ({blocks.escape(r.error)})" for r in results if r.error is not None]
    if sent:
        await ix.private(f":envelope: Sent their own links by direct message to {', '.join(sent)}.")
    if failed:
        await ix.private(f":warning: No link could be made for {', '.join(failed)}.")


# -- personal links ----------------------------------------------------------------------------------------------


async def _mirotalk_link(ix: Interaction, room: str, user_id: str, *, presenter_for: str | None = None) -> str:
    person = await ix.deps.people.get(user_id)
    token = TokenRequest(username=person.name, presenter=True, expire=presenter_for) if presenter_for else None
    return await ix.deps.vendors.mirotalk.join_link(JoinRequest(room=room, name=person.name, token=token))


async def _coviu_link(ix: Interaction, session_id: str, user_id: str, role: Role) -> str:
    participant = await coviu_participant(ix, session_id, user_id, role)
    if not participant.entry_url:
        raise VendorError("Coviu", "Coviu answered without an entry link for this participant")
    return participant.entry_url


async def coviu_participant(ix: Interaction, session_id: str, user_id: str, role: Role) -> Participant:
    """The person's own participant in the session: the one they have (role brought up to date), else a new one.
    Never another person's: each Coviu entry link belongs to one person."""
    coviu, store = ix.deps.vendors.coviu, ix.deps.store
    known = await store.guest("coviu", session_id, user_id)
    if known is not None:
        try:
            participant = await coviu.get_participant(known)
        except VendorNotFound:
            await store.forget_guest("coviu", known)  # removed on Coviu's side: make a new one
        else:
            if role == "host" and participant.role != "host":
                participant = await coviu.update_participant(known, role="host")
            return participant
    person = await ix.deps.people.get(user_id)
    created = await coviu.add_participant(session_id, NewParticipant(display_name=person.name, role=role))
    winner = await store.add_guest("coviu", session_id, user_id, created.participant_id, ix.deps.clock.now())
    if winner != created.participant_id:
        # A second click of the same person got there first: keep theirs, drop ours.
        await coviu.cancel_participant(created.participant_id)
        return await coviu.get_participant(winner)
    return created


async def my_link(ix: Interaction, value: str) -> None:
    """The "Get my link" button: the clicker's own link, to them alone."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    card = await ix.deps.store.find_card(vendor, vendor_id)
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(f"This {DISPLAY_NAMES[vendor]} meeting has ended.")
        return
    is_creator = card is not None and card.creator_id == ix.user_id
    if vendor == "coviu":
        link = await _coviu_link(ix, vendor_id, ix.user_id, "host" if is_creator else "guest")
        await ix.private(f":key: Your own link to Coviu session `{vendor_id}` (do not share it): {link}")
        return
    presenter = PRESENTER_LINK_LIFETIME if is_creator else None
    link = await _mirotalk_link(ix, vendor_id, ix.user_id, presenter_for=presenter)
    kind = "presenter link" if presenter else "link"
    await ix.private(f":key: Your {kind} to MiroTalk room `{vendor_id}`, with your name on it: {link}")


@MEETING.sub(
    "join ROOM",
    Option("name", metavar="NAME"),
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
    coviu_card = await ix.deps.store.find_card("coviu", room)
    if coviu_card is not None:  # a Coviu session's id: its own link is the way in
        await my_link(ix, meeting_views.button_value("coviu", room))
        return
    presenter = bool(p.opt("presenter"))
    if presenter:
        card = await ix.deps.store.find_card("mirotalk", room)
        if not (card is not None and card.creator_id == ix.user_id) and not await ix.is_admin():
            await ix.private(":no_entry: A presenter link is for the meeting's creator or an admin.")
            return
    person = await ix.deps.people.get(ix.user_id)
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
        duration=p.opt("duration", "unlimited"),
        token=TokenRequest(username=name, presenter=True, expire=PRESENTER_LINK_LIFETIME) if presenter else None,
    )
    link = await ix.deps.vendors.mirotalk.join_link(request)
    kind = "presenter link" if presenter else "link"
    await ix.private(f":key: Your {kind} to MiroTalk room `{room}` (for you alone): {link}")


@MEETING.sub(
    "token",
    Option("presenter", "flag"),
    Option("expire", metavar="1h"),
    summary="A MiroTalk sign-in token, for you alone (`--presenter`: admins).",
)
async def token(ix: Interaction, p: Parsed) -> None:
    presenter = bool(p.opt("presenter"))
    if presenter and not await ix.is_admin():
        await ix.private(":no_entry: A presenter token is for Cohost admins and workspace admins.")
        return
    expire = p.opt("expire", "1h")
    person = await ix.deps.people.get(ix.user_id)
    jwt = await ix.deps.vendors.mirotalk.token(TokenRequest(username=person.name, presenter=presenter, expire=expire))
    kind = "presenter token" if presenter else "token"
    await ix.private(f":closed_lock_with_key: Your MiroTalk {kind}, good for {expire} (keep it to yourself):\n`{jwt}`")


# -- ending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    state: CardState
    message: str
    #: Worth telling also after a click on End, whose card change says the rest.
    surprising: bool = False


@MEETING.sub(
    "end ROOM_OR_SESSION",
    Option("redirect", metavar="URL"),
    summary="End a meeting for everyone (its creator or an admin); MiroTalk sends people to `--redirect`.",
)
async def end(ix: Interaction, p: Parsed) -> None:
    target = p.arg("ROOM_OR_SESSION")
    redirect = web_url(p.opt("redirect")) if p.opt("redirect") else None
    vendor, card = await _find_meeting(ix, target)
    if vendor == "coviu" and redirect:
        raise ParseError("--redirect is for MiroTalk meetings.", MEETING.find("end").usage())
    await end_meeting(ix, vendor, target, card, redirect)


async def end_card(ix: Interaction, value: str) -> None:
    """The End button of a meeting card."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    meeting_vendor: MeetingVendor = "coviu" if vendor == "coviu" else "mirotalk"
    await end_meeting(ix, meeting_vendor, vendor_id, await ix.deps.store.find_card(vendor, vendor_id), None)


async def _find_meeting(ix: Interaction, target: str) -> tuple[MeetingVendor, Card | None]:
    """Whose meeting `target` is: its card's vendor; else, with both vendors on, Coviu if it knows the id."""
    store, vendors = ix.deps.store, ix.deps.vendors
    for vendor in ("mirotalk", "coviu"):
        card = await store.find_card(vendor, target)
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
    what = f"{DISPLAY_NAMES[vendor]} {'room' if vendor == 'mirotalk' else 'session'} `{vendor_id}`"
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(f"{what} has already ended.")
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
        await ix.private(f"{what} has already ended.")
        return
    if card is not None:
        await cards.close(ix, card, outcome.state, by=ix.user_id if outcome.state == CardState.ENDED else None)
    if ix.typed or outcome.surprising:  # a click on End sees the card change instead
        await ix.private(outcome.message)


async def _end_mirotalk(ix: Interaction, room: str, redirect: str | None, what: str) -> _Outcome:
    try:
        await ix.deps.vendors.mirotalk.end_meeting(room, redirect=redirect)
    except VendorNotFound:
        # A MiroTalk room exists only while someone is in it: nobody is, so the meeting is over.
        return _Outcome(CardState.ENDED, f"Nobody was in {what}; the meeting is closed.", surprising=True)
    sent_to = f" Everyone in it was sent to {redirect}." if redirect else ""
    return _Outcome(CardState.ENDED, f"Ended {what} for everyone.{sent_to}")


async def _end_coviu(ix: Interaction, session_id: str, what: str) -> _Outcome:
    coviu, now = ix.deps.vendors.coviu, ix.deps.clock.now()
    session = await coviu.get_session(session_id)
    if session.canceled_time or session.end_time <= now:
        return _Outcome(CardState.EXPIRED, f"{what} had already ended.", surprising=True)
    if session.start_time > now:
        await coviu.cancel_session(session_id)  # not started: Coviu cancels it
        return _Outcome(CardState.ENDED, f"Cancelled {what} before it started.")
    await coviu.end_session(session_id, now)  # running: its end becomes now
    return _Outcome(CardState.ENDED, f"Ended {what} for everyone.")


# -- Coviu participants and changes ------------------------------------------------------------------------------


async def _coviu_card(ix: Interaction, session_id: str) -> Card | None:
    return await ix.deps.store.find_card("coviu", session_id)


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
            f"{blocks.mention(ix.user_id)} added you to Coviu session `{session_id}` "
            f"({blocks.date_token(session.start_time)}) as {role}. Your own link (do not share it): "
            f"{participant.entry_url}",
        )
        return f"{blocks.mention(user_id)} as {role} (participant `{participant.participant_id}`)"

    added = [await add(user) for user in dict.fromkeys(p.arg("@user"))]
    await ix.private(f"Added to Coviu session `{session_id}`: {', '.join(added)}. Their links went by direct message.")


@MEETING.sub("uninvite PARTICIPANT", summary="Remove a participant from a Coviu session (its creator or an admin).")
async def uninvite(ix: Interaction, p: Parsed) -> None:
    participant_id = p.arg("PARTICIPANT")
    coviu = ix.deps.vendors.coviu
    participant = await coviu.get_participant(participant_id)
    card = await _coviu_card(ix, participant.session_id or "")
    if not await cards.may_manage(ix, card, what="meeting", listing="/meeting list"):
        return
    await coviu.cancel_participant(participant_id)
    await ix.deps.store.forget_guest("coviu", participant_id)
    who = blocks.escape(participant.display_name or participant_id)
    await ix.private(f"Removed {who} (participant `{participant_id}`) from Coviu session `{participant.session_id}`.")


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
    length = timedelta(minutes=p.opt("minutes")) if p.opt("minutes") else current.end_time - current.start_time
    end = (start or current.start_time) + length if (start or p.opt("minutes")) else None
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
        f"Updated Coviu session `{session_id}`: {blocks.escape(updated.session_name or DEFAULT_NAME)}, "
        f"{blocks.date_token(updated.start_time)} to {blocks.date_token(updated.end_time)}."
    )


# -- lists and stats (answers to the caller alone) ------------------------------------------------------------------


async def fetch_live(ix: Interaction, vendor: MeetingVendor) -> LiveSection:
    """One vendor's live meetings; its failure becomes a line in the answer, so the other vendor still shows."""
    vendors: Vendors = ix.deps.vendors
    name = DISPLAY_NAMES[vendor]
    try:
        if vendor == "mirotalk":
            rows = meeting_views.mirotalk_rows(await vendors.mirotalk.meetings())
        else:
            running = await vendors.coviu.all_sessions(state="running")
            upcoming = await vendors.coviu.all_sessions(state="upcoming")
            rows = meeting_views.coviu_rows([*running, *upcoming])
    except VendorError as exc:
        return LiveSection(name, error=f"{exc.message}. {exc.advice}")
    return LiveSection(name, rows)


@MEETING.sub("list", summary="MiroTalk meetings and Coviu's running and upcoming sessions, for you alone.")
async def list_meetings(ix: Interaction, p: Parsed) -> None:
    vendors = ix.deps.vendors
    chosen = vendors.config.enabled_meeting() or [vendors.default_meeting()]
    sections = [await fetch_live(ix, vendor) for vendor in chosen]
    await ix.private("Live meetings", blocks.live_blocks(sections))


@MEETING.sub("stats", summary="MiroTalk server stats and who is in which meeting, for you alone.")
async def stats(ix: Interaction, p: Parsed) -> None:
    numbers = await ix.deps.vendors.mirotalk.stats()
    live = await fetch_live(ix, "mirotalk")
    await ix.private("MiroTalk stats", meeting_views.stats_blocks(numbers, live))


add_digest_subcommands(MEETING, FAMILY)
