"""What an operator sees when `royalty db upgrade` or any command cannot do its work: one
line and exit status 1 or 2 (contract §7), never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def royalty(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ROYALTY_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "ledger.cli.app", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unknown_revision_is_bad_input_named_in_one_line(database_url: str) -> None:
    result = royalty("db", "upgrade", "nosuchrev", database_url=database_url)
    assert result.returncode == 2
    assert "no migration 'nosuchrev'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_fails_in_one_line() -> None:
    url = f"postgresql://royalty@127.0.0.1:{closed_port()}/royalty"
    for command in (["db", "upgrade"], ["status", "--format", "json"]):
        result = royalty(*command, database_url=url)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: database: connection failed"), result.stderr
        assert "Traceback" not in result.stderr
