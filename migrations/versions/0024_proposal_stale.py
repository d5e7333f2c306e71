"""Forgetting looked-up fingerprints without making registrations wait (contract §8).

Migration 0023's trigger forgot the fingerprints near a new registration at once, and so
had to wait for a proposal in progress: an import (and the ingest batches behind its
catalog lock) waited as long as review's first look-up of a large suspense. Now a
registration, and a rejection, only note what is stale in ``proposal_stale``; the next
proposal applies the notes it sees (forgets those fingerprints) before it looks anything
up, and deletes them. A note committed after a proposal began is left for the next one.

A note names a fingerprint (``kind``, ``value``: a rejected candidate's), or the band keys
of a registered one (``kind``, ``bands``), or nothing: forget everything (a statement that
registered more than 1,000 fingerprints).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

NOTE_FUNCTION = """
CREATE OR REPLACE FUNCTION proposed_fingerprints_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM added WHERE bands IS NOT NULL) > 1000 THEN
        INSERT INTO proposal_stale (kind, value, bands) VALUES (NULL, NULL, NULL);
    ELSE
        INSERT INTO proposal_stale (kind, bands)
        SELECT a.kind, a.bands FROM added a WHERE a.bands IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "proposal_stale",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.Text(collation="C")),
        sa.Column("value", sa.Text(collation="C")),
        sa.Column("bands", postgresql.ARRAY(sa.Integer())),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.execute(NOTE_FUNCTION)


def downgrade() -> None:
    spec = importlib.util.spec_from_file_location(
        "_0023", Path(__file__).with_name("0023_proposed_fingerprints.py"))
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(previous.STALE_FUNCTION)
    op.drop_table("proposal_stale")
