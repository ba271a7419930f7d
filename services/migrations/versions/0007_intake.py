"""Durable intake: every command recorded before it is acknowledged, with the marker that recognises its session
at the vendor, the vendor's id once known, its lease while a process handles it, and its outcome.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intakes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("marker", sa.String(12), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recoveries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("vendor", sa.String(16), nullable=True),
        sa.Column("vendor_id", sa.String(200), nullable=True),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("card_ts", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key", name="uq_intakes_key"),
    )
    op.create_index("ix_intakes_received_at", "intakes", ["received_at"])
    op.create_index("ix_intakes_lease_until", "intakes", ["lease_until"])


def downgrade() -> None:
    op.drop_table("intakes")
