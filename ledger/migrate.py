"""Run the Alembic migrations from code (CLI and tests).

An installed wheel carries them as ``ledger/migrations``; a checkout keeps the only copy at
the top level (``migrations/``), which the wheel's is built from (pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from ledger.catalog.models import BAND_PARTITIONS
from ledger.db import sqlalchemy_url
from ledger.errors import ConfigurationError, LedgerError, NotFound

_PACKAGE = Path(__file__).resolve().parent
# Tables that other software owns in the same database (kombu's SQL broker transport).
FOREIGN_TABLES = {"kombu_message", "kombu_queue"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic filter: leave out tables the ledger does not own, and the parts of a
    partitioned table (the model declares the parent; its migration, the parts)."""
    return not (type_ == "table" and (name in FOREIGN_TABLES or name in BAND_PARTITIONS))


def migrations_dir() -> Path:
    """Where the migrations are: inside the installed package, else the checkout's."""
    for candidate in (_PACKAGE / "migrations", _PACKAGE.parent / "migrations"):
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    raise ConfigurationError(
        f"the Alembic migrations are missing from this installation (looked in "
        f"{_PACKAGE / 'migrations'}): reinstall royalty-ledger from its wheel")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    config = alembic_config(url)
    try:
        ScriptDirectory.from_config(config).get_revisions(revision)
    except CommandError as exc:  # Alembic's own errors carry a readable one-line reason
        raise NotFound(f"no migration {revision!r}: {exc}") from exc
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise LedgerError(f"migration failed: {exc}") from exc


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
