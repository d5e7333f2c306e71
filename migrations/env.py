"""Alembic environment: online migrations only, with a lock timeout so a migration
never queues forever behind a long transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from ledger.db import sqlalchemy_url
from ledger.migrate import include_object
from ledger.models import metadata


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(sqlalchemy_url(config.get_main_option("sqlalchemy.url")),
                           poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # noqa: ANN001
    connection.execute(text("SET lock_timeout = '10s'"))
    context.configure(connection=connection, target_metadata=metadata,
                      include_object=include_object, transaction_per_migration=True)
    with context.begin_transaction():
        # One migrator at a time, even when several processes start at once.
        connection.execute(text("SELECT pg_advisory_xact_lock(7262001)"))
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


run_migrations_online()
