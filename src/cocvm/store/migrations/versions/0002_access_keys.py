"""Create the access_keys table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("access_key", sa.String(length=64), nullable=False),
        sa.Column("pin", sa.String(length=128), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("access_key", name=op.f("pk_access_keys")),
    )
    op.create_index("ix_access_keys_pin", "access_keys", ["pin"])


def downgrade() -> None:
    op.drop_index("ix_access_keys_pin", table_name="access_keys")
    op.drop_table("access_keys")
