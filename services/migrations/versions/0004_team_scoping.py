"""Workspaces are walls: every card, job, digest subscription, meeting guest, upload and handled request belongs
to a team, and the indexes and unique keys that lookups use start with it.

`team_id` is added to jobs, meeting guests and handled requests. Existing rows are given a team this way:
- a job takes its card's team;
- a meeting guest takes the team of the newest card of the same vendor session;
- the rest (handled request keys, and a job or guest whose card is gone) take the workspace's team: before this
  revision Cohost served the one workspace of its bot token, so that is the team most cards, digest
  subscriptions and uploads name. With none of those to go by, the team is left empty (`''`): such a row can
  match no request's team, so it is simply never found again (a handled key is pruned within a day anyway).

A digest subscription becomes unique per team, channel and family; a guest per team, vendor session and person;
a handled request key per team.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The team most rows name: the one workspace Cohost served before teams were told apart.
_WORKSPACE_TEAM = """
    SELECT team_id FROM (
        SELECT team_id FROM cards
        UNION ALL SELECT team_id FROM digest_subscriptions
        UNION ALL SELECT team_id FROM uploads
    ) AS named
    GROUP BY team_id ORDER BY COUNT(*) DESC, team_id LIMIT 1
"""
_JOBS_TEAM = """
    UPDATE jobs SET team_id = COALESCE((SELECT cards.team_id FROM cards WHERE cards.id = jobs.card_id), :home)
"""
_GUESTS_TEAM = """
    UPDATE meeting_guests SET team_id = COALESCE(
        (SELECT cards.team_id FROM cards
         WHERE cards.vendor = meeting_guests.vendor AND cards.vendor_id = meeting_guests.session_id
         ORDER BY cards.id DESC LIMIT 1),
        :home)
"""


def _handled_requests(name: str, *, with_team: bool) -> sa.Table:
    team = [sa.Column("team_id", sa.String(32), nullable=False)] if with_team else []
    key = ["team_id", "key"] if with_team else ["key"]
    return op.create_table(
        name,
        *team,
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        # Named after its columns: PostgreSQL keeps a constraint's name when its table is renamed, so the two
        # shapes' names must differ for the table to be rebuilt either way.
        sa.PrimaryKeyConstraint(*key, name="pk_handled_requests_team_key" if with_team else "pk_handled_requests_key"),
    )


def _replace_handled_requests(*, with_team: bool, copy: sa.TextClause) -> None:
    """handled_requests rebuilt with a new primary key (SQLite cannot alter one in place), its rows copied over."""
    _handled_requests("handled_requests_next", with_team=with_team)
    op.execute(copy)
    op.drop_index("ix_handled_requests_handled_at", table_name="handled_requests")
    op.drop_table("handled_requests")
    op.rename_table("handled_requests_next", "handled_requests")
    op.create_index("ix_handled_requests_handled_at", "handled_requests", ["handled_at"])


def upgrade() -> None:
    home = op.get_bind().execute(sa.text(_WORKSPACE_TEAM)).scalar() or ""

    op.add_column("jobs", sa.Column("team_id", sa.String(32), nullable=True))
    op.execute(sa.text(_JOBS_TEAM).bindparams(home=home))
    with op.batch_alter_table("jobs") as jobs:
        jobs.alter_column("team_id", existing_type=sa.String(32), nullable=False)

    op.add_column("meeting_guests", sa.Column("team_id", sa.String(32), nullable=True))
    op.execute(sa.text(_GUESTS_TEAM).bindparams(home=home))
    with op.batch_alter_table("meeting_guests") as guests:
        guests.alter_column("team_id", existing_type=sa.String(32), nullable=False)
        guests.drop_constraint("uq_meeting_guests_person", type_="unique")
        guests.create_unique_constraint("uq_meeting_guests_team_person", ["team_id", "vendor", "session_id", "user_id"])

    with op.batch_alter_table("digest_subscriptions") as digests:
        digests.drop_constraint("uq_digest_channel_family", type_="unique")
        digests.create_unique_constraint("uq_digest_team_channel_family", ["team_id", "channel_id", "family"])

    _replace_handled_requests(
        with_team=True,
        copy=sa.text(
            'INSERT INTO handled_requests_next (team_id, "key", handled_at) '
            'SELECT :home, "key", handled_at FROM handled_requests'
        ).bindparams(home=home),
    )

    op.drop_index("ix_cards_vendor_id", table_name="cards")
    op.create_index("ix_cards_team_vendor_id", "cards", ["team_id", "vendor", "vendor_id"])
    op.drop_index("ix_uploads_created_at", table_name="uploads")
    op.create_index("ix_uploads_team_created_at", "uploads", ["team_id", "created_at"])


def downgrade() -> None:
    """Back to one workspace's keys: where two teams shared a channel's digest, a guest or a request key, the
    newest row is kept."""
    op.drop_index("ix_uploads_team_created_at", table_name="uploads")
    op.create_index("ix_uploads_created_at", "uploads", ["created_at"])
    op.drop_index("ix_cards_team_vendor_id", table_name="cards")
    op.create_index("ix_cards_vendor_id", "cards", ["vendor_id"])

    _replace_handled_requests(
        with_team=False,
        copy=sa.text(
            'INSERT INTO handled_requests_next ("key", handled_at) '
            'SELECT "key", MAX(handled_at) FROM handled_requests GROUP BY "key"'
        ),
    )

    op.execute(
        "DELETE FROM digest_subscriptions WHERE id NOT IN "
        "(SELECT MAX(id) FROM digest_subscriptions GROUP BY channel_id, family)"
    )
    with op.batch_alter_table("digest_subscriptions") as digests:
        digests.drop_constraint("uq_digest_team_channel_family", type_="unique")
        digests.create_unique_constraint("uq_digest_channel_family", ["channel_id", "family"])

    op.execute(
        "DELETE FROM meeting_guests WHERE id NOT IN "
        "(SELECT MAX(id) FROM meeting_guests GROUP BY vendor, session_id, user_id)"
    )
    with op.batch_alter_table("meeting_guests") as guests:
        guests.drop_constraint("uq_meeting_guests_team_person", type_="unique")
        guests.create_unique_constraint("uq_meeting_guests_person", ["vendor", "session_id", "user_id"])
        guests.drop_column("team_id")

    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("team_id")
