"""The usage tally: event counts by licensee, model, outcome, purpose and dataset, kept as
deltas by ingest and re-evaluation and folded by compaction (``ledger.ingest.tally``), so
that transparency and status no longer count every event. Filled here from the events
already stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_tally",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("licensee_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text()),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("dataset", sa.Text()),
        sa.Column("events", sa.BigInteger(), nullable=False),
    )
    # Events stored while the counts are taken would be missed: they wait (run the upgrade
    # with the workers stopped; `royalty db retally` repairs a tally that missed some).
    op.execute("LOCK TABLE usage_event IN SHARE MODE")
    op.execute("""
        INSERT INTO usage_tally (licensee_id, model, outcome, purpose, dataset, events)
        SELECT licensee_id, model, outcome, purpose, dataset, count(*)
        FROM usage_event WHERE outcome IS NOT NULL
        GROUP BY licensee_id, model, outcome, purpose, dataset
    """)


def downgrade() -> None:
    op.drop_table("usage_tally")
