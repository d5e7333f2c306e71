"""Deals and accounting periods (contract §9).

- ``license_period``: a license-period once closed, with its latest allocation's figures
  and what that run had seen (the marks a re-allocation compares with);
- ``period_allocation``: each event's amount per allocation run, append-only, with no
  unique index (a close writes a row per event) but a BRIN index per period and run;
- ``revenue_report``: revenue a licensee reports for a license-period, deduplicated by
  ``(source, id)``;
- ``usage_event_pooled``: a partial index of the uses awaiting allocation (pool and
  revenue-share licenses), so no per-unit event pays for it;
- ``account.kind`` gains ``license_unallocated``: a period's pool that no event took.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")
KINDS = ("'licensee_receivable', 'creator_payable', 'platform_revenue', 'payout_clearing', "
         "'payout_cash'")

APPEND_ONLY = """
CREATE TRIGGER period_allocation_append_only BEFORE UPDATE OR DELETE ON period_allocation
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER period_allocation_no_truncate BEFORE TRUNCATE ON period_allocation
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
"""


def upgrade() -> None:
    op.drop_constraint("account_kind", "account")
    op.create_check_constraint("account_kind", "account",
                               f"kind IN ({KINDS}, 'license_unallocated')")
    op.create_table(
        "license_period",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("license_id", sa.Integer(), sa.ForeignKey("license.id"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("revenue", sa.Numeric(38, 9)),
        sa.Column("pool", sa.Numeric(38, 9), nullable=False),
        sa.Column("allocated", sa.Numeric(38, 9), nullable=False),
        sa.Column("unallocated", sa.Numeric(38, 9), nullable=False),
        sa.Column("event_mark", sa.BigInteger(), nullable=False),
        sa.Column("reevaluation_mark", sa.BigInteger(), nullable=False),
        sa.Column("revenue_mark", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger()),
        sa.Column("closed_at", TS, nullable=False, server_default=NOW),
        sa.Column("adjusted_at", TS),
        sa.UniqueConstraint("license_id", "starts_at"),
        sa.CheckConstraint("state IN ('closed', 'adjusted')", name="license_period_state"),
        sa.CheckConstraint("pool >= 0 AND allocated + unallocated = pool",
                           name="license_period_pool"),
    )
    op.create_table(
        "period_allocation",
        sa.Column("license_period_id", sa.BigInteger(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("licensee_id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("split_version_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("gross", sa.Numeric(38, 9), nullable=False),
        sa.Column("fee", sa.Numeric(38, 9), nullable=False),
        sa.Column("net", sa.Numeric(38, 9), nullable=False),
        sa.Column("entry_id", sa.BigInteger()),
    )
    op.create_index("period_allocation_run", "period_allocation", ["license_period_id", "run"],
                    postgresql_using="brin")
    op.execute(APPEND_ONLY)
    op.create_table(
        "revenue_report",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("licensee_id", sa.Integer(), sa.ForeignKey("licensee.id"), nullable=False),
        sa.Column("license_id", sa.Integer(), sa.ForeignKey("license.id"), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("amount", sa.Numeric(38, 9), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("source", "event_id"),
        sa.CheckConstraint("amount >= 0", name="revenue_report_amount"),
    )
    op.create_index("revenue_report_period", "revenue_report", ["license_id", "starts_at"])
    op.create_index("usage_event_pooled", "usage_event", ["license_id", "time"],
                    postgresql_where=sa.text("outcome = 'accrued' AND gross IS NULL"))


def downgrade() -> None:
    op.drop_index("usage_event_pooled", "usage_event")
    op.drop_table("revenue_report")
    op.drop_table("period_allocation")
    op.drop_table("license_period")
    op.drop_constraint("account_kind", "account")
    op.create_check_constraint("account_kind", "account", f"kind IN ({KINDS})")
