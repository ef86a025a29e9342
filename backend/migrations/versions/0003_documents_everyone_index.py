"""documents: a partial index of the documents visible to everyone

The visible-document count reads the grant indexes and this (small) index instead of scanning
every document (documents.visible_count).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_documents_everyone",
            ["id"],
            unique=False,
            postgresql_where=sa.text("everyone"),
            sqlite_where=sa.text("everyone"),
        )


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_everyone")
