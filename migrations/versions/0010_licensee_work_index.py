"""Transparency reads a licensee's (work, split version) pairs in order: the index that
served its counts by outcome, purpose and dataset (now the usage tally's) gives way to a
narrower one keyed by licensee, work and split version, so the distinct pairs stream out of
an index-only scan without hashing or sorting millions of rows. It also covers the HTML
report's events by model and top works.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("usage_event_licensee_work", "usage_event",
                    ["licensee_id", "work_id", "split_version_id"],
                    postgresql_include=["model", "outcome"])
    op.drop_index("usage_event_transparency", table_name="usage_event")


def downgrade() -> None:
    op.create_index("usage_event_transparency", "usage_event", ["licensee_id", "model"],
                    postgresql_include=["outcome", "purpose", "dataset", "work_id",
                                        "split_version_id"])
    op.drop_index("usage_event_licensee_work", table_name="usage_event")
