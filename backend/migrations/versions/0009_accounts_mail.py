"""accounts by e-mail: invitations, password resets, throttles, new-document notices

Users may be invited (no password yet), may have to change a password an admin chose, and
choose whether to get new-document notices. Single-use link tokens are kept hashed; throttle
counters and pending notices live in the database so every worker and host shares them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# SQLite: a table this migration rebuilds keeps AUTOINCREMENT (0006), so a deleted row's id is never reused.
NO_ID_REUSE = {"sqlite_autoincrement": True}


def upgrade():
    with op.batch_alter_table("users", schema=None, table_kwargs=NO_ID_REUSE) as batch_op:
        batch_op.alter_column("password_hash", existing_type=sa.String(length=100), nullable=True)
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notify_new_documents", sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("purpose IN ('invitation', 'reset')", name=op.f("ck_account_tokens_purpose")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_counters")),
    )
    with op.batch_alter_table("throttle_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_throttle_counters_window_start"), ["window_start"], unique=False)

    op.create_table(
        "pending_notices",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_pending_notices_document_id_documents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_pending_notices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "document_id", name=op.f("pk_pending_notices")),
    )
    with op.batch_alter_table("pending_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_notices_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_notices_queued_at"), ["queued_at"], unique=False)


def downgrade():
    op.drop_table("pending_notices")
    op.drop_table("throttle_counters")
    op.drop_table("account_tokens")
    # An invited user has no password: give them an unusable one so the column can be NOT NULL again.
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users", schema=None, table_kwargs=NO_ID_REUSE) as batch_op:
        batch_op.drop_column("notify_new_documents")
        batch_op.drop_column("must_change_password")
        batch_op.alter_column("password_hash", existing_type=sa.String(length=100), nullable=False)
