"""A job's steps already done (a reminder's post in the card's thread, each guest's own message): a try that failed
part-way is tried again for what is left only, so no one is told twice.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("steps_done", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("steps_done")
