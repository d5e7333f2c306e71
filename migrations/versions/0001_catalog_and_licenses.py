"""Catalog and licenses: creators, licensees, works, identifiers, splits, licenses.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TOKENS = sa.ARRAY(sa.Text())
EMPTY = sa.text("'{}'::text[]")
NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "creator",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text()),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("stripe_account", sa.Text()),
        sa.Column("payout_threshold", sa.Numeric()),
        sa.Column("opt_out", TOKENS, nullable=False, server_default=EMPTY),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="creator_currency_iso"),
    )
    op.create_table(
        "licensee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text()),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )
    op.create_table(
        "work",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text()),
        sa.Column("opt_out", TOKENS, nullable=False, server_default=EMPTY),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )
    op.create_table(
        "work_identifier",
        sa.Column("kind", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), primary_key=True),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("work.id"), nullable=False),
    )
    op.create_index("work_identifier_work_id", "work_identifier", ["work_id"])
    op.create_table(
        "split_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("work.id"), nullable=False),
        sa.Column("effective_from", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("work_id", "effective_from"),
    )
    op.create_table(
        "split_share",
        sa.Column("split_version_id", sa.Integer(), sa.ForeignKey("split_version.id"),
                  primary_key=True),
        sa.Column("creator_id", sa.Integer(), sa.ForeignKey("creator.id"), primary_key=True),
        sa.Column("share", sa.Numeric(), nullable=False),
        sa.CheckConstraint("share > 0 AND share <= 1", name="split_share_range"),
    )
    op.create_index("split_share_creator_id", "split_share", ["creator_id"])
    op.create_table(
        "license",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("licensee_id", sa.Integer(), sa.ForeignKey("licensee.id"), nullable=False),
        sa.Column("scope_kind", sa.Text(), nullable=False),
        sa.Column("purposes", TOKENS, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("rate_type", sa.Text(), nullable=False),
        sa.Column("rate_unit", sa.Text(), nullable=False),
        sa.Column("price", sa.Numeric(), nullable=False),
        sa.Column("platform_fee", sa.Numeric(), nullable=False),
        sa.Column("rate", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("scope_kind IN ('works', 'creators', 'catalog')",
                           name="license_scope_kind"),
        sa.CheckConstraint("valid_until IS NULL OR valid_until > valid_from",
                           name="license_validity"),
        sa.CheckConstraint("price >= 0", name="license_price"),
        sa.CheckConstraint("platform_fee >= 0 AND platform_fee <= 1", name="license_fee"),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="license_currency_iso"),
    )
    op.create_index("license_licensee_id", "license", ["licensee_id"])
    op.create_table(
        "license_scope_work",
        sa.Column("license_id", sa.Integer(), sa.ForeignKey("license.id"), primary_key=True),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("work.id"), primary_key=True),
    )
    op.create_index("license_scope_work_work_id", "license_scope_work", ["work_id"])
    op.create_table(
        "license_scope_creator",
        sa.Column("license_id", sa.Integer(), sa.ForeignKey("license.id"), primary_key=True),
        sa.Column("creator_id", sa.Integer(), sa.ForeignKey("creator.id"), primary_key=True),
    )
    op.create_index("license_scope_creator_creator_id", "license_scope_creator", ["creator_id"])

    # Shares of a split version sum to exactly 1: checked by the database at commit.
    op.execute("""
        CREATE FUNCTION split_shares_sum_to_one() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            version integer := COALESCE(NEW.split_version_id, OLD.split_version_id);
            total numeric;
        BEGIN
            SELECT sum(share) INTO total FROM split_share WHERE split_version_id = version;
            IF total IS NOT NULL AND total <> 1 THEN
                RAISE EXCEPTION 'shares of split version % sum to %, not 1', version, total
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER split_shares_sum_to_one
            AFTER INSERT OR UPDATE OR DELETE ON split_share
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            EXECUTE FUNCTION split_shares_sum_to_one();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER split_shares_sum_to_one ON split_share")
    op.execute("DROP FUNCTION split_shares_sum_to_one()")
    for table in ("license_scope_creator", "license_scope_work", "license", "split_share",
                  "split_version", "work_identifier", "work", "licensee", "creator"):
        op.drop_table(table)
