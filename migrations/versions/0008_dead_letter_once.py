"""Dead letters once: a redelivered bad message (its commit landed, its acknowledgement was
lost) no longer leaves a second dead letter for the same bytes.

- ``dead_letter.digest``: the SHA-256 of ``raw``, kept by PostgreSQL (a stored generated
  column), so every writer gets it without computing it.
- At most one *open* dead letter per digest (a partial unique index). Once resolved, the
  same bytes may be dead-lettered again: that is a new problem, not a redelivery.
- Open dead letters already repeated in an existing database are closed, all but the
  first, with resolution ``duplicate``.

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
        UPDATE dead_letter d SET resolved_at = now(), resolution = 'duplicate'
        WHERE d.resolved_at IS NULL AND EXISTS (
            SELECT 1 FROM dead_letter f
            WHERE f.digest = d.digest AND f.resolved_at IS NULL AND f.id < d.id)
    """)
    op.create_index("dead_letter_open_digest", "dead_letter", ["digest"], unique=True,
                    postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("dead_letter_open_digest", table_name="dead_letter")
    op.drop_column("dead_letter", "digest")
