"""`/cobrowse`: co-browsing sessions on MirrorTab and SameSurf: the command's subcommands (`commands`, with the
admins' `reseller`), what its cards and its form do (`actions`; the form also opens from the global shortcut
"Start a co-browsing session" and the App Home's button), and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.cobrowse import actions, reseller  # noqa: F401  (the admins' subcommands join the table)
from handlers.cobrowse.commands import COBROWSE as COBROWSE  # re-exported: from here, with every subcommand
from handlers.cobrowse.commands import FAMILY
from handlers.cobrowse.views import NEW_SESSION_SHORTCUT, NEW_SESSION_VIEW, OPEN_NEW_SESSION, new_session_view
from handlers.core import listeners
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from services.registry import CardButton

add_digest_subcommands(COBROWSE, FAMILY)

LISTENERS = listeners.FamilyListeners(
    FAMILY,
    COBROWSE,
    clicks={CardButton.INVITE_LINK: actions.invite_link_for_clicker},
    form=listeners.NewForm(
        NEW_SESSION_VIEW, new_session_view, actions.read_form, NEW_SESSION_SHORTCUT, OPEN_NEW_SESSION
    ),
)


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.register(app, deps, LISTENERS)
