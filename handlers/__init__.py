"""Slack-facing code, one package per command family (`cobrowse`, `meeting`, `upload`, and the `digest`
subcommands each of them offers), `home` for the App Home tab, `core` for what they share, and `scheduled` for the
jobs no request starts.

`register(app, deps)` wires every listener: the workspace wall first, then each family its own.
"""

from slack_bolt.async_app import AsyncApp

from handlers import cobrowse, home, meeting, upload
from handlers.core import listeners, workspaces
from handlers.core.blocks import JOIN_ACTION
from handlers.core.interaction import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    workspaces.register(app, deps.home)  # a global middleware: runs before any listener
    # Bolt tries listeners in the order they were registered, each at a cost: the commands, most of what
    # arrives, come first.
    for family in (cobrowse, meeting, upload, home):
        family.register(app, deps)
    listeners.url_button(app, JOIN_ACTION)
    if deps.workspaces is not None:
        workspaces.register_uninstall(app, deps.workspaces)
