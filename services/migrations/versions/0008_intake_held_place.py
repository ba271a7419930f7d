"""A command's card may have its place held in the channel before the vendor is asked (a form's picked channel):
the held message's ts is recorded, so a process that finishes the command after a crash puts the card there, or
takes the message away, instead of leaving "is starting…" in the channel for good.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("intakes", sa.Column("held_ts", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intakes") as intakes:
        intakes.drop_column("held_ts")
