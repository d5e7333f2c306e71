"""Corrections without rewriting history (issue 19).

- ``usage_event.outcome`` may be ``voided``; a voided event never takes another outcome
  (a trigger refuses it), so neither a re-evaluation nor a resend revives it.
- ``event_void``: one row per voided event (reason, when, the reversing entry);
  append-only.
- ``licensee.max_quantity``: an optional ceiling on one event's quantity.
- ``creator`` / ``work`` / ``license`` ``.retired_at``: from that moment a work matches no
  event and a license covers no use. ``work_identifier.retired_at`` is the work's, kept
  by triggers, so that matching reads it from the row it already looks up.
- ``dead_letter.note``: why a letter was discarded.
Every column is an addition without a default to write: nothing is rewritten.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OUTCOMES = "'accrued', 'unmatched', 'unlicensed', 'opted_out', 'unpriced'"

TRIGGERS = """
CREATE FUNCTION void_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.outcome = 'voided' AND NEW.outcome IS DISTINCT FROM 'voided' THEN
        RAISE EXCEPTION 'event % is voided; a voided event never takes another outcome', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER usage_event_void_is_final BEFORE UPDATE OF outcome ON usage_event
    FOR EACH ROW EXECUTE FUNCTION void_is_final();
CREATE TRIGGER event_void_append_only BEFORE UPDATE OR DELETE ON event_void
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();

CREATE FUNCTION work_identifier_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.retired_at := (SELECT w.retired_at FROM work w WHERE w.id = NEW.work_id);
    RETURN NEW;
END $$;
CREATE TRIGGER work_identifier_retired BEFORE INSERT ON work_identifier
    FOR EACH ROW EXECUTE FUNCTION work_identifier_retired();
CREATE FUNCTION work_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE work_identifier SET retired_at = NEW.retired_at WHERE work_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER work_retired AFTER UPDATE OF retired_at ON work
    FOR EACH ROW WHEN (OLD.retired_at IS DISTINCT FROM NEW.retired_at)
    EXECUTE FUNCTION work_retired();
"""

DROP_TRIGGERS = """
DROP TRIGGER work_retired ON work;
DROP FUNCTION work_retired();
DROP TRIGGER work_identifier_retired ON work_identifier;
DROP FUNCTION work_identifier_retired();
DROP TRIGGER usage_event_void_is_final ON usage_event;
DROP FUNCTION void_is_final();
"""


def upgrade() -> None:
    op.drop_constraint("usage_event_outcome", "usage_event")
    op.create_check_constraint("usage_event_outcome", "usage_event",
                               f"outcome IN ({OUTCOMES}, 'voided')")
    op.create_table(
        "event_void",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("entry_id", sa.BigInteger()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("voided_at", TS, nullable=False, server_default=sa.text("now()")),
    )
    op.add_column("licensee", sa.Column("max_quantity", sa.Numeric()))
    for table in ("creator", "work", "license", "work_identifier"):
        op.add_column(table, sa.Column("retired_at", TS))
    op.add_column("dead_letter", sa.Column("note", sa.Text()))
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.execute("DROP TRIGGER event_void_append_only ON event_void")
    op.execute(DROP_TRIGGERS)
    op.drop_column("dead_letter", "note")
    for table in ("work_identifier", "license", "work", "creator"):
        op.drop_column(table, "retired_at")
    op.drop_column("licensee", "max_quantity")
    op.drop_table("event_void")
    op.drop_constraint("usage_event_outcome", "usage_event")
    op.create_check_constraint("usage_event_outcome", "usage_event", f"outcome IN ({OUTCOMES})")
