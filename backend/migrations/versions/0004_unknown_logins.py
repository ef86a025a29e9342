"""accounts: lockout of sign-in names that are no account

Failed sign-ins under an unknown name are counted and locked like an account's, so that a 429
after five failures no longer tells that an account exists (auth.login).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 08:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unknown_logins",
        sa.Column("name", sa.String(length=254), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_unknown_logins")),
    )
    with op.batch_alter_table("unknown_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unknown_logins_last_failed_at"), ["last_failed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("unknown_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unknown_logins_last_failed_at"))
    op.drop_table("unknown_logins")
