"""The index by work holds matched events only: an unmatched event (no work) is never
looked up by work, so ``usage_event_work`` leaves it out (``WHERE work_id IS NOT NULL``).
Its readers ask for a given work; re-evaluation after a licensee's change reads only its
matched events and those never evaluated (an unmatched event stays unmatched whatever the
licenses say). Ingest writes one index entry fewer per unmatched event. (The other index
by work, ``usage_event_licensee_work``, gives way to a tally in 0013.)

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


def _index(where: sa.TextClause | None) -> None:
    op.drop_index("usage_event_work", table_name="usage_event")
    op.create_index("usage_event_work", "usage_event", ["work_id"], postgresql_where=where)


def upgrade() -> None:
    _index(MATCHED)


def downgrade() -> None:
    _index(None)
