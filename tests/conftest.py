"""One database per test session, built by the migrations; each test starts from empty
tables. The server is ROYALTY_DATABASE_URL's when set, an embedded PostgreSQL otherwise."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import warnings
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings as hypothesis_settings
from psycopg import sql
from sqlalchemy.engine import make_url

from ledger import embedded, migrate
from ledger.bootstrap import Ledger
from ledger.config import Settings

# Timing is no property of the code: on a shared 2-core machine a draw or an example may take
# seconds, so Hypothesis judges examples, not their speed.
hypothesis_settings.register_profile(
    "royalty", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("royalty")

KEEP_TABLES = {"alembic_version", "kombu_queue", "kombu_message"}


@pytest.fixture(scope="session")
def royalty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("royalty-home")


@pytest.fixture(scope="session")
def server_url(royalty_home: Path) -> Iterator[str]:
    """A PostgreSQL server to create the session's database in."""
    configured = os.environ.get("ROYALTY_DATABASE_URL")
    if configured:
        yield configured
        return
    home = Path(os.environ.get("ROYALTY_TEST_HOME", royalty_home))
    url = embedded.ensure_running(home)
    yield url
    _close_broker_engines()  # while the server still answers their goodbyes
    try:
        embedded.stop(home)
    except subprocess.CalledProcessError as exc:  # cleanup only: say so, do not fail the run
        warnings.warn(f"could not stop the embedded PostgreSQL under {home}: {exc}",
                      stacklevel=1)


def _close_broker_engines() -> None:
    """The embedded broker (kombu's SQLAlchemy transport) caches an engine per database;
    finalise what it left and close its connections before the server stops."""
    from kombu.transport import sqlalchemy as kombu_sqla

    gc.collect()
    for engine, _ in kombu_sqla.Channel._engines.values():
        engine.dispose()


def migrated_database(server_url: str, prefix: str,
                      revision: str | None = "head") -> Iterator[str]:
    """A new database on the server, migrated to ``revision`` (None: left empty); dropped
    afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_url(server_url).set(drivername="postgresql")
    admin_url = admin.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin.set(database=name).render_as_string(hide_password=False)
    if revision is not None:
        migrate.upgrade(url, revision)
    yield url
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error as exc:  # cleanup only: say so, do not fail the run
        warnings.warn(f"could not drop the test database {name}: {exc}", stacklevel=1)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_test")


def truncate_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        tables = [t for t in tables if t not in KEEP_TABLES]
        if tables:
            conn.execute("SET royalty.maintenance = 'on'")
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))


SESSION_TAG = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def broker_url(database_url: str) -> str:
    """RabbitMQ when ROYALTY_BROKER_URL is set; else the embedded broker (kombu's SQL
    transport on the test database)."""
    from ledger.db import sqlalchemy_url

    return os.environ.get("ROYALTY_BROKER_URL") or "sqla+" + sqlalchemy_url(database_url)


# Session-unique exchange and queue names: test runs never share a queue.
TEST_NAMES = {"ROYALTY_USAGE_EXCHANGE": f"royalty.usage.test-{SESSION_TAG}",
              "ROYALTY_INGEST_QUEUE": f"royalty.usage.ingest.test-{SESSION_TAG}",
              "ROYALTY_TASK_QUEUE": f"royalty.tasks.test-{SESSION_TAG}"}


@pytest.fixture(scope="session", autouse=True)
def environment(database_url: str, broker_url: str, royalty_home: Path) -> Iterator[None]:
    """Point anything built from the environment (the Celery app, worker subprocesses)
    at this session's database, broker names and home; remove the queues afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROYALTY_DATABASE_URL", database_url)
        patch.setenv("ROYALTY_BROKER_URL", broker_url)
        patch.setenv("ROYALTY_HOME", str(royalty_home))
        for name, value in TEST_NAMES.items():
            patch.setenv(name, value)
        yield
    _delete_test_queues(broker_url)


def _delete_test_queues(broker_url: str) -> None:
    from kombu import Connection

    with Connection(broker_url) as conn:
        channel = conn.default_channel
        for name in ("ROYALTY_INGEST_QUEUE", "ROYALTY_TASK_QUEUE"):
            for suffix in ("", ".sqla"):
                try:
                    channel.queue_delete(TEST_NAMES[name] + suffix)
                except conn.channel_errors:
                    channel = conn.channel()


@pytest.fixture
def settings(database_url: str, broker_url: str, royalty_home: Path) -> Settings:
    return Settings(database_url=database_url, broker_url=broker_url, home=royalty_home,
                    usage_exchange=TEST_NAMES["ROYALTY_USAGE_EXCHANGE"],
                    ingest_queue=TEST_NAMES["ROYALTY_INGEST_QUEUE"],
                    task_queue=TEST_NAMES["ROYALTY_TASK_QUEUE"], ingest_flush_seconds=0.1)


@pytest.fixture
def ledger(settings: Settings, database_url: str) -> Iterator[Ledger]:
    truncate_all(database_url)
    app = Ledger(settings=settings)
    yield app
    app.close()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Run ``royalty ARGS…`` in-process against the test database, as a user would."""
    from ledger.cli import app as cli_app
    from ledger.cli import context

    monkeypatch.setattr(context, "get_ledger", lambda: ledger)
    for module in list(sys.modules.values()):
        if getattr(module, "get_ledger", None) is not None and module.__name__.startswith("ledger.cli"):
            monkeypatch.setattr(module, "get_ledger", lambda: ledger)

    def run(*args: str, input: str | None = None) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["royalty", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(input or ""))
        code = 0
        try:
            cli_app.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
