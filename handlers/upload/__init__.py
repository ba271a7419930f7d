"""`/upload` and the "Mirror to MirrorAce" shortcut: files mirrored to MirrorAce. The command's subcommands
(`commands`), the shortcut (`shortcuts`) and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.core import listeners
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from handlers.upload.commands import UPLOAD as UPLOAD  # re-exported: from here, with every subcommand
from handlers.upload.shortcuts import MIRROR_FILE, mirror_message

FAMILY = "upload"

add_digest_subcommands(UPLOAD, FAMILY)

LISTENERS = listeners.FamilyListeners(FAMILY, UPLOAD, message_shortcuts={MIRROR_FILE: mirror_message})


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.register(app, deps, LISTENERS)
