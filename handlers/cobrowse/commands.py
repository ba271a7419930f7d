"""`/cobrowse`: co-browsing sessions on MirrorTab and SameSurf; each subcommand's typed arguments above it."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from handlers.cobrowse import views as cobrowse_views
from handlers.core import cards, form_start
from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import MAX_MINUTES, InputRules, ParseError, person_name, web_url
from handlers.core.interaction import Interaction
from handlers.core.live import live_blocks, own_live
from handlers.core.own import not_own, own_among, walled
from handlers.core.parsing import MINUTES, NAME, TZ, Family, NoArgs, Option, Parsed, arg, opt
from handlers.core.when import parse_when
from services import registry, samesurf
from services.cobrowsing import ACCESS, DISABLE, MarkedCobrowse, NewCobrowse, StartedCobrowse
from services.cobrowsing import MINUTES as MINUTES_OPTION
from services.registry import SAMESURF, VendorEntry
from services.samesurf import HISTORY_PAGE, HISTORY_PAGES, AnalyticsRoom, Schedule
from services.vendors import Vendors

COBROWSE = Family("/cobrowse", "co-browsing sessions on MirrorTab and SameSurf")
FAMILY = "cobrowse"
DEFAULT_NAME = "Co-browsing session"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

PROVIDER = Option("provider", "choice", choices=tuple(v.key for v in registry.family_vendors(FAMILY)))


def feature(text: str) -> str:
    name = text.upper()
    if name not in samesurf.FEATURES:
        raise ParseError(f"`{text}` is not a SameSurf feature. One of: {', '.join(samesurf.FEATURES)}.")
    return name


@dataclass(frozen=True)
class NewSession:
    """A session to start, from the command line or the modal."""

    vendor: str
    urls: list[str] = field(default_factory=list)
    name: str | None = None
    minutes: int | None = None
    access: str | None = None
    disable: list[str] = field(default_factory=list)

    def check(self, rules: InputRules) -> None:
        """The bounds of what goes to the vendor, checked (again, for the form) right before the call."""
        for url in self.urls:
            web_url(url, rules)
        if self.name is not None:
            person_name(self.name)
        if self.minutes is not None and not 1 <= self.minutes <= MAX_MINUTES:
            raise ParseError(f"--minutes is from 1 to {MAX_MINUTES}.")
        entry = registry.vendor(self.vendor)
        for option, given in ((MINUTES_OPTION, self.minutes), (ACCESS, self.access), (DISABLE, self.disable)):
            if given and option not in entry.options:
                raise ParseError(cards.option_refused(entry, option))
        for name in self.disable:
            feature(name)


# -- starting sessions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class New:
    urls: list[str] = arg("URL", optional=True, variadic=True)
    name: str | None = opt(NAME)
    minutes: int | None = opt(MINUTES)
    access: str | None = opt(Option("access", "choice", choices=("open", "gocode", "account")))
    provider: str | None = opt(PROVIDER)
    disable: list[str] = opt(Option("disable", metavar="FEATURE", repeat=True))


@COBROWSE.sub("new", New)
async def new(ix: Interaction, a: New) -> None:
    """Start a session and post its card here. With nothing after `new`, a form opens."""
    if a == New():
        await form_start.open_form(ix, FAMILY, cobrowse_views.new_session_view, ix.channel_id)
        return
    request = NewSession(
        vendor=a.provider or ix.deps.vendors.default(FAMILY),
        urls=a.urls,
        name=a.name,
        minutes=a.minutes,
        access=a.access,
        disable=[feature(name) for name in a.disable],
    )
    await start_session(ix, request)


async def start_session(ix: Interaction, request: NewSession) -> None:
    request.check(ix.deps.input_rules)
    entry = registry.vendor(request.vendor)
    name = request.name or DEFAULT_NAME
    started = await ix.deps.vendors.cobrowse(entry.key).start(
        NewCobrowse(
            name, request.urls, request.minutes, request.access, request.disable, marker=ix.marker_for(entry.key)
        )
    )
    await ix.started(entry.key, started.vendor_id)
    await cards.post(ix, entry, cobrowse_views.session_card(entry, started, name, ix.user_id))
    await _send_leader_link(ix, entry, started)


@dataclass(frozen=True)
class ScheduleRoom:
    when: str = arg("WHEN")
    url: str | None = arg("URL", optional=True)
    name: str | None = opt(NAME)
    minutes: int | None = opt(MINUTES)
    tz: str | None = opt(TZ)
    invite: list[str] = opt(Option("invite", "list", metavar="EMAIL,..."), default=[])
    message: str | None = opt(Option("message", metavar="TEXT"))


@COBROWSE.sub("schedule", ScheduleRoom)
async def schedule(ix: Interaction, a: ScheduleRoom) -> None:
    """Schedule a SameSurf room (WHEN: `2026-11-23 15:00`, `tomorrow 09:30`, `in 2h`); invitees get e-mail."""
    tz = await ix.tz(a.tz)
    starts = parse_when(a.when, ix.deps.clock.now(), tz)
    url = a.url
    invitees = a.invite
    for email in invitees:
        if not _EMAIL.match(email):
            raise ParseError(f"`{email}` is not an e-mail address.", COBROWSE.find("schedule").usage())
    name = a.name or DEFAULT_NAME
    minutes = a.minutes
    room = await ix.deps.vendors.samesurf.create_room(
        starturl=url,
        title=name,
        schedule=Schedule(
            eventtime=starts,
            timezone=tz.key,
            lengthinminutes=minutes,
            invitees=invitees,
            invitemessage=a.message,
        ),
        marker=ix.marker_for(SAMESURF.key),
    )
    await ix.started(SAMESURF.key, room.room)
    ends = starts + timedelta(minutes=minutes) if minutes else None
    started = StartedCobrowse(room.room, room.publicinvitation, leader_link=room.privateinvitation)
    view = cobrowse_views.session_card(SAMESURF, started, name, ix.user_id, starts_at=starts, expires_at=ends)
    await cards.post(ix, SAMESURF, view)
    await _send_leader_link(ix, SAMESURF, started)


async def _send_leader_link(ix: Interaction, entry: VendorEntry[Any], started: StartedCobrowse) -> None:
    if started.leader_link:
        label = entry.id_label.lower()
        await ix.private(
            Mrkdwn(
                ":key: Your leader link for {} {} {} (it makes you the {}'s leader: keep it to yourself): {}"
            ).format(entry.name, label, code(started.vendor_id), label, started.leader_link)
        )


# -- after a crash: the sessions Cohost started -------------------------------------------------------------------


def starts_session(parsed: Parsed[Any], vendors: Vendors) -> str | None:
    """The vendor a command asks for a new session, if it does and the vendor lists it (to finish it after a
    crash). Not `schedule`: SameSurf lists a scheduled room only once it has started, so its absence from the
    list says nothing, and the person is told the command may have been done in part."""
    if isinstance(parsed.args, New) and parsed.args != New():
        return parsed.args.provider or vendors.default(FAMILY)
    return None


async def started_at(vendors: Vendors, vendor: str, since: datetime) -> list[cards.Started]:
    """The live sessions of `vendor` that carry a Cohost marker (services/markers.py)."""
    entry = registry.vendor(vendor)
    adapter = vendors.cobrowse(vendor)

    def started(marked: MarkedCobrowse) -> cards.Started:
        name = marked.name or DEFAULT_NAME
        session = marked.started

        async def end(now: datetime) -> None:
            await adapter.end(session.vendor_id, now=now)

        return cards.Started(
            FAMILY,
            vendor,
            session.vendor_id,
            marked.marker,
            card=lambda creator_id: cobrowse_views.session_card(entry, session, name, creator_id),
            end=end if entry.endable else None,
            then=lambda ix: _send_leader_link(ix, entry, session),
        )

    return [started(marked) for marked in await adapter.marked()]


# -- ending ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class End:
    session: str = arg("SESSION")


@COBROWSE.sub("end", End)
async def end(ix: Interaction, a: End) -> None:
    """End a MirrorTab session for everyone (its creator or an admin)."""
    session_id = a.session
    card = await cards.find_card(ix, FAMILY, session_id)
    entry = registry.vendor(card.vendor) if card is not None else cards.endable(FAMILY)
    if not entry.endable:
        label = entry.id_label.lower()
        await ix.private(
            Mrkdwn("{} has no way to end {} {}: a {} ends when everyone leaves. ").format(
                entry.name, label, code(session_id), label
            )
            + Mrkdwn("Revoke its invitations with `/cobrowse revoke TOKEN`.")
        )
        return
    await cards.end(ix, entry, session_id, card)


# -- invitations -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    room: str = arg("ROOM")
    uses: int = opt(Option("uses", "int", metavar="N", minimum=1), default=1)
    leader: bool = opt(Option("leader", "flag"))
    as_name: str | None = opt(Option("as", "name", metavar="NAME"))


@COBROWSE.sub("invite", Invite)
async def invite(ix: Interaction, a: Invite) -> None:
    """A limited-use SameSurf invitation, for you alone (`--leader`: the room's creator or an admin)."""
    room, leader, uses = a.room, a.leader, a.uses
    # With many workspaces, another's room is answered as one not found, and SameSurf is not asked.
    await _own_room(ix, room)
    if leader:
        card = await ix.deps.store.find_card(ix.team_id, "samesurf", room)
        if not (card is not None and card.creator_id == ix.user_id) and not await ix.is_admin():
            await ix.private(Mrkdwn(":no_entry: A leader invitation is for the room's creator or an admin."))
            return
    invitation = await ix.deps.vendors.samesurf.create_invitation(
        room, usagelimit=uses, isleader=leader, usersname=a.as_name
    )
    kind = "Leader" if leader else "Follower"
    await ix.private(
        Mrkdwn(":link: {} invitation to SameSurf room {}, good for {} use{}: {}\nToken {} (revoke with {}).").format(
            kind,
            code(room),
            uses,
            "s" if uses != 1 else "",
            invitation.link,
            code(invitation.token),
            code(f"/cobrowse revoke {invitation.token}"),
        )
    )


@dataclass(frozen=True)
class Revoke:
    token: str = arg("TOKEN")


@COBROWSE.sub("revoke", Revoke)
async def revoke(ix: Interaction, a: Revoke) -> None:
    """Delete a SameSurf limited-use invitation."""
    await ix.deps.vendors.samesurf.delete_invitation(a.token)
    await ix.private(Mrkdwn("Revoked invitation {}.").format(code(a.token)))


# -- lists and analytics (answers to the caller alone) ------------------------------------------------------------


@dataclass(frozen=True)
class ListSessions:
    provider: str | None = opt(PROVIDER)


@COBROWSE.sub("list", ListSessions)
async def list_sessions(ix: Interaction, a: ListSessions) -> None:
    """Live sessions and rooms, for you alone."""
    vendors = ix.deps.vendors
    chosen = [a.provider] if a.provider else vendors.config.enabled(FAMILY) or [vendors.default(FAMILY)]
    sections = await own_live(ix.deps, ix.team_id, chosen, DEFAULT_NAME)
    await ix.private(Mrkdwn("Live co-browsing sessions"), live_blocks(sections))


@COBROWSE.sub("stats", NoArgs)
async def stats(ix: Interaction, a: NoArgs) -> None:
    """SameSurf analytics overview and live session counts, for you alone."""
    # The overview is the whole account's: shared between workspaces, it is left out (handlers/core/own.py).
    overview = None if walled(ix.deps) else await ix.deps.vendors.samesurf.analytics_overview()
    live = await own_live(ix.deps, ix.team_id, ix.deps.vendors.config.enabled(FAMILY), DEFAULT_NAME)
    await ix.private(Mrkdwn("Co-browsing stats"), cobrowse_views.stats_blocks(overview, live))


@dataclass(frozen=True)
class Rooms:
    skip: int = opt(Option("skip", "int", metavar="N", minimum=0), default=0)
    take: int = opt(Option("take", "int", metavar="N", minimum=1), default=20)


@COBROWSE.sub("rooms", Rooms)
async def rooms(ix: Interaction, a: Rooms) -> None:
    """SameSurf rooms of the past, newest first, for you alone."""
    skip, take = a.skip, min(a.take, 100)
    if walled(ix.deps):
        await _own_rooms(ix, skip, take)
        return
    page = await ix.deps.vendors.samesurf.analytics_rooms(skip=skip, take=take)
    await ix.private(Mrkdwn("SameSurf rooms"), cobrowse_views.rooms_blocks(page, skip))


async def _own_rooms(ix: Interaction, skip: int, take: int) -> None:
    """With many workspaces, whose SameSurf account may be shared: the rooms this workspace started, found among
    the account's newest (its pages would show other workspaces' rooms, and how many there are)."""
    found: list[AnalyticsRoom] = []
    unreadable = searched = 0
    async with contextlib.aclosing(ix.deps.vendors.samesurf.newest_rooms()) as pages:
        async for page in pages:
            own = await own_among(ix.deps, ix.team_id, SAMESURF.key, [room.room for room in page.rooms])
            found += [room for room in page.rooms if own.started(SAMESURF.key, room.room)]
            unreadable += page.unreadable
            searched += len(page.rooms) + page.unreadable
            if len(found) > skip + take:
                break
    shown = found[skip : skip + take]
    more = len(found) > skip + take
    cut_short = searched if searched >= HISTORY_PAGE * HISTORY_PAGES else None
    blocks_ = cobrowse_views.own_rooms_blocks(shown, skip, unreadable, more=more, searched=cut_short)
    await ix.private(Mrkdwn("SameSurf rooms"), blocks_)


@dataclass(frozen=True)
class Report:
    room: str = arg("ROOM")
    version: int = opt(Option("version", "int", metavar="N", minimum=0), default=0)


@COBROWSE.sub("report", Report)
async def report(ix: Interaction, a: Report) -> None:
    """Who was in a SameSurf room and what happened there, for you alone."""
    room = a.room
    await _own_room(ix, room)  # with many workspaces, another's room is answered as one not found
    analytics = await ix.deps.vendors.samesurf.room_analytics(room, version=a.version)
    await ix.private(Mrkdwn("SameSurf room {}").format(room), cobrowse_views.report_blocks(room, analytics))


async def _own_room(ix: Interaction, room: str) -> None:
    """With many workspaces, a room this workspace did not start is answered as one not found (SameSurf is not
    asked, and nothing says whether it exists); with one, every room is the workspace's."""
    if not (await own_among(ix.deps, ix.team_id, SAMESURF.key, [room])).started(SAMESURF.key, room):
        raise not_own(SAMESURF, room, "/cobrowse rooms")
