"""documents: documents, their grants to groups and users, per-user reads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:48:20.325789

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("storage_key", sa.String(length=64), nullable=True),
        sa.Column("in_s3", sa.Boolean(), nullable=False),
        sa.Column("in_local", sa.Boolean(), nullable=False),
        sa.Column("external_url", sa.String(length=2048), nullable=True),
        sa.Column("everyone", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('file', 'link')", name=op.f("ck_documents_kind")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_documents_category_id_categories"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_documents_uploaded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_documents_storage_key")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_category_id"), ["category_id"], unique=False)
        batch_op.create_index("ix_documents_created_at_id", ["created_at", "id"], unique=False)

    op.create_table(
        "document_group_grants",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_group_grants_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_document_group_grants_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("document_id", "group_id", name=op.f("pk_document_group_grants")),
    )
    with op.batch_alter_table("document_group_grants", schema=None) as batch_op:
        batch_op.create_index("ix_document_group_grants_group_document", ["group_id", "document_id"], unique=False)

    op.create_table(
        "document_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_reads_document_id_documents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_document_reads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "document_id", name=op.f("pk_document_reads")),
    )
    with op.batch_alter_table("document_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_reads_document_id"), ["document_id"], unique=False)

    op.create_table(
        "document_user_grants",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_user_grants_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_document_user_grants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("document_id", "user_id", name=op.f("pk_document_user_grants")),
    )
    with op.batch_alter_table("document_user_grants", schema=None) as batch_op:
        batch_op.create_index("ix_document_user_grants_user_document", ["user_id", "document_id"], unique=False)


def downgrade():
    with op.batch_alter_table("document_user_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_document_user_grants_user_document")

    op.drop_table("document_user_grants")
    with op.batch_alter_table("document_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_reads_document_id"))

    op.drop_table("document_reads")
    with op.batch_alter_table("document_group_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_document_group_grants_group_document")

    op.drop_table("document_group_grants")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_created_at_id")
        batch_op.drop_index(batch_op.f("ix_documents_category_id"))

    op.drop_table("documents")
