"""What a meeting card's buttons do (Get my link, End), and the end of a meeting, from the button or `/meeting end`."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core import cards
from handlers.core.blocks import Mrkdwn, code
from handlers.core.interaction import Interaction
from handlers.meeting import views as meeting_views
from handlers.meeting.links import PRESENTER_LINK_LIFETIME, coviu_link, duration_left, mirotalk_link
from services.errors import VendorNotFound
from services.store import Card, CardState
from services.vendors import DISPLAY_NAMES, MeetingVendor


async def my_link(ix: Interaction, value: str) -> None:
    """The "Get my link" button: the clicker's own link, to them alone."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    card = await ix.deps.store.find_card(ix.team_id, vendor, vendor_id)
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(Mrkdwn("This {} meeting has ended.").format(DISPLAY_NAMES.get(vendor, vendor)))
        return
    is_creator = card is not None and card.creator_id == ix.user_id
    if vendor == "coviu":
        link = await coviu_link(ix, vendor_id, ix.user_id, "host" if is_creator else "guest")
        await ix.private(
            Mrkdwn(":key: Your own link to Coviu session {} (do not share it): {}").format(code(vendor_id), link)
        )
        return
    presenter = PRESENTER_LINK_LIFETIME if is_creator and ix.deps.vendors.mirotalk.presenter_links_on else None
    link = await mirotalk_link(ix, vendor_id, ix.user_id, duration_left(ix, card), presenter_for=presenter)
    kind = "presenter link" if presenter else "link"
    await ix.private(
        Mrkdwn(":key: Your {} to MiroTalk room {}, with your name on it: {}").format(kind, code(vendor_id), link)
    )


@dataclass(frozen=True)
class _Outcome:
    state: CardState
    message: Mrkdwn
    #: Worth telling also after a click on End, whose card change says the rest.
    surprising: bool = False


async def end_card(ix: Interaction, value: str) -> None:
    """The End button of a meeting card."""
    vendor, vendor_id = meeting_views.parse_button_value(value)
    meeting_vendor: MeetingVendor = "coviu" if vendor == "coviu" else "mirotalk"
    await end_meeting(ix, meeting_vendor, vendor_id, await ix.deps.store.find_card(ix.team_id, vendor, vendor_id), None)


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
