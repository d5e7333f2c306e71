"""Payouts: creators' Connect account state, payout runs, payouts, webhook events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column("creator", sa.Column("payouts_enabled", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.add_column("creator", sa.Column("requirements_due", sa.ARRAY(sa.Text()), nullable=False,
                                       server_default=sa.text("'{}'::text[]")))
    op.add_column("creator", sa.Column("account_updated_at", TS))
    op.create_table(
        "payout_run",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("transfer_group", sa.Text(), nullable=False, unique=True),
        sa.Column("started_at", TS, nullable=False, server_default=NOW),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "payout",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("run_id", sa.BigInteger(), sa.ForeignKey("payout_run.id"), nullable=False),
        sa.Column("creator_id", sa.Integer(), sa.ForeignKey("creator.id"), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(38, 9), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False, unique=True),
        sa.Column("transfer_id", sa.Text(), unique=True),
        sa.Column("reversed_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("failure", sa.Text()),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("status IN ('submitted', 'paid', 'failed', 'reversed')",
                           name="payout_status"),
        sa.CheckConstraint("amount > 0", name="payout_amount"),
    )
    # At most one payout in flight per creator and currency: two runs cannot pay twice.
    op.create_index("payout_one_in_flight", "payout", ["creator_id", "currency"], unique=True,
                    postgresql_where=sa.text("status = 'submitted'"))
    op.create_index("payout_by_run", "payout", ["run_id"])
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
    )
    op.create_table(
        "sandbox_transfer",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("idempotency_key", sa.Text(), nullable=False, unique=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("transfer_group", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    for table in ("sandbox_transfer", "webhook_event", "payout", "payout_run"):
        op.drop_table(table)
    for column in ("account_updated_at", "requirements_due", "payouts_enabled"):
        op.drop_column("creator", column)
