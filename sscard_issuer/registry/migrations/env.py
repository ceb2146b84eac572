"""Alembic environment: runs on the connection the registry hands over (no ini file needed)."""

from alembic import context

import sscard_issuer.registry  # noqa: F401 - every table module registers on Base
from sscard_issuer.registry.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through sscard_issuer.registry.Registry")
# batch mode: SQLite's ALTER TABLE cannot change a column, so Alembic copies the table there; on
# PostgreSQL the same batch operations run as plain ALTER TABLE statements.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
