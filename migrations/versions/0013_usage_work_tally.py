"""Transparency's distinct works and creators, and its page's top works, come from a
usage work tally (matched events and accrued events by licensee, model, work and split
version, kept as deltas by ingest and re-evaluation and compacted with the usage tally)
instead of an index over every matched event: ingest writes a few grouped rows per batch
instead of an index entry per event, and a report reads one row per work instead of one
per event. Filled here from the events already stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_work_tally",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("licensee_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text()),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("split_version_id", sa.Integer()),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("accrued", sa.BigInteger(), nullable=False),
    )
    # As for the usage tally: events stored meanwhile wait (`royalty db retally` repairs).
    op.execute("LOCK TABLE usage_event IN SHARE MODE")
    op.execute("""
        INSERT INTO usage_work_tally (licensee_id, model, work_id, split_version_id, events,
                                      accrued)
        SELECT licensee_id, model, work_id, split_version_id, count(*),
               count(*) FILTER (WHERE outcome = 'accrued')
        FROM usage_event WHERE work_id IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 3, 4
    """)
    op.create_index("usage_work_tally_licensee", "usage_work_tally",
                    ["licensee_id", "work_id", "split_version_id"],
                    postgresql_include=["model", "events", "accrued"])
    op.drop_index("usage_event_licensee_work", table_name="usage_event")


def downgrade() -> None:
    op.create_index("usage_event_licensee_work", "usage_event",
                    ["licensee_id", "work_id", "split_version_id"],
                    postgresql_include=["model", "outcome"])
    op.drop_table("usage_work_tally")
