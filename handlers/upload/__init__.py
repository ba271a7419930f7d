"""`/upload` and the "Mirror to MirrorAce" shortcut: files mirrored to MirrorAce. The command's subcommands
(`commands`), the shortcut (`shortcuts`) and their Block Kit (`views`)."""

from slack_bolt.async_app import AsyncApp

from handlers.core import listeners
from handlers.core.interaction import Deps
from handlers.digest.commands import add_digest_subcommands
from handlers.upload.commands import UPLOAD
from handlers.upload.shortcuts import MIRROR_FILE, mirror_message

add_digest_subcommands(UPLOAD, "upload")


def register(app: AsyncApp, deps: Deps) -> None:
    listeners.command(app, deps, UPLOAD)
    listeners.message_shortcut(app, deps, MIRROR_FILE, mirror_message)
