"""Scheduled work gives up cleanly: a failed job's next try and what went wrong (its tries are `attempts`, counted
since 0003), and how many times in a row a digest failed to go out.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        jobs.add_column(sa.Column("last_error", sa.String(200), nullable=True))
    with op.batch_alter_table("digest_subscriptions") as digests:
        digests.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as digests:
        digests.drop_column("failures")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("last_error")
        jobs.drop_column("retry_at")
