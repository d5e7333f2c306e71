"""Indexes that keep the reports under 2 s on 10 million events (bench/reports.py).

All of them let a report read an index only (index-only scans) instead of the whole
usage_event heap; the partial ones cost an insert only for the few events they cover.

(``royalty status`` counts outcomes with a plain scan, 1.2 s on 10 million events: an
index on outcome would cost every insert for little.)
- usage_event_transparency (licensee_id, model) INCLUDE (outcome, purpose, dataset,
  work_id, split_version_id): the transparency report. Replaces
  usage_event_licensee_model (same key, so its users keep it): no extra index per event,
  a wider entry.
- usage_event_unmatched gains INCLUDE (licensee_id, time, quantity and the matching
  identifiers): the suspense report. Still partial: only unmatched events pay.
- usage_event_unlicensed (licensee_id, model, work_id, outcome, purpose) INCLUDE
  (quantity), partial on outcome IN ('unlicensed', 'opted_out', 'unpriced'): the
  unlicensed report; only those events pay.
- usage_event_entry (entry_id) WHERE entry_id IS NOT NULL: a statement for one period
  finds the events of the entries booked in it (one contiguous stretch of the heap)
  instead of all of the creator's events. An entry holds a whole batch, so deduplication
  keeps it tiny and inserts land on its right-most page.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MATCH_IDENTIFIERS = ["sha256", "c2pa", "isrc", "iswc", "isbn", "doi", "url"]
UNMATCHED = sa.text("outcome = 'unmatched'")
UNLICENSED = sa.text("outcome IN ('unlicensed', 'opted_out', 'unpriced')")


def upgrade() -> None:
    op.create_index("usage_event_transparency", "usage_event", ["licensee_id", "model"],
                    postgresql_include=["outcome", "purpose", "dataset", "work_id",
                                        "split_version_id"])
    op.drop_index("usage_event_licensee_model", "usage_event")
    op.drop_index("usage_event_unmatched", "usage_event")
    op.create_index("usage_event_unmatched", "usage_event", ["id"],
                    postgresql_include=["licensee_id", "time", "quantity", *MATCH_IDENTIFIERS],
                    postgresql_where=UNMATCHED)
    op.create_index("usage_event_unlicensed", "usage_event",
                    ["licensee_id", "model", "work_id", "outcome", "purpose"],
                    postgresql_include=["quantity"], postgresql_where=UNLICENSED)
    op.create_index("usage_event_entry", "usage_event", ["entry_id"],
                    postgresql_where=sa.text("entry_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("usage_event_entry", "usage_event")
    op.drop_index("usage_event_unlicensed", "usage_event")
    op.drop_index("usage_event_unmatched", "usage_event")
    op.create_index("usage_event_unmatched", "usage_event", ["id"], postgresql_where=UNMATCHED)
    op.create_index("usage_event_licensee_model", "usage_event", ["licensee_id", "model"])
    op.drop_index("usage_event_transparency", "usage_event")
