"""`/meeting`: video meetings on MiroTalk SFU and Coviu. The command's subcommands (`commands`), personal links
(`links`), what its cards' buttons do (`actions`), and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.core import listeners
from handlers.core.cards import action_id
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from handlers.meeting import actions
from handlers.meeting.commands import MEETING
from handlers.meeting.views import FAMILY
from services.registry import CardButton

add_digest_subcommands(MEETING, FAMILY)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.command(app, deps, MEETING)
    listeners.click(app, deps, action_id(FAMILY, CardButton.MY_LINK), actions.my_link)
    listeners.click(app, deps, action_id(FAMILY, CardButton.END), actions.end_card)
