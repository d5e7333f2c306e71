"""Every CLI input that reaches SQL, fed quotes, format strings, very long and non-UTF-8
values, through the installed command: a clear one-line reason and exit 2 (or, for a
filter, an empty answer), never a traceback, never SQL run from the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import creator, jsonl, licensee

ROYALTY = str(Path(sys.executable).with_name("royalty"))
QUOTES = "x'); DROP TABLE creator; --\" %s {0} \\"
LONG = "k" * 100_000
NOT_UTF8 = b"caf\xe9-\xff\xfe"

# each command with {} where the hostile value goes
KEYS = [
    ["works", "show", "{}"],
    ["creators", "onboard", "{}"],
    ["report", "statement", "--creator", "{}"],
    ["report", "statement", "--creator", "alice", "--period", "{}"],
    ["report", "transparency", "--licensee", "{}"],
    ["licensees", "grant-producer", "{}", "user-1"],
    ["licensees", "grant-producer", "acme-ai", "{}"],
    ["licensees", "revoke-producer", "{}", "user-1"],
    ["dead-letters", "replay", "{}"],
]
# filters: a value that matches nothing is an empty answer, not an error
FILTERS = [
    ["report", "balances", "--creator", "{}", "--format", "json"],
    ["report", "transparency", "--licensee", "acme-ai", "--model", "{}", "--format", "json"],
    ["licenses", "list", "--licensee", "{}", "--format", "json"],
]


# what Python makes of bytes that are not UTF-8 in argv (surrogateescape)
NOT_UTF8_ARG = NOT_UTF8.decode("utf-8", "surrogateescape")


@pytest.fixture
def registered(cli) -> None:
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0


def _fill(command: list[str], value: str | bytes) -> list:
    return [value if part == "{}" else part for part in command]


def _clear(err: str) -> str:
    assert "Traceback" not in err, err[-2000:]
    assert len(err) < 5000, "the reason repeats a huge value"
    return err


def _tables_intact(cli) -> None:
    assert len(json.loads(cli("creators", "list", "--format", "json").stdout)) == 1


@pytest.mark.parametrize("command", KEYS, ids=lambda c: " ".join(c))
def test_hostile_keys_get_exit_2_and_a_clear_reason(cli, registered, command) -> None:
    for value in (QUOTES, LONG, NOT_UTF8_ARG):
        result = cli(*_fill(command, value))
        _clear(result.stderr)
        assert result.code == 2, (value[:20], result.stderr[:500])
    _tables_intact(cli)


@pytest.mark.parametrize("command", FILTERS, ids=lambda c: " ".join(c))
def test_hostile_filters_match_nothing_or_get_exit_2(cli, registered, command) -> None:
    quoted = cli(*_fill(command, QUOTES))
    _clear(quoted.stderr)
    assert quoted.code == 0
    answer = json.loads(quoted.stdout)
    assert answer == [] or answer["events"] == 0
    for value in (LONG, NOT_UTF8_ARG):
        result = cli(*_fill(command, value))
        _clear(result.stderr)
        assert result.code == 2
    _tables_intact(cli)


def test_non_utf8_bytes_through_the_installed_command(cli, registered) -> None:
    result = subprocess.run([ROYALTY, "report", "transparency", "--licensee", NOT_UTF8],
                            env=dict(os.environ), capture_output=True, timeout=120)
    err = _clear(result.stderr.decode("utf-8", "replace"))
    assert result.returncode == 2
    assert "is not valid UTF-8" in err
