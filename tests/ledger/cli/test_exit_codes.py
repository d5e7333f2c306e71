"""Every command that can fail, through the installed console script as a script or an
operator runs it: the exit status (contract §7: 0, 1 at run time, 2 bad input) and one
line that says what is wrong and what to do, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from ledger.ingest import store, topology
from ledger.ingest.events import SINGLE
from tests.builders import creator, jsonl, licensee
from tests.conftest import migrated_database
from tests.ingest_helpers import usage
from tests.ledger.payouts.conftest import fund

ROYALTY = str(Path(sys.executable).with_name("royalty"))


def royalty(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run([ROYALTY, *args], env={**os.environ, **env}, input=input,
                            capture_output=True, text=True, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def empty_queue(ledger) -> Iterator[None]:
    """The session's ingest queue emptied before and after: nothing a test leaves there
    reaches a later test's worker."""
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    yield
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)


@pytest.fixture
def unmigrated_url(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_bare", revision=None)


def test_wait_idle_times_out_with_status_1(ledger, empty_queue) -> None:
    assert royalty("emit", "-", input=jsonl([{"specversion": "1.0"}])).returncode == 0
    result = royalty("status", "--wait-idle", "--timeout", "2")
    assert result.returncode == 1
    assert "not idle after 2s" in result.stderr


def test_reconcile_with_a_disagreement_exits_1_in_major_units(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11})
    assert cli("creators", "onboard", "alice").code == 0  # the sandbox pays account holders
    assert cli("payouts", "run").code == 0
    with ledger.connect() as conn:  # the provider lost its record of the transfer
        conn.execute("DELETE FROM sandbox_transfer")
        conn.commit()
    result = royalty("payouts", "reconcile", "--format", "json")
    assert result.returncode == 1
    assert "1 disagreements" in result.stdout
    assert '"ledger_amount": "11.00"' in result.stdout  # not 1100 (cents)


def test_a_directory_is_bad_input(ledger, tmp_path) -> None:
    for args in (["import", "works", str(tmp_path)], ["emit", str(tmp_path)]):
        result = royalty(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr == f"error: {tmp_path} is a directory: give a JSON Lines file " \
                                "(or - for standard input)\n"


def test_postgresql_down_missing_database_and_unknown_host(ledger) -> None:
    cases = {
        f"postgresql://royalty@127.0.0.1:{closed_port()}/royalty":
            "is PostgreSQL running? check ROYALTY_DATABASE_URL",
        os.environ["ROYALTY_DATABASE_URL"].rsplit("/", 1)[0] + "/royalty_no_such_db":
            'database "royalty_no_such_db" does not exist; create it',
        "postgresql://royalty@no-such-host.invalid/royalty":
            "check the host name in ROYALTY_DATABASE_URL",
    }
    for url, hint in cases.items():
        for command in (["status"], ["report", "balances"], ["import", "creators", "-"]):
            result = royalty(*command, input=jsonl([creator("ann")]),
                             ROYALTY_DATABASE_URL=url)
            assert result.returncode == 1, (command, result.stderr)
            assert result.stderr.startswith("error: database: "), result.stderr
            assert hint in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_database_without_the_schema_says_to_upgrade(unmigrated_url: str) -> None:
    for command in (["status"], ["report", "balances"], ["creators", "list"],
                    ["import", "licensees", "-"]):
        result = royalty(*command, input=jsonl([licensee("acme-ai")]),
                         ROYALTY_DATABASE_URL=unmigrated_url)
        assert result.returncode == 1, result.stderr
        assert "does not exist): run `royalty db upgrade`" in result.stderr
        assert result.stderr.count("\n") == 1


def test_the_broker_down_or_unknown_during_emit(ledger) -> None:
    for url, hint in ((f"amqp://guest:guest@127.0.0.1:{closed_port()}//",
                       "is RabbitMQ running? check ROYALTY_BROKER_URL"),
                      ("amqp://guest:guest@no-such-host.invalid:5672//",
                       "check the host name in ROYALTY_BROKER_URL")):
        result = royalty("emit", "-", input=jsonl([{"specversion": "1.0"}]),
                         ROYALTY_BROKER_URL=url)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1].startswith("error: broker: ")
        assert hint in result.stderr


@pytest.mark.parametrize(("args", "supported"), [
    (["status", "--format", "csv"], "use table or json"),
    (["status", "--format", "html"], "use table or json"),
    (["report", "dead-letters", "--format", "html"], "use table, json or csv"),
    (["report", "payouts", "--format", "html"], "use table, json or csv"),
    (["report", "balances", "--format", "html"], "use table, json or csv"),
    (["creators", "list", "--format", "html"], "use table, json or csv"),
    (["payouts", "list", "--format", "html"], "use table, json or csv"),
    (["payouts", "reconcile", "--format", "html"], "use table, json or csv"),
    (["report", "statement", "--creator", "x", "--format", "yaml"],
     "use table, json, csv or html"),
])
def test_a_format_a_command_does_not_write_is_refused(ledger, args, supported) -> None:
    result = royalty(*args)
    assert result.returncode == 2
    assert f"{args[-1]} is not a format of this command; {supported}" in result.stderr
    assert "Value error" not in result.stderr


def test_help_lists_the_real_formats(ledger) -> None:
    assert "[table|json]" in royalty("status", "--help").stdout
    assert "[table|json|csv|html]" in royalty("report", "statement", "--help").stdout
    assert "[table|json|csv]" in royalty("report", "payouts", "--help").stdout


@pytest.mark.parametrize(("args", "message"), [
    (["payouts", "reconcile", "--period", "2026-13"],
     "error: period '2026-13' is not a calendar month YYYY-MM (e.g. 2026-11)\n"),
    (["payouts", "reconcile", "--run", "1", "--period", "2026-11"],
     "error: give --run or --period, not both\n"),
    (["emit", "-", "--licensee", "acme-ai", "--time", "yesterday"],
     "error: --time 'yesterday' is not RFC 3339\n"),
    (["emit", "-", "--compression", "rar"], "error: --compression 'rar' is not one of"),
])
def test_option_errors_do_not_read_like_file_errors(ledger, args, message) -> None:
    result = royalty(*args, input=jsonl([{"sha256": "ab"}]))
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert "line 0" not in result.stderr and "nothing was written" not in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["emit", "-", "--batch-size", "0"], "'--batch-size': must be at least 1"),
    (["dead-letters", "replay", "abc"], "'ids': expected a whole number"),
    (["import", "songs", "-"], "'songs' is not one of 'creators', 'works'"),
])
def test_typer_jargon_is_said_plainly(ledger, args, message) -> None:
    result = royalty(*args, input="")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Value error" not in result.stderr and "Input should" not in result.stderr


def test_ids_that_do_not_exist_are_bad_input(ledger) -> None:
    replay = royalty("dead-letters", "replay", "99", "98")
    assert replay.returncode == 2
    assert "error: dead letter 98: no such dead letter\n" \
           "error: dead letter 99: no such dead letter\n" in replay.stderr
    reconcile = royalty("payouts", "reconcile", "--run", "99")
    assert reconcile.returncode == 2
    assert "error: no payout run 99 (see `royalty payouts list`)" in reconcile.stderr


def test_a_replayed_dead_letter_is_not_replayed_again(cli, ledger) -> None:
    with ledger.connect() as conn:  # an event of a licensee not registered yet
        store.ingest(conn, [store.Message(orjson.dumps(usage("e1")), SINGLE)],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.commit()
        (letter,) = conn.execute("SELECT id FROM dead_letter").fetchone()
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert royalty("dead-letters", "replay", str(letter)).returncode == 0
    result = royalty("dead-letters", "replay", str(letter))
    assert result.returncode == 2
    assert f"error: dead letter {letter}: already replayed, not open" in result.stderr


def test_empty_input_to_emit_is_bad_input_like_an_empty_import(ledger, tmp_path) -> None:
    empty = tmp_path / "manifest.jsonl"
    empty.write_text("\n")
    for args in (["emit", str(empty)], ["emit", str(empty), "--licensee", "acme-ai"],
                 ["import", "works", str(empty)]):
        result = royalty(*args)
        assert result.returncode == 2
        assert "the file has no rows" in result.stderr


def test_bad_rows_name_the_field_and_the_form(ledger) -> None:
    rows = [{**creator("ann doe"), "currency": "usdx"}, {**creator("bob"), "name": ""}]
    result = royalty("import", "creators", "-", input=jsonl(rows))
    assert result.returncode == 2
    assert "line 1: creator: 'ann doe' is not a key: a letter or digit" in result.stderr
    assert "line 1: currency: 'USDX' is not a three-letter currency code such as USD" \
        in result.stderr
    assert "line 2: name: must not be empty" in result.stderr
    for jargon in ("should match pattern", "String should", "Value error"):
        assert jargon not in result.stderr


def test_demo_refuses_a_database_it_did_not_fill(ledger, tmp_path) -> None:
    assert royalty("import", "creators", "-", input=jsonl([creator("ann")])).returncode == 0
    result = royalty("demo", "--events", "10", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "ROYALTY_DATABASE_URL holds data the demo did not make (1 creators)" in result.stderr
    with psycopg.connect(os.environ["ROYALTY_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM creator").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM licensee").fetchone()[0] == 0
