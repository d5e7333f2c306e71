"""Dead letters once: a redelivered bad message (its commit landed, its acknowledgement was
lost) no longer leaves a second dead letter for the same bytes.

- ``dead_letter.digest``: the SHA-256 of ``raw``, kept by PostgreSQL (a stored generated
  column), so every writer gets it without computing it.
- At most one *open* dead letter per digest (a partial unique index). Once resolved, the
  same bytes may be dead-lettered again: that is a new problem, not a redelivery.
- Open dead letters already repeated in an existing database are closed, all but the
  first, with resolution ``duplicate``, and counted as duplicates in the batch log (one
  row), so that ``status`` still adds up: received = accepted + duplicates + dead letters.
- Run it with the workers stopped: older workers insert dead letters without
  ``ON CONFLICT`` and would fail on a repeat. (Adding the column rewrites ``dead_letter``.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letter", sa.Column("digest", sa.LargeBinary(),
                                           sa.Computed("sha256(raw)", persisted=True),
                                           nullable=False))
    op.execute("""
        WITH closed AS (
            UPDATE dead_letter d SET resolved_at = now(), resolution = 'duplicate'
            WHERE d.resolved_at IS NULL AND EXISTS (
                SELECT 1 FROM dead_letter f
                WHERE f.digest = d.digest AND f.resolved_at IS NULL AND f.id < d.id)
            RETURNING 1)
        INSERT INTO ingest_batch (messages, received, accepted, duplicates, dead_lettered,
                                  replayed)
        SELECT 0, 0, 0, count(*), 0, 0 FROM closed HAVING count(*) > 0
    """)
    op.create_index("dead_letter_open_digest", "dead_letter", ["digest"], unique=True,
                    postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("dead_letter_open_digest", table_name="dead_letter")
    op.drop_column("dead_letter", "digest")
