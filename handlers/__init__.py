"""Slack-facing code: command families, buttons, modals, Block Kit rendering, parsing.

`register(app, deps)` wires every listener; each module registers its own kind.
"""

from slack_bolt.async_app import AsyncApp

from handlers import buttons, commands, modals, shortcuts, workspaces
from handlers.context import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    workspaces.register(app, deps.home)  # a global middleware: runs before any listener
    if deps.workspaces is not None:
        workspaces.register_uninstall(app, deps.workspaces)
    commands.register(app, deps)
    buttons.register(app, deps)
    modals.register(app, deps)
    shortcuts.register(app, deps)
