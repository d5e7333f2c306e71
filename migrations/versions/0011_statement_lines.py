"""The all-time statement reads folded lines: ``statement_line`` (a creator's accrued
events by currency, usage month, work, licensee, model, purpose and unit, with the
creator's part) and ``statement_folded`` (the booking entries already in it). Existing
events are folded by the first ``royalty.statement.fold`` run (Celery beat) or
``royalty db fold``, not here; until then statements read them from ``usage_event``. The unique key covers the
lines (INCLUDE events, quantity, amount): a statement reads them from the index alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KEY = sa.Text(collation="C")


def upgrade() -> None:
    op.create_table(
        "statement_line",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("creator_id", sa.Integer, nullable=False),
        sa.Column("currency", KEY, nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("work", KEY, nullable=False),
        sa.Column("licensee", KEY, nullable=False),
        sa.Column("model", KEY),
        sa.Column("purpose", KEY, nullable=False),
        sa.Column("unit", KEY, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("amount", sa.Numeric(38, 9), nullable=False),
    )
    op.create_index("statement_line_key", "statement_line",
                    ["creator_id", "currency", "month", "work", "licensee", "model", "purpose",
                     "unit"], unique=True, postgresql_nulls_not_distinct=True,
                    postgresql_include=["events", "quantity", "amount"])
    op.create_table(
        "statement_folded",
        sa.Column("entry_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )


def downgrade() -> None:
    op.drop_table("statement_folded")
    op.drop_index("statement_line_key", table_name="statement_line")
    op.drop_table("statement_line")
