"""Dead letters keep the content encoding of a body they hold as it came: a compressed
message (``content-encoding: zstd`` or ``gzip``) that could not be decompressed, or that
decompresses beyond the size limit, is kept compressed, and a replay must read it the same
way. Plain bodies and single events leave it NULL. Adding a nullable column rewrites
nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letter", sa.Column("content_encoding", sa.Text()))


def downgrade() -> None:
    op.drop_column("dead_letter", "content_encoding")
