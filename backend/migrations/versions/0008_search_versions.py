"""documents: full-text search, document date, download name, file versions

Existing documents get their date (the upload date) and the words of their title, description
and file name; `flask documents reindex` adds the text of their PDFs. The search structures are
not models (documents/search.py): an FTS5 table kept by triggers on SQLite, a GIN expression
index on PostgreSQL. They are created last: on SQLite a batch operation that recreates the
documents table drops its triggers (a later migration doing so must call search.create_structures
and search.rebuild again; `flask documents reindex` repairs it too).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 06:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

from sequoalpha.documents import search

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# SQLite: a table this migration rebuilds keeps AUTOINCREMENT (0006), so a deleted row's id is never reused.
NO_ID_REUSE = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table("documents", schema=None, table_kwargs=NO_ID_REUSE) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("version_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("version_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("download_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("text_content", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))

    bind = op.get_bind()
    as_date = "date(created_at)" if bind.dialect.name == "sqlite" else "CAST(created_at AS date)"
    op.execute(f"UPDATE documents SET document_date = {as_date}, version_by_id = uploaded_by_id")
    documents = sa.table(
        "documents",
        sa.column("id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("description", sa.Text),
        sa.column("filename", sa.String),
        sa.column("search_text", sa.Text),
    )
    rows = bind.execute(
        sa.select(documents.c.id, documents.c.title, documents.c.description, documents.c.filename)
    ).all()
    for row in rows:
        words = search.normalise(" ".join(filter(None, (row.title, row.description, row.filename))))
        bind.execute(documents.update().where(documents.c.id == row.id).values(search_text=words))

    with op.batch_alter_table("documents", schema=None, table_kwargs=NO_ID_REUSE) as batch_op:
        batch_op.alter_column("document_date", existing_type=sa.Date(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_version_by_id_users"), "users", ["version_by_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(batch_op.f("ix_documents_sha256"), ["sha256"], unique=False)
        batch_op.create_index("ix_documents_date_order", ["document_date", "created_at", "id"], unique=False)

    op.create_table(
        "document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("in_s3", sa.Boolean(), nullable=False),
        sa.Column("in_local", sa.Boolean(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["users.id"],
            name=op.f("fk_document_versions_uploaded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_document_versions_storage_key")),
    )
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.create_index("ix_document_versions_document_version", ["document_id", "version"], unique=True)

    search.rebuild(bind)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in search.SQLITE_DROP:
            op.execute(statement)
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {search.FTS_TABLE}_{trigger}")
    else:
        op.execute(f"DROP INDEX IF EXISTS {search.GIN_INDEX}")

    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_document_versions_document_version")
    op.drop_table("document_versions")

    with op.batch_alter_table("documents", schema=None, table_kwargs=NO_ID_REUSE) as batch_op:
        batch_op.drop_index("ix_documents_date_order")
        batch_op.drop_index(batch_op.f("ix_documents_sha256"))
        batch_op.drop_constraint(batch_op.f("fk_documents_version_by_id_users"), type_="foreignkey")
        for column in (
            "search_text",
            "text_content",
            "download_name",
            "document_date",
            "version_by_id",
            "version_at",
            "version",
        ):
            batch_op.drop_column(column)
