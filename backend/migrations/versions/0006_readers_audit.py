"""readers and audit: reminders, the watermark switch, ids never reused on SQLite

- `reminders`: when a user was last reminded to open a document (one per pair per 24 h).
- `documents.watermark`: each download is marked with the downloader's name.
- SQLite gives a deleted row's id to the next row unless the table is AUTOINCREMENT; the audit
  trail names users and documents by id, so both tables are rebuilt with it (PostgreSQL's
  sequences never reuse an id). env.py turns SQLite's foreign keys off while migrating: the
  rebuild drops and renames the tables, which must not cascade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

REBUILT = ("users", "documents")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("SQLite foreign keys must be off while users and documents are rebuilt (env.py)")
    for table in REBUILT:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass
    problems = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def upgrade():
    op.create_table(
        "reminders",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_reminders_document_id_documents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("document_id", "user_id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watermark", sa.Boolean(), server_default=sa.false(), nullable=False))
    if _sqlite():
        _rebuild(autoincrement=True)


def downgrade():
    if _sqlite():
        _rebuild(autoincrement=False)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("watermark")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_user_id"))
    op.drop_table("reminders")
