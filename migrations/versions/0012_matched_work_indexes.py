"""The indexes by work hold matched events only: an unmatched event (no work) is never
looked up by work, so ``usage_event_work`` and ``usage_event_licensee_work`` leave it out
(``WHERE work_id IS NOT NULL``). Every reader already asks for ``work_id IS NOT NULL`` or a
given work; re-evaluation after a licensee's change reads only its matched events (an
unmatched event stays unmatched whatever the licenses say). Ingest writes two index
entries fewer per unmatched event.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MATCHED = sa.text("work_id IS NOT NULL")


def _indexes(where: sa.TextClause | None) -> None:
    op.drop_index("usage_event_work", table_name="usage_event")
    op.create_index("usage_event_work", "usage_event", ["work_id"], postgresql_where=where)
    op.drop_index("usage_event_licensee_work", table_name="usage_event")
    op.create_index("usage_event_licensee_work", "usage_event",
                    ["licensee_id", "work_id", "split_version_id"],
                    postgresql_include=["model", "outcome"], postgresql_where=where)


def upgrade() -> None:
    _indexes(MATCHED)


def downgrade() -> None:
    _indexes(None)
