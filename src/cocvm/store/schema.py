"""Tables of the catalog store (SQLAlchemy Core).

The `images` table keeps one row per image: the columns that describeImages filters and orders on,
the record as it was imported (for export), and the image's JSON as each API profile renders it.
Rendering once at import time means a request concatenates stored bytes instead of building objects
per row.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    literal_column,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

images = Table(
    "images",
    metadata,
    Column("image_id", String(64), primary_key=True),
    Column("region_id", String(64), nullable=False),
    Column("image_source", String(16), nullable=False),
    Column("owner_pin", String(128), nullable=False),
    Column("name", String(255), nullable=False),
    # Lower-cased copies, folded in Python so that SQLite and PostgreSQL match alike.
    Column("name_folded", String(255), nullable=False),
    Column("distribution_folded", String(64), nullable=False),
    Column("architecture", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("offline", Boolean, nullable=False),
    Column("root_device_type", String(16), nullable=False),
    Column("launch_permission", String(16), nullable=False),
    Column("boot_mode", String(8), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("instance_id", String(64), nullable=False),
    # Seconds since the Unix epoch; describeImages orders by it, newest first.
    Column("create_time", BigInteger, nullable=False),
    Column("record", Text, nullable=False),
    Column("coc_vm_json", LargeBinary, nullable=False),
    Column("vm_json", LargeBinary, nullable=False),
)

# Indexes hold only images that can be listed (deleted ones never are). The trailing columns make
# them covering for counts with the common filters: SQLite reads the index alone, not the table.
_LISTABLE = images.c.status != literal_column("'deleted'")

# Listing one source of a region in describeImages order (public, thirdparty, community).
Index(
    "ix_images_listing",
    images.c.region_id,
    images.c.image_source,
    images.c.offline,
    images.c.create_time.desc(),
    images.c.image_id,
    images.c.distribution_folded,
    images.c.architecture,
    images.c.status,
    sqlite_where=_LISTABLE,
    postgresql_where=_LISTABLE,
)
# Listing one owner's images in describeImages order (private), without touching other owners' rows.
Index(
    "ix_images_owner",
    images.c.region_id,
    images.c.owner_pin,
    images.c.image_source,
    images.c.create_time.desc(),
    images.c.image_id,
    images.c.distribution_folded,
    images.c.architecture,
    images.c.status,
    sqlite_where=_LISTABLE,
    postgresql_where=_LISTABLE,
)

image_shares = Table(
    "image_shares",
    metadata,
    Column(
        "image_id",
        String(64),
        ForeignKey("images.image_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("pin", String(128), primary_key=True),
)

# Finding the images shared with one pin.
Index("ix_image_shares_pin", image_shares.c.pin, image_shares.c.image_id)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key", String(64), primary_key=True),
    Column("pin", String(128), nullable=False, index=True),
    # Fernet token of the secret key, encrypted with the server key.
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("enabled", Boolean, nullable=False),
    # Seconds since the Unix epoch.
    Column("created_at", BigInteger, nullable=False),
)
