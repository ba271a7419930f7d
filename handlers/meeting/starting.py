"""How a meeting starts on each vendor: a MiroTalk room (named, or named by the server) or a Coviu session at set
times; its card posted, then the personal links handed out (the caller's privately, each mentioned person's by
direct message)."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.core import cards
from handlers.core.blocks import Mrkdwn, SessionCard, code, mention, when_text
from handlers.core.bounds import MAX_NAME
from handlers.core.interaction import Interaction
from handlers.meeting import views as meeting_views
from handlers.meeting.links import (
    FIRST_IN_PRESENTS,
    PRESENTER_LINK_LIFETIME,
    coviu_link,
    hand_out,
    mirotalk_link,
)
from handlers.meeting.views import DEFAULT_NAME, FAMILY
from services.coviu import Session
from services.mirotalk import duration_of
from services.registry import COVIU, MIROTALK
from services.vendors import Vendors


async def new_mirotalk(
    ix: Interaction, room: str | None, name: str | None, minutes: int | None, invitees: list[str]
) -> None:
    mirotalk = ix.deps.vendors.mirotalk
    duration = duration_of(minutes)  # before any call: a length the links could not carry stops here
    room, link = await mirotalk.new_room(room)
    # MiroTalk creates nothing until someone joins; the room is recorded all the same, so a crash after its card
    # is posted is not mistaken for one before.
    await ix.started("mirotalk", room)
    expires = ix.deps.clock.now() + timedelta(minutes=minutes) if minutes else None
    view = meeting_views.mirotalk_card(
        name=name or DEFAULT_NAME,
        room=room,
        link=link,
        creator_id=ix.user_id,
        expires_at=expires,
        can_end=await mirotalk.ending_on(),
    )
    await cards.post(ix, MIROTALK, view)
    lifetime = f"{minutes + 60}m" if minutes else PRESENTER_LINK_LIFETIME
    presenter = mirotalk.presenter_links_on
    await hand_out(
        ix,
        own=lambda: mirotalk_link(ix, room, ix.user_id, duration, presenter_for=lifetime if presenter else None),
        own_text=Mrkdwn(":key: Your presenter link for MiroTalk room {} (keep it to yourself)").format(code(room))
        if presenter
        else Mrkdwn(":key: Your link to MiroTalk room {}, with your name on it ({})").format(
            code(room), FIRST_IN_PRESENTS
        ),
        invitees=invitees,
        link_for=lambda user: mirotalk_link(ix, room, user, duration),
        invite_text=Mrkdwn("{} invited you to MiroTalk room {}. Your own link").format(mention(ix.user_id), code(room)),
    )


async def new_coviu(ix: Interaction, name: str | None, start: datetime, end: datetime, invitees: list[str]) -> None:
    session = await ix.deps.vendors.coviu.create_session(start=start, end=end, name=name, marker=ix.marker_for("coviu"))
    await ix.started("coviu", session.session_id)
    await cards.post(ix, COVIU, _coviu_card(session, name, ix.user_id))
    sid = session.session_id
    await hand_out(
        ix,
        own=lambda: coviu_link(ix, sid, ix.user_id, "host"),
        own_text=_host_link_text(sid),
        invitees=invitees,
        link_for=lambda user: coviu_link(ix, sid, user, "guest"),
        invite_text=Mrkdwn("{} invited you to Coviu session {} ({}). Your own link (do not share it)").format(
            mention(ix.user_id), code(sid), when_text(session.start_time)
        ),
    )


def _coviu_card(session: Session, name: str | None, creator_id: str) -> SessionCard:
    return meeting_views.coviu_card(
        # What was asked for, where Coviu's answer leaves it out (or sends something other than a name).
        name=(session.session_name or name or DEFAULT_NAME)[:MAX_NAME],
        session_id=session.session_id,
        creator_id=creator_id,
        starts_at=session.start_time,
        ends_at=session.end_time,
    )


def _host_link_text(session_id: str) -> Mrkdwn:
    return Mrkdwn(":key: Your host link for Coviu session {} (yours alone: do not share it)").format(code(session_id))


# -- after a crash: the sessions Cohost started -------------------------------------------------------------------


async def started_at(vendors: Vendors, vendor: str, since: datetime) -> list[cards.Started]:
    """Coviu's live sessions that carry a Cohost marker (services/markers.py). Only Coviu: MiroTalk creates
    nothing until someone joins, so a crash before the card leaves nothing behind."""
    adapter = vendors.sessions(vendor)

    async def host_link(ix: Interaction, session_id: str) -> None:
        link = await coviu_link(ix, session_id, ix.user_id, "host")
        await ix.private(_host_link_text(session_id) + Mrkdwn(": {}").format(link))

    def started(session: Session) -> cards.Started:
        sid = session.session_id

        async def end(now: datetime) -> None:
            await adapter.end(sid, now=now)

        return cards.Started(
            FAMILY,
            vendor,
            sid,
            session.marker,
            card=lambda creator_id: _coviu_card(session, None, creator_id),
            end=end,
            then=lambda ix: host_link(ix, sid),
        )

    # Cohost's sessions start after the command that asked for them (`new`: a minute after; `schedule`: later).
    found = await vendors.coviu.all_sessions(starting_from=since)
    return [started(s) for s in found if s.marker and not s.canceled]
