"""Files mirrored to MirrorAce through the bot (the upload digest lists them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.store.database import Database
from services.store.models import NewUpload, Upload


class Uploads(Database):
    async def add_upload(self, upload: NewUpload) -> Upload:
        row = Upload(**upload.__dict__)
        async with self._sessions.begin() as session:
            session.add(row)
        return row

    async def uploads_since(self, team_id: str, since: datetime) -> list[Upload]:
        async with self._sessions() as session:
            query = select(Upload).where(Upload.team_id == team_id, Upload.created_at >= since)
            return list((await session.execute(query.order_by(Upload.id))).scalars())
