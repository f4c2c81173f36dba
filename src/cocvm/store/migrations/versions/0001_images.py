"""Create the images and image_shares tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("region_id", sa.String(length=64), nullable=False),
        sa.Column("image_source", sa.String(length=16), nullable=False),
        sa.Column("owner_pin", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_folded", sa.String(length=255), nullable=False),
        sa.Column("distribution_folded", sa.String(length=64), nullable=False),
        sa.Column("architecture", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("root_device_type", sa.String(length=16), nullable=False),
        sa.Column("launch_permission", sa.String(length=16), nullable=False),
        sa.Column("boot_mode", sa.String(length=8), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("coc_vm_json", sa.LargeBinary(), nullable=False),
        sa.Column("vm_json", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_images")),
    )
    listable = sa.text("status != 'deleted'")
    op.create_index(
        "ix_images_listing",
        "images",
        [
            "region_id",
            "image_source",
            "offline",
            sa.literal_column("create_time DESC"),
            "image_id",
            "distribution_folded",
            "architecture",
            "status",
        ],
        sqlite_where=listable,
        postgresql_where=listable,
    )
    op.create_index(
        "ix_images_owner",
        "images",
        [
            "region_id",
            "owner_pin",
            "image_source",
            sa.literal_column("create_time DESC"),
            "image_id",
            "distribution_folded",
            "architecture",
            "status",
        ],
        sqlite_where=listable,
        postgresql_where=listable,
    )

    op.create_table(
        "image_shares",
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("pin", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.image_id"],
            name=op.f("fk_image_shares_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", "pin", name=op.f("pk_image_shares")),
    )
    op.create_index("ix_image_shares_pin", "image_shares", ["pin", "image_id"])


def downgrade() -> None:
    op.drop_index("ix_image_shares_pin", table_name="image_shares")
    op.drop_table("image_shares")
    op.drop_index("ix_images_owner", table_name="images")
    op.drop_index("ix_images_listing", table_name="images")
    op.drop_table("images")
