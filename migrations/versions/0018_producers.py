"""Producers (contract §11): who may report usage for a licensee.

- ``licensee.producers``: the broker user names allowed to publish its events (empty: any
  producer, unless ``ROYALTY_REQUIRE_PRODUCER`` is set).
- ``dead_letter.user_id``: the AMQP ``user_id`` the message came with, kept so that a
  refused event says who sent it and a replay keeps it.
Both are additions with defaults PostgreSQL stores in the catalog: nothing is rewritten.

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("licensee", sa.Column("producers", postgresql.ARRAY(sa.Text()),
                                        nullable=False, server_default=sa.text("'{}'::text[]")))
    op.add_column("dead_letter", sa.Column("user_id", sa.Text()))


def downgrade() -> None:
    op.drop_column("dead_letter", "user_id")
    op.drop_column("licensee", "producers")
