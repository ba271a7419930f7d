"""What a meeting card's Get my link button does: the clicker's own link, to them alone (End is every card's:
handlers/core/cards.py)."""

from __future__ import annotations

from handlers.core import cards
from handlers.core.blocks import Mrkdwn, code
from handlers.core.interaction import Interaction
from handlers.meeting.links import PRESENTER_LINK_LIFETIME, coviu_link, duration_left, mirotalk_link
from handlers.meeting.views import FAMILY
from services.registry import CardButton
from services.store import CardState


async def my_link(ix: Interaction, value: str) -> None:
    """The "Get my link" button: the clicker's own link, to them alone."""
    entry, vendor_id = cards.read_button(FAMILY, CardButton.MY_LINK, value)
    card = await ix.deps.store.find_card(ix.team_id, entry.key, vendor_id)
    if card is not None and card.state != CardState.ACTIVE.value:
        await ix.private(Mrkdwn("This {} meeting has ended.").format(entry.name))
        return
    is_creator = card is not None and card.creator_id == ix.user_id
    if entry.key == "coviu":  # each Coviu person enters as their own participant
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
