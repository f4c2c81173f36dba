"""Alembic environment: runs migrations on the engine that cocvm passes in its Config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from cocvm.store.schema import metadata

engine: Engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
