"""The usage tally: events (and their gross and net) by licensee, model, outcome, purpose,
dataset, usage month and currency, kept as deltas by ingest and re-evaluation and folded by
compaction (``ledger.ingest.tally``), so that transparency, its page's charts and status no
longer read every event. Filled here from the events already stored.

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
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("currency", sa.Text()),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("gross", sa.Numeric(38, 9), nullable=False),
        sa.Column("net", sa.Numeric(38, 9), nullable=False),
    )
    # Events stored while the counts are taken would be missed: they wait (run the upgrade
    # with the workers stopped; `royalty db retally` repairs a tally that missed some).
    op.execute("LOCK TABLE usage_event IN SHARE MODE")
    op.execute("""
        INSERT INTO usage_tally (licensee_id, model, outcome, purpose, dataset, month, currency,
                                 events, gross, net)
        SELECT licensee_id, model, outcome, purpose, dataset,
               CAST(date_trunc('month', time AT TIME ZONE 'UTC') AS date), currency,
               count(*), coalesce(sum(gross), 0), coalesce(sum(net), 0)
        FROM usage_event WHERE outcome IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7
    """)


def downgrade() -> None:
    op.drop_table("usage_tally")
