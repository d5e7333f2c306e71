"""Each split version carries the union of its work's and its creators' opt-outs, kept
current by triggers, so that evaluating a use reads one array instead of joining every
creator of the split for every event.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FUNCTIONS = """
CREATE FUNCTION refresh_split_opt_out(versions integer[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE split_version v SET opt_out = ARRAY(
        SELECT DISTINCT token FROM (
            SELECT unnest(w.opt_out) AS token
            UNION ALL
            SELECT unnest(c.opt_out) FROM split_share s JOIN creator c ON c.id = s.creator_id
            WHERE s.split_version_id = v.id) AS tokens
        ORDER BY token)
    FROM work w WHERE w.id = v.work_id AND v.id = ANY(versions)
$$;

CREATE FUNCTION split_opt_out_after_shares() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_split_opt_out(ARRAY(SELECT DISTINCT split_version_id FROM changed_shares));
    RETURN NULL;
END $$;

CREATE FUNCTION split_opt_out_after_creators() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_split_opt_out(ARRAY(
        SELECT DISTINCT s.split_version_id FROM changed_creators c
        JOIN split_share s ON s.creator_id = c.id));
    RETURN NULL;
END $$;

CREATE FUNCTION split_opt_out_after_works() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_split_opt_out(ARRAY(
        SELECT v.id FROM changed_works w JOIN split_version v ON v.work_id = w.id));
    RETURN NULL;
END $$;

CREATE TRIGGER split_opt_out_on_share_insert AFTER INSERT ON split_share
    REFERENCING NEW TABLE AS changed_shares
    FOR EACH STATEMENT EXECUTE FUNCTION split_opt_out_after_shares();
CREATE TRIGGER split_opt_out_on_creator_update AFTER UPDATE ON creator
    REFERENCING NEW TABLE AS changed_creators
    FOR EACH STATEMENT EXECUTE FUNCTION split_opt_out_after_creators();
CREATE TRIGGER split_opt_out_on_work_update AFTER UPDATE ON work
    REFERENCING NEW TABLE AS changed_works
    FOR EACH STATEMENT EXECUTE FUNCTION split_opt_out_after_works();
"""


def upgrade() -> None:
    op.add_column("split_version", sa.Column("opt_out", sa.ARRAY(sa.Text()), nullable=False,
                                             server_default=sa.text("'{}'::text[]")))
    op.execute(FUNCTIONS)
    op.execute("SELECT refresh_split_opt_out(ARRAY(SELECT id FROM split_version))")


def downgrade() -> None:
    op.execute("DROP TRIGGER split_opt_out_on_work_update ON work")
    op.execute("DROP TRIGGER split_opt_out_on_creator_update ON creator")
    op.execute("DROP TRIGGER split_opt_out_on_share_insert ON split_share")
    for function in ("split_opt_out_after_works()", "split_opt_out_after_creators()",
                     "split_opt_out_after_shares()", "refresh_split_opt_out(integer[])"):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_column("split_version", "opt_out")
