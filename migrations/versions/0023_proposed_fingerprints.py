"""Review proposes each fingerprint in suspense once, not on every run (contract §8).

``proposed_fingerprint`` remembers each distinct fingerprint in suspense that review has
looked up, with the review threshold it was looked up with and its band keys. The next
proposal looks up only fingerprints it does not hold: new in suspense, looked up with
another threshold, or forgotten because something could now be proposed for them. A
trigger on ``work_identifier`` forgets the fingerprints that share a band with one just
registered (past 1,000 registered in one statement, all of them: one look-up each would
cost the import more than proposing again). Rejecting a candidate forgets its fingerprint
(``ledger.matching.review``), so the next nearest work is proposed.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


STALE_FUNCTION = """
CREATE OR REPLACE FUNCTION proposed_fingerprints_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- waits for a proposal in progress, which cannot have seen these identifiers
    LOCK TABLE proposed_fingerprint IN ROW EXCLUSIVE MODE;
    IF NOT EXISTS (SELECT FROM proposed_fingerprint) THEN
        RETURN NULL;
    END IF;
    IF (SELECT count(*) FROM added WHERE bands IS NOT NULL) > 1000 THEN
        DELETE FROM proposed_fingerprint;
    ELSE
        DELETE FROM proposed_fingerprint p USING added a
        WHERE a.bands IS NOT NULL AND p.kind = a.kind AND p.bands && a.bands;
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "proposed_fingerprint",
        sa.Column("kind", sa.Text(collation="C"), nullable=False),
        sa.Column("value", sa.Text(collation="C"), nullable=False),
        sa.Column("reach", sa.Integer(), nullable=False),
        sa.Column("bands", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    op.create_index("proposed_fingerprint_bands", "proposed_fingerprint", ["bands"],
                    postgresql_using="gin", postgresql_with={"fastupdate": "off"})
    op.execute(STALE_FUNCTION + """
CREATE TRIGGER work_identifier_proposals_stale AFTER INSERT ON work_identifier
REFERENCING NEW TABLE AS added FOR EACH STATEMENT
EXECUTE FUNCTION proposed_fingerprints_stale();
""")


def downgrade() -> None:
    op.execute("DROP TRIGGER work_identifier_proposals_stale ON work_identifier")
    op.execute("DROP FUNCTION proposed_fingerprints_stale()")
    op.drop_index("proposed_fingerprint_bands", table_name="proposed_fingerprint")
    op.drop_table("proposed_fingerprint")
