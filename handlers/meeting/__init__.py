"""`/meeting`: video meetings on MiroTalk SFU and Coviu. The command's subcommands (`commands`), personal links
(`links`), what its cards' buttons do (`actions`), the `/meeting new` form (`form`, also opened by the global
shortcut "Start a meeting" and the App Home's button), and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.core import listeners
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from handlers.meeting import actions, form
from handlers.meeting.commands import MEETING
from handlers.meeting.views import FAMILY, NEW_MEETING_SHORTCUT, NEW_MEETING_VIEW, OPEN_NEW_MEETING, new_meeting_view
from services.registry import CardButton

add_digest_subcommands(MEETING, FAMILY)

LISTENERS = listeners.FamilyListeners(
    FAMILY,
    MEETING,
    clicks={CardButton.MY_LINK: actions.my_link},
    form=listeners.NewForm(NEW_MEETING_VIEW, new_meeting_view, form.read_form, NEW_MEETING_SHORTCUT, OPEN_NEW_MEETING),
)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.register(app, deps, LISTENERS)
