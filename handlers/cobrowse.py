"""`/cobrowse`: co-browsing sessions on MirrorTab and SameSurf. Each subcommand's grammar sits on its handler."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from handlers import blocks, cards, cobrowse_views
from handlers.blocks import Button, LiveRow, LiveSection, SessionCard
from handlers.context import Interaction
from handlers.digest import add_digest_subcommands
from handlers.parsing import Family, Option, Parsed, ParseError, web_url
from handlers.when import parse_when
from services import samesurf
from services.errors import VendorBadRequest, VendorError
from services.mirrortab import MirrorTabSession
from services.samesurf import Bookmark, RunningRoom, Schedule
from services.store import Card, CardState
from services.vendors import DISPLAY_NAMES, CobrowseVendor, Vendors

COBROWSE = Family("/cobrowse", "co-browsing sessions on MirrorTab and SameSurf")
FAMILY = "cobrowse"
END_ACTION = "cobrowse_end"
INVITE_LINK_ACTION = "cobrowse_invite_link"
DEFAULT_NAME = "Co-browsing session"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

PROVIDER = Option("provider", "choice", choices=("mirrortab", "samesurf"))
NAME = Option("name", metavar="TEXT")
MINUTES = Option("minutes", "int", metavar="N", minimum=1)


def feature(text: str) -> str:
    name = text.upper()
    if name not in samesurf.FEATURES:
        raise ParseError(f"`{text}` is not a SameSurf feature. One of: {', '.join(samesurf.FEATURES)}.")
    return name


@dataclass(frozen=True)
class NewSession:
    """A session to start, from the command line or the modal."""

    vendor: CobrowseVendor
    urls: list[str] = field(default_factory=list)
    name: str | None = None
    minutes: int | None = None
    access: str | None = None
    disable: list[str] = field(default_factory=list)

    def check(self) -> None:
        for url in self.urls:
            web_url(url)
        if self.vendor == "samesurf" and (self.minutes or self.access):
            option = "--minutes" if self.minutes else "--access"
            raise ParseError(f"{option} is for MirrorTab sessions; SameSurf rooms last while people are in them.")
        if self.vendor == "mirrortab" and self.disable:
            raise ParseError("--disable is for SameSurf rooms.")
        for name in self.disable:
            feature(name)


# -- starting sessions --------------------------------------------------------------------------------------


@COBROWSE.sub(
    "new [URL ...]",
    NAME,
    MINUTES,
    Option("access", "choice", choices=("open", "gocode", "account")),
    PROVIDER,
    Option("disable", metavar="FEATURE", repeat=True),
    summary="Start a session and post its card here. With nothing after `new`, a form opens.",
)
async def new(ix: Interaction, p: Parsed) -> None:
    if not p.args["URL"] and not p.opts:
        vendors = ix.deps.vendors
        form = cobrowse_views.new_session_view(
            ix.channel_id, vendors.config.enabled_cobrowse(), vendors.default_cobrowse()
        )
        await ix.client.views_open(trigger_id=ix.trigger_id, view=form)
        return
    request = NewSession(
        vendor=p.opt("provider") or ix.deps.vendors.default_cobrowse(),
        urls=p.arg("URL"),
        name=p.opt("name"),
        minutes=p.opt("minutes"),
        access=p.opt("access"),
        disable=[feature(name) for name in p.opt("disable", [])],
    )
    await start_session(ix, request)


async def start_session(ix: Interaction, request: NewSession) -> None:
    request.check()
    name = request.name or DEFAULT_NAME
    if request.vendor == "mirrortab":
        session = await ix.deps.vendors.mirrortab.new_session(
            name=name,
            permissions=request.access or "gocode",  # type: ignore[arg-type]
            duration_min=request.minutes or 45,
            urls=request.urls,
            marker=ix.marker_for("mirrortab"),
        )
        await ix.started("mirrortab", session.session_id)
        await cards.post(ix, FAMILY, "mirrortab", _mirrortab_card(ix.user_id, name, session))
        return
    room = await ix.deps.vendors.samesurf.create_room(
        starturl=request.urls[0] if request.urls else None,
        title=name,
        bookmarks=_bookmarks(request.urls),
        disabledfeatures=request.disable,
        marker=ix.marker_for("samesurf"),
    )
    await ix.started("samesurf", room.room)
    await cards.post(ix, FAMILY, "samesurf", _samesurf_card(ix.user_id, room.room, name, room.publicinvitation))
    await _send_leader_link(ix, room.room, room.privateinvitation)


def _mirrortab_card(creator_id: str, name: str, session: MirrorTabSession) -> SessionCard:
    return SessionCard(
        name=name,
        vendor="MirrorTab",
        id_label="Session",
        vendor_id=session.session_id,
        creator_id=creator_id,
        join_url=session.go_url,
        code=session.gocode,
        expires_at=session.kill_time,
        buttons=[
            Button(
                END_ACTION,
                "End",
                value=session.session_id,
                style="danger",
                confirm="This ends the session for everyone in it.",
            )
        ],
    )


@COBROWSE.sub(
    "schedule WHEN [URL]",
    NAME,
    MINUTES,
    Option("tz", metavar="ZONE"),
    Option("invite", "list", metavar="EMAIL,..."),
    Option("message", metavar="TEXT"),
    summary="Schedule a SameSurf room (WHEN: `2026-11-23 15:00`, `tomorrow 09:30`, `in 2h`); invitees get e-mail.",
)
async def schedule(ix: Interaction, p: Parsed) -> None:
    tz = await ix.tz(p.opt("tz"))
    starts = parse_when(p.arg("WHEN"), ix.deps.clock.now(), tz)
    url = web_url(p.arg("URL")) if p.arg("URL") else None
    invitees = p.opt("invite", [])
    for email in invitees:
        if not _EMAIL.match(email):
            raise ParseError(f"`{email}` is not an e-mail address.", COBROWSE.find("schedule").usage())
    name = p.opt("name") or DEFAULT_NAME
    minutes = p.opt("minutes")
    room = await ix.deps.vendors.samesurf.create_room(
        starturl=url,
        title=name,
        schedule=Schedule(
            eventtime=starts,
            timezone=tz.key,
            lengthinminutes=minutes,
            invitees=invitees,
            invitemessage=p.opt("message"),
        ),
        marker=ix.marker_for("samesurf"),
    )
    await ix.started("samesurf", room.room)
    ends = starts + timedelta(minutes=minutes) if minutes else None
    view = _samesurf_card(ix.user_id, room.room, name, room.publicinvitation, starts_at=starts, expires_at=ends)
    await cards.post(ix, FAMILY, "samesurf", view)
    await _send_leader_link(ix, room.room, room.privateinvitation)


def _bookmarks(urls: list[str]) -> list[Bookmark]:
    # Every URL given becomes a bookmark, so the room can get back to any of them.
    return [Bookmark(name=urlsplit(url).netloc or url, link=url) for url in urls] if len(urls) > 1 else []


def _samesurf_card(
    creator_id: str,
    room: str,
    name: str,
    public_link: str | None,
    *,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> SessionCard:
    return SessionCard(
        name=name,
        vendor="SameSurf",
        id_label="Room",
        vendor_id=room,
        creator_id=creator_id,
        join_url=public_link,
        starts_at=starts_at,
        expires_at=expires_at,
        buttons=[Button(INVITE_LINK_ACTION, "Invite link", value=room)],
        note="Invite link: a one-use link just for you. Rooms end when everyone has left.",
    )


async def _send_leader_link(ix: Interaction, room: str, link: str | None) -> None:
    if link:
        await ix.private(
            f":key: Your leader link for SameSurf room `{room}` (it makes you the room's leader: keep it to "
            f"yourself): {link}"
        )


# -- after a crash: the sessions Cohost started -------------------------------------------------------------------


def starts_session(p: Parsed, vendors: Vendors) -> str | None:
    """The vendor a command asks for a new session, if it does and the vendor lists it (to finish it after a
    crash). Not `schedule`: SameSurf lists a scheduled room only once it has started, so its absence from the
    list says nothing, and the person is told the command may have been done in part."""
    if p.sub.name == "new" and (p.args["URL"] or p.opts):
        vendor: CobrowseVendor = p.opt("provider") or vendors.default_cobrowse()
        return vendor
    return None


async def _started_at_mirrortab(vendors: Vendors, since: datetime) -> list[cards.Started]:
    mirrortab = vendors.mirrortab

    def started(session: MirrorTabSession) -> cards.Started:
        name = session.session_name or DEFAULT_NAME
        return cards.Started(
            FAMILY,
            "mirrortab",
            session.session_id,
            session.marker,
            card=lambda creator_id: _mirrortab_card(creator_id, name, session),
            end=lambda _now: mirrortab.remove_session(session.session_id),
        )

    return [started(session) for session in await mirrortab.list_sessions() if session.marker]


async def _started_at_samesurf(vendors: Vendors, since: datetime) -> list[cards.Started]:
    def started(room: RunningRoom) -> cards.Started:
        name = room.title or DEFAULT_NAME
        return cards.Started(
            FAMILY,
            "samesurf",
            room.room,
            room.marker,
            card=lambda creator_id: _samesurf_card(creator_id, room.room, name, room.publicinvitation),
            end=None,
            then=lambda ix: _send_leader_link(ix, room.room, room.privateinvitation),
        )

    rooms = await vendors.samesurf.all_running_rooms()
    return [started(room) for room in rooms if room.marker]


#: Each vendor's live sessions that carry a Cohost marker (services/markers.py), by vendor.
STARTED_AT = {"mirrortab": _started_at_mirrortab, "samesurf": _started_at_samesurf}


# -- ending ----------------------------------------------------------------------------------------------------


@COBROWSE.sub("end SESSION", summary="End a MirrorTab session for everyone (its creator or an admin).")
async def end(ix: Interaction, p: Parsed) -> None:
    session_id = p.arg("SESSION")
    card = await ix.deps.store.find_card("mirrortab", session_id) or await ix.deps.store.find_card(
        "samesurf", session_id
    )
    if card is not None and card.vendor == "samesurf":
        await ix.private(
            f"SameSurf has no way to end room `{session_id}`: a room ends when everyone leaves. "
            "Revoke its invitations with `/cobrowse revoke TOKEN`."
        )
        return
    await end_session(ix, session_id, card)


async def end_card(ix: Interaction, session_id: str) -> None:
    """The End button of a MirrorTab card."""
    await end_session(ix, session_id, await ix.deps.store.find_card("mirrortab", session_id))


async def end_session(ix: Interaction, session_id: str, card: Card | None) -> None:
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(f"MirrorTab session `{session_id}` has already ended.")
        return
    if not await cards.may_manage(ix, card, what="session", listing="/cobrowse list"):
        return
    try:
        async with cards.ending(ix, card):
            gone = await _remove(ix, session_id)
    except cards.AlreadyEnded:
        await ix.private(f"MirrorTab session `{session_id}` has already ended.")
        return
    if gone:
        if card is not None:
            await cards.close(ix, card, CardState.EXPIRED, by=None)
        await ix.private(f"MirrorTab session `{session_id}` had already ended.")
        return
    if card is not None:
        await cards.close(ix, card, CardState.ENDED, by=ix.user_id)
    if ix.typed:  # from the command; a button click sees the card change instead
        await ix.private(f"Ended MirrorTab session `{session_id}`.")


async def _remove(ix: Interaction, session_id: str) -> bool:
    """Removes the session; True when MirrorTab had already dropped it (it refuses to remove a timed-out one)."""
    try:
        await ix.deps.vendors.mirrortab.remove_session(session_id)
    except VendorBadRequest:
        live = {s.session_id for s in await ix.deps.vendors.mirrortab.list_sessions()}
        if session_id in live:
            raise
        return True
    return False


# -- invitations -----------------------------------------------------------------------------------------------


@COBROWSE.sub(
    "invite ROOM",
    Option("uses", "int", metavar="N", minimum=1),
    Option("leader", "flag"),
    Option("as", metavar="NAME"),
    summary="A limited-use SameSurf invitation, for you alone (`--leader`: the room's creator or an admin).",
)
async def invite(ix: Interaction, p: Parsed) -> None:
    room, leader, uses = p.arg("ROOM"), bool(p.opt("leader")), p.opt("uses", 1)
    if leader:
        card = await ix.deps.store.find_card("samesurf", room)
        if not (card is not None and card.creator_id == ix.user_id) and not await ix.is_admin():
            await ix.private(":no_entry: A leader invitation is for the room's creator or an admin.")
            return
    invitation = await ix.deps.vendors.samesurf.create_invitation(
        room, usagelimit=uses, isleader=leader, usersname=p.opt("as")
    )
    kind = "leader" if leader else "follower"
    await ix.private(
        f":link: {kind.capitalize()} invitation to SameSurf room `{room}`, good for {uses} "
        f"use{'s' if uses != 1 else ''}: {invitation.link}\nToken `{invitation.token}` "
        f"(revoke with `/cobrowse revoke {invitation.token}`)."
    )


async def invite_link_for_clicker(ix: Interaction, room: str) -> None:
    """The Invite link button: a new one-use follower invitation, named after the person who clicked."""
    person = await ix.deps.people.get(ix.user_id)
    invitation = await ix.deps.vendors.samesurf.create_invitation(room, usagelimit=1, usersname=person.name)
    await ix.private(f":link: Your one-use link to SameSurf room `{room}`: {invitation.link}")


@COBROWSE.sub("revoke TOKEN", summary="Delete a SameSurf limited-use invitation.")
async def revoke(ix: Interaction, p: Parsed) -> None:
    await ix.deps.vendors.samesurf.delete_invitation(p.arg("TOKEN"))
    await ix.private(f"Revoked invitation `{p.arg('TOKEN')}`.")


# -- lists and analytics (answers to the caller alone) ------------------------------------------------------------


async def fetch_live(vendors: Vendors, vendor: CobrowseVendor) -> LiveSection:
    """One vendor's live sessions; its failure becomes a line in the answer, so the other vendors still show."""
    name = DISPLAY_NAMES[vendor]
    try:
        if vendor == "mirrortab":
            sessions = await vendors.mirrortab.list_sessions()
            rows = [
                LiveRow(s.session_id, s.session_name or DEFAULT_NAME, s.go_url, s.gocode, None, s.kill_time)
                for s in sessions
            ]
        else:
            # Only the follower link: a leader link is for the room's creator alone.
            rooms = await vendors.samesurf.all_running_rooms()
            rows = [LiveRow(r.room, r.title or DEFAULT_NAME, r.publicinvitation, None, r.starttime) for r in rooms]
    except VendorError as exc:
        return LiveSection(name, error=f"{exc.message}. {exc.advice}")
    return LiveSection(name, rows)


@COBROWSE.sub("list", PROVIDER, summary="Live sessions and rooms, for you alone.")
async def list_sessions(ix: Interaction, p: Parsed) -> None:
    vendors = ix.deps.vendors
    chosen: list[CobrowseVendor] = (
        [p.opt("provider")] if p.opt("provider") else vendors.config.enabled_cobrowse() or [vendors.default_cobrowse()]
    )
    sections = [await fetch_live(vendors, vendor) for vendor in chosen]
    await ix.private("Live co-browsing sessions", blocks.live_blocks(sections))


@COBROWSE.sub("stats", summary="SameSurf analytics overview and live session counts, for you alone.")
async def stats(ix: Interaction, p: Parsed) -> None:
    overview = await ix.deps.vendors.samesurf.analytics_overview()
    live = [await fetch_live(ix.deps.vendors, v) for v in ix.deps.vendors.config.enabled_cobrowse()]
    await ix.private("Co-browsing stats", cobrowse_views.stats_blocks(overview, live))


@COBROWSE.sub(
    "rooms",
    Option("skip", "int", metavar="N", minimum=0),
    Option("take", "int", metavar="N", minimum=1),
    summary="SameSurf rooms of the past, newest first, for you alone.",
)
async def rooms(ix: Interaction, p: Parsed) -> None:
    skip, take = p.opt("skip", 0), min(p.opt("take", 20), 100)
    page = await ix.deps.vendors.samesurf.analytics_rooms(skip=skip, take=take)
    await ix.private("SameSurf rooms", cobrowse_views.rooms_blocks(page, skip))


@COBROWSE.sub(
    "report ROOM",
    Option("version", "int", metavar="N", minimum=0),
    summary="Who was in a SameSurf room and what happened there, for you alone.",
)
async def report(ix: Interaction, p: Parsed) -> None:
    room = p.arg("ROOM")
    analytics = await ix.deps.vendors.samesurf.room_analytics(room, version=p.opt("version", 0))
    await ix.private(f"SameSurf room {room}", cobrowse_views.report_blocks(room, analytics))


# -- reseller (admins only) ------------------------------------------------------------------------------------


async def _admin_only(ix: Interaction) -> bool:
    if await ix.is_admin():
        return True
    await ix.private(":no_entry: `/cobrowse reseller` is for Cohost admins and workspace admins.")
    return False


@COBROWSE.sub(
    "reseller create NAME",
    Option("licenses", "int", metavar="N", minimum=1, required=True),
    Option("set", "pair", metavar="KEY=VALUE", repeat=True),
    Option("disable", metavar="FEATURE", repeat=True),
    summary="Create a SameSurf subscription (admins).",
)
async def reseller_create(ix: Interaction, p: Parsed) -> None:
    overrides = dict(p.opt("set", []))
    usage = COBROWSE.find("reseller create").usage()
    for key in overrides:
        if key not in samesurf.OVERRIDE_KEYS:
            raise ParseError(f"`{key}` is not a SameSurf setting. One of: {', '.join(samesurf.OVERRIDE_KEYS)}.", usage)
    disabled = [feature(name) for name in p.opt("disable", [])]
    if not await _admin_only(ix):
        return
    name = p.arg("NAME")
    await ix.deps.vendors.samesurf.create_subscription(
        name, licensecount=p.opt("licenses"), overrides=overrides, disabledfeatures=disabled
    )
    await ix.private(f"Created SameSurf subscription `{name}` with {p.opt('licenses')} licences.")


@COBROWSE.sub(
    "reseller delete NAME",
    Option("force", "flag"),
    summary="Delete a SameSurf subscription (admins; `--force` when it has API keys).",
)
async def reseller_delete(ix: Interaction, p: Parsed) -> None:
    if not await _admin_only(ix):
        return
    await ix.deps.vendors.samesurf.delete_subscription(p.arg("NAME"), force=bool(p.opt("force")))
    await ix.private(f"Deleted SameSurf subscription `{p.arg('NAME')}`.")


@COBROWSE.sub("reseller apikey SUBSCRIPTION", summary="New API credentials for a subscription, to you alone (admins).")
async def reseller_apikey(ix: Interaction, p: Parsed) -> None:
    if not await _admin_only(ix):
        return
    key = await ix.deps.vendors.samesurf.create_api_key(p.arg("SUBSCRIPTION"))
    await ix.private(
        f":closed_lock_with_key: API credentials for `{p.arg('SUBSCRIPTION')}` (shown once, to you alone; "
        f"store them in a secret manager):\nKey: `{key.apikey}`\nSecret: `{key.apisecret.get_secret_value()}`"
    )


add_digest_subcommands(COBROWSE, FAMILY)
