"""Alembic environment: migrates the job store at the URL the caller put in the config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from approvals.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def run() -> None:
    """Run migrations on the caller's connection, or on one made from the configured URL."""
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {},
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
