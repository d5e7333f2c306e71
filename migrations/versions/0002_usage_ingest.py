"""Usage ingest: the event inbox, dead letters and the batch log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")
IDENTIFIERS = ("sha256", "url", "isrc", "iswc", "isbn", "doi", "c2pa", "phash", "simhash")


def upgrade() -> None:
    op.create_table(
        "usage_event",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(), nullable=False),
        sa.Column("time", TS, nullable=False),
        sa.Column("licensee_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("activity", sa.Text()),
        sa.Column("model", sa.Text()),
        sa.Column("run", sa.Text()),
        sa.Column("dataset", sa.Text()),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        *(sa.Column(kind, sa.Text()) for kind in IDENTIFIERS),
        sa.Column("extensions", postgresql.JSONB()),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("source", "event_id", name="usage_event_identity"),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("field", sa.Text()),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("event_id", sa.Text()),
        sa.Column("content_type", sa.Text()),
        sa.Column("routing_key", sa.Text()),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("resolved_at", TS),
        sa.Column("resolution", sa.Text()),
    )
    op.create_index("dead_letter_open", "dead_letter", ["id"],
                    postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_table(
        "ingest_batch",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("committed_at", TS, nullable=False, server_default=NOW),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("dead_lettered", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    for table in ("ingest_batch", "dead_letter", "usage_event"):
        op.drop_table(table)
