"""The command starts light: SQLAlchemy, SQLModel, Alembic and pydantic's importers load
only for the commands that use them (imports, listings, migrations, the demo), not for a
report, status or emit."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "ledger.catalog.service", "ledger.imports")


def test_the_cli_imports_no_orm_or_migrations_until_a_command_needs_them() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, ledger.cli.app; "
                               "print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert "ledger.cli.report" in loaded and "psycopg" in loaded
    assert [name for name in HEAVY if name in loaded] == []

