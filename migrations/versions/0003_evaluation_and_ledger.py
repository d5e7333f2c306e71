"""Evaluation of each event and the double-entry ledger.

- usage_event gains its evaluation: outcome, matched work, split version, license, amounts.
- account / journal_entry / posting: the ledger. The database refuses an entry that does
  not balance per currency, postings added to an earlier transaction's entry, and any
  UPDATE or DELETE of entries and postings.
- catalog_change: the outbox of catalog and license changes awaiting re-evaluation.
- event_reevaluation: the history of every re-evaluated event (old and new evaluation).
- SQL functions shared by booking and reports: covers(), round_half_even(), split_parts().

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NOW = sa.text("now()")
AMOUNT = sa.Numeric(38, 9)

FUNCTIONS = r"""
-- Whether usage tokens (a license's purposes, an opt-out list) cover a purpose (§4).
CREATE FUNCTION covers(tokens text[], purpose text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT purpose = ANY(tokens) OR 'all' = ANY(tokens)
        OR ('ai-all' = ANY(tokens) AND left(purpose, 3) = 'ai-')
$$;

-- Half-even rounding to `places` decimals, exactly (numeric round() rounds half away).
CREATE FUNCTION round_half_even(x numeric, places integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sign(x) * (trunc(abs(x), places) + CASE
        WHEN abs(x) - trunc(abs(x), places) > 0.5 * 10::numeric ^ (-places) THEN 10::numeric ^ (-places)
        WHEN abs(x) - trunc(abs(x), places) < 0.5 * 10::numeric ^ (-places) THEN 0
        WHEN mod(trunc(abs(x) * 10::numeric ^ places), 2) = 0 THEN 0
        ELSE 10::numeric ^ (-places) END)
$$;

-- A net amount split by a split version (§5): floor of each exact share at 9 dp, the
-- leftover 1e-9 units to the largest remainders, ties by creator key (code point order).
CREATE FUNCTION split_parts(net numeric, version integer)
RETURNS TABLE (creator_id integer, amount numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH exact AS (
        SELECT s.creator_id, c.key, net * s.share AS x, trunc(net * s.share, 9) AS part
        FROM split_share s JOIN creator c ON c.id = s.creator_id
        WHERE s.split_version_id = version
    ), ranked AS (
        SELECT creator_id, part,
               row_number() OVER (ORDER BY x - part DESC, key COLLATE "C") AS rank,
               (net - sum(part) OVER ()) * 1000000000 AS leftover
        FROM exact
    )
    SELECT creator_id, CAST(part + CASE WHEN rank <= leftover THEN 0.000000001 ELSE 0 END
                            AS numeric(38, 9))
    FROM ranked
$$;

-- The ledger's own account for (kind, owner, currency), created on first use.
CREATE FUNCTION ledger_account(p_kind text, p_owner integer, p_currency text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE found integer;
BEGIN
    SELECT id INTO found FROM account WHERE kind = p_kind AND owner_id = p_owner
        AND currency = p_currency;
    IF found IS NULL THEN
        INSERT INTO account (kind, owner_id, currency) VALUES (p_kind, p_owner, p_currency)
        ON CONFLICT (kind, owner_id, currency) DO NOTHING RETURNING id INTO found;
        IF found IS NULL THEN
            SELECT id INTO found FROM account WHERE kind = p_kind AND owner_id = p_owner
                AND currency = p_currency;
        END IF;
    END IF;
    RETURN found;
END $$;

CREATE FUNCTION journal_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE unbalanced record;
BEGIN
    SELECT a.currency, sum(p.amount) AS total INTO unbalanced
    FROM posting p JOIN account a ON a.id = p.account_id
    WHERE p.entry_id = NEW.id GROUP BY a.currency HAVING sum(p.amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: % % off', NEW.id,
            unbalanced.total, unbalanced.currency USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION posting_joins_open_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id
                   AND xmin = pg_current_xact_id()::xid) THEN
        RAISE EXCEPTION 'postings can only be added to an entry of the same transaction'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('royalty.maintenance', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused (book a reversing entry instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION event_content_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.source, NEW.event_id, NEW.content_hash, NEW.time, NEW.licensee_id, NEW.purpose,
        NEW.quantity, NEW.unit) IS DISTINCT FROM
       (OLD.source, OLD.event_id, OLD.content_hash, OLD.time, OLD.licensee_id, OLD.purpose,
        OLD.quantity, OLD.unit) THEN
        RAISE EXCEPTION 'a usage event''s content never changes (event %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
"""

TRIGGERS = """
CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balances();
CREATE TRIGGER posting_joins_open_entry BEFORE INSERT ON posting
    FOR EACH ROW EXECUTE FUNCTION posting_joins_open_entry();
CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON posting
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER journal_entry_no_truncate BEFORE TRUNCATE ON journal_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER posting_no_truncate BEFORE TRUNCATE ON posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER usage_event_content_immutable BEFORE UPDATE ON usage_event
    FOR EACH ROW EXECUTE FUNCTION event_content_is_immutable();
CREATE TRIGGER usage_event_no_delete BEFORE DELETE OR TRUNCATE ON usage_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER event_reevaluation_append_only BEFORE UPDATE OR DELETE ON event_reevaluation
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
"""


def upgrade() -> None:
    op.add_column("usage_event", sa.Column("outcome", sa.Text()))
    op.add_column("usage_event", sa.Column("work_id", sa.Integer()))
    op.add_column("usage_event", sa.Column("split_version_id", sa.Integer()))
    op.add_column("usage_event", sa.Column("license_id", sa.Integer()))
    op.add_column("usage_event", sa.Column("currency", sa.Text()))
    op.add_column("usage_event", sa.Column("gross", AMOUNT))
    op.add_column("usage_event", sa.Column("fee", AMOUNT))
    op.add_column("usage_event", sa.Column("net", AMOUNT))
    op.add_column("usage_event", sa.Column("entry_id", sa.BigInteger()))
    op.add_column("usage_event", sa.Column("reevaluated_at", TS))
    op.create_check_constraint(
        "usage_event_outcome", "usage_event",
        "outcome IN ('accrued', 'unmatched', 'unlicensed', 'opted_out', 'unpriced')")
    op.create_index("usage_event_work", "usage_event", ["work_id"])
    op.create_index("usage_event_licensee_model", "usage_event", ["licensee_id", "model"])
    op.create_index("usage_event_unmatched", "usage_event", ["id"],
                    postgresql_where=sa.text("outcome = 'unmatched'"))
    op.create_index("usage_event_pending", "usage_event", ["id"],
                    postgresql_where=sa.text("outcome IS NULL"))

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "owner_id", "currency"),
        sa.CheckConstraint("kind IN ('licensee_receivable', 'creator_payable', "
                           "'platform_revenue', 'payout_clearing', 'payout_cash')",
                           name="account_kind"),
    )
    op.create_table(
        "journal_entry",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("memo", sa.Text()),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
    )
    op.create_table(
        "posting",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("entry_id", sa.BigInteger(), sa.ForeignKey("journal_entry.id"), nullable=False),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
    )
    op.create_index("posting_account", "posting", ["account_id"])
    op.create_index("posting_entry", "posting", ["entry_id"])
    op.create_table(
        "catalog_change",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("work_ids", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("creator_ids", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("licensee_ids", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("processed_at", TS),
    )
    op.create_index("catalog_change_open", "catalog_change", ["id"],
                    postgresql_where=sa.text("processed_at IS NULL"))
    op.create_table(
        "event_reevaluation",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger()),
        sa.Column("at", TS, nullable=False, server_default=NOW),
        sa.Column("old_outcome", sa.Text()),
        sa.Column("new_outcome", sa.Text(), nullable=False),
        sa.Column("old_license_id", sa.Integer()),
        sa.Column("new_license_id", sa.Integer()),
        sa.Column("old_net", AMOUNT),
        sa.Column("new_net", AMOUNT),
    )
    op.create_index("event_reevaluation_event", "event_reevaluation", ["event_id"])
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)


def downgrade() -> None:
    for table in ("event_reevaluation", "catalog_change", "posting", "journal_entry", "account"):
        op.execute(f"DROP TABLE {table} CASCADE")
    op.execute("DROP TRIGGER usage_event_content_immutable ON usage_event")
    op.execute("DROP TRIGGER usage_event_no_delete ON usage_event")
    for function in ("covers(text[], text)", "round_half_even(numeric, integer)",
                     "split_parts(numeric, integer)", "ledger_account(text, integer, text)",
                     "journal_entry_balances()", "posting_joins_open_entry()",
                     "ledger_is_append_only()", "event_content_is_immutable()"):
        op.execute(f"DROP FUNCTION {function}")
    for index in ("usage_event_pending", "usage_event_unmatched", "usage_event_licensee_model",
                  "usage_event_work"):
        op.drop_index(index, "usage_event")
    op.drop_constraint("usage_event_outcome", "usage_event")
    for column in ("reevaluated_at", "entry_id", "net", "fee", "gross", "currency", "license_id",
                   "split_version_id", "work_id", "outcome"):
        op.drop_column("usage_event", column)
