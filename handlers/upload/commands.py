"""`/upload URL` (MirrorAce fetches the file itself) and `/upload info` (the status of mirrored files)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers.core.bounds import MAX_NAME, ParseError
from handlers.core.interaction import Interaction
from handlers.core.parsing import Family, Option, arg, opt
from handlers.upload import views as upload_views
from handlers.upload.views import UploadCard
from services.mirrorace import UploadedFile
from services.store import NewUpload

log = logging.getLogger("cohost.upload")


UPLOAD = Family("/upload", "file mirrors on MirrorAce")


@dataclass(frozen=True)
class Remote:
    #: A public http(s) URL of bounded length: the grammar's URL checks it.
    url: str = arg("URL")
    password: str | None = opt(Option("password", metavar="P"))
    mirrors: list[str] | None = opt(Option("mirrors", "list", metavar="1,2"))


@UPLOAD.sub("", Remote)
async def remote(ix: Interaction, a: Remote) -> None:
    """MirrorAce fetches the file at URL (http or https) and its card is posted here. `--password` protects the download
    (it is never shown); `--mirrors` picks mirror ids."""
    url, password = a.url, a.password
    uploaded = await ix.deps.vendors.mirrorace.remote_upload(url, password=password, mirrors=a.mirrors)
    # Where MirrorAce names no file, the URL names it (shortened: a name is at most MAX_NAME characters).
    name = uploaded.name or (url if len(url) <= MAX_NAME else url[: MAX_NAME - 1] + "…")
    await record(ix, "url", uploaded, name, uploaded.size)
    card = upload_card(ix, uploaded, name, uploaded.size, protected=bool(password), origin=url)
    await ix.post_card(upload_views.upload_card_text(card), upload_views.upload_card_blocks(card))


@dataclass(frozen=True)
class Info:
    slugs: list[str] = arg("SLUG", variadic=True)


@UPLOAD.sub("info", Info)
async def info(ix: Interaction, a: Info) -> None:
    """The status of MirrorAce files, for you alone (slugs separated by commas or spaces)."""
    slugs = [slug for token in a.slugs for slug in token.split(",") if slug.strip()]
    if not slugs:
        raise ParseError("`info` needs at least one SLUG.", UPLOAD.find("info").usage())
    infos = await ix.deps.vendors.mirrorace.file_info(slugs)
    await ix.private(upload_views.info_text(infos), upload_views.info_blocks(infos))


def upload_card(
    ix: Interaction,
    uploaded: UploadedFile,
    name: str,
    size: int | None,
    *,
    protected: bool = False,
    origin: str | None = None,
) -> UploadCard:
    return UploadCard(
        name=uploaded.name or name,
        size=uploaded.size if uploaded.size is not None else size,
        slug=uploaded.slug,
        url=uploaded.url,
        uploader_id=ix.user_id,
        password_protected=protected,
        origin=origin,
    )


async def record(ix: Interaction, source: str, uploaded: UploadedFile, name: str, size: int | None) -> None:
    await ix.deps.store.add_upload(
        NewUpload(
            team_id=ix.team_id,
            channel_id=ix.channel_id,
            user_id=ix.user_id,
            source=source,
            name=uploaded.name or name,
            size=uploaded.size if uploaded.size is not None else size,
            slug=uploaded.slug,
            url=uploaded.url,
            created_at=ix.deps.clock.now(),
        )
    )
