"""`/meeting`: video meetings on MiroTalk SFU and Coviu. The command's subcommands (`commands`), personal links
(`links`), what its cards' buttons do (`actions`), the `/meeting new` form (`form`, also opened by the global
shortcut "Start a meeting" and the App Home's button), and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.core import listeners
from handlers.core.cards import action_id
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from handlers.meeting import actions, form
from handlers.meeting.commands import MEETING
from handlers.meeting.views import FAMILY, NEW_MEETING_SHORTCUT, NEW_MEETING_VIEW, OPEN_NEW_MEETING
from services.registry import CardButton

add_digest_subcommands(MEETING, FAMILY)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.command(app, deps, MEETING)
    listeners.click(app, deps, action_id(FAMILY, CardButton.MY_LINK), actions.my_link)
    listeners.click(app, deps, action_id(FAMILY, CardButton.END), actions.end_card)
    listeners.form(app, deps, NEW_MEETING_VIEW, form.read_form)
    listeners.opens_form(app, deps, NEW_MEETING_SHORTCUT, OPEN_NEW_MEETING, form.open_form)
