"""Voiding events (issue 19) through the installed `royalty` command: the booking is
reversed by a new balanced entry (the accrual stays as it was), the event leaves the
tallies and shows as a negative line in the statement of the void's month, a resend does
not revive it, re-evaluation passes it by, and bad requests write nothing (exit 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from ledger.matching import reevaluation
from tests.builders import creator, expected_net, expected_parts, jsonl, license, licensee, sha
from tests.builders import work as work_row
from tests.ingest_helpers import imported, ingested, usage
from tests.ledger.cli.test_exit_codes import royalty
from tests.ledger.reports.scenario import travel_back

SOURCE = "urn:acme-ai:pipeline:test"
SHARES = {"alice": "0.7", "bob": "0.3"}
THIS_MONTH = datetime.now(UTC).strftime("%Y-%m")


# Set-up and the many look-ups run the command in-process (`cli`, the same code); the
# commands under test run through the installed console script (`royalty`).
def _json(cli, *args: str):  # noqa: ANN001, ANN202
    result = cli(*args, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def booked(ledger, cli):  # noqa: ANN001, ANN201
    imported(cli, "creators", [creator("alice"), creator("bob")])
    imported(cli, "licensees", [licensee("acme-ai")])
    imported(cli, "works", [work_row("w-1", SHARES)])
    imported(cli, "licenses", [license("acme-train")])
    item = {"sha256": sha("w-1")}
    ingested(ledger, [usage("e-1", item=item, quantity="10"),
                     usage("e-2099", item=item, quantity="1000000"),
                     usage("e-unmatched", item={"sha256": sha("nothing")})])
    return ledger


def _balances(cli) -> dict[str, Decimal]:  # noqa: ANN001
    return {b["creator"]: Decimal(b["balance"]) for b in _json(cli, "report", "balances")}


def test_a_void_reverses_the_booking_with_a_new_entry(booked, cli) -> None:
    big = expected_parts(expected_net("1000000", "0.0023", "0.15"), SHARES)
    small = expected_parts(expected_net("10", "0.0023", "0.15"), SHARES)
    assert _balances(cli) == {c: small[c] + big[c] for c in SHARES}
    before = royalty("events", "show", SOURCE, "e-2099", "--format", "json")
    assert before.returncode == 0, before.stderr
    shown = json.loads(before.stdout)
    assert shown["outcome"] == "accrued" and shown["match"]["work"] == "w-1"
    assert Decimal(shown["amounts"]["net"]) == expected_net("1000000", "0.0023", "0.15")
    assert {p["creator"]: Decimal(p["amount"]) for p in shown["amounts"]["creators"]} == big
    with psycopg.connect(booked.database_url) as conn:
        accrual = conn.execute("SELECT entry_id, sum(amount), count(*) FROM posting "
                               "GROUP BY entry_id").fetchall()

    travel_back(booked, 40)  # booked in an earlier month than the void
    result = royalty("events", "void", SOURCE, "e-2099", "e-unmatched",
                     "--reason", "dated 2099, a test run's quantity")
    assert result.returncode == 0, result.stderr
    assert "voided 2 events" in result.stdout and "1 bookings reversed" in result.stdout

    assert _balances(cli) == small
    shown = _json(cli, "events", "show", SOURCE, "e-2099")
    assert shown["outcome"] == "voided"
    assert shown["void"]["reason"] == "dated 2099, a test run's quantity"
    table = royalty("events", "show", SOURCE, "e-2099", COLUMNS="200")
    assert table.returncode == 0 and "voided" in table.stdout and "dated 2099" in table.stdout
    with psycopg.connect(booked.database_url) as conn:
        # the accrual entry is as it was; the reversal is a new entry of its own, balanced
        for entry_id, total, postings in accrual:
            assert conn.execute("SELECT sum(amount), count(*) FROM posting WHERE entry_id = %s",
                                (entry_id,)).fetchone() == (total, postings)
        kind, total = conn.execute(
            "SELECT j.kind, sum(p.amount) FROM journal_entry j JOIN posting p "
            "ON p.entry_id = j.id WHERE j.id = %s GROUP BY j.kind",
            (shown["void"]["entry_id"],)).fetchone()
        assert (kind, total) == ("void", 0)
        # the database itself keeps a voided event voided
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE usage_event SET outcome = 'accrued' "
                         "WHERE event_id = 'e-2099'")

    status = _json(cli, "status")
    assert status["outcomes"]["accrued"] == 1 and status["outcomes"]["unmatched"] == 0
    assert status["corrections"]["voided"] == 2
    transparency = _json(cli, "report", "transparency", "--licensee", "acme-ai")
    assert transparency["events"] == 1 and transparency["works"] == 1
    assert cli("db", "retally").code == 0  # rebuilt from the events: the same
    assert _json(cli, "status")["outcomes"] == status["outcomes"]
    assert _json(cli, "report", "transparency", "--licensee", "acme-ai") == transparency
    assert _json(cli, "report", "suspense") == []

    # the statement of the void's month: the reversal, a negative line; all time: e-1 only
    period = _json(cli, "report", "statement", "--creator", "alice", "--period", THIS_MONTH)
    assert Decimal(period["accrued"]) == -big["alice"]
    assert [(line["work"], line["events"], Decimal(line["quantity"]), Decimal(line["amount"]))
            for line in period["lines"]] == [("w-1", -1, Decimal(-1000000), -big["alice"])]
    for fold in (False, True):
        if fold:
            assert cli("db", "fold").code == 0
        all_time = _json(cli, "report", "statement", "--creator", "alice")
        assert Decimal(all_time["accrued"]) == small["alice"]
        assert [(line["events"], Decimal(line["amount"])) for line in all_time["lines"]] == [
            (1, small["alice"])]


def test_a_resend_never_revives_a_voided_event(booked, cli) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    before = _balances(cli)
    resent = ingested(booked, [usage("e-2099", item={"sha256": sha("w-1")}, quantity="1000000")])
    assert (resent.accepted, resent.duplicates) == (0, 1)
    assert _json(cli, "events", "show", SOURCE, "e-2099")["outcome"] == "voided"
    assert _balances(cli) == before


def test_reevaluation_passes_a_voided_event_by(booked, cli) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    imported(cli, "licenses", [license("acme-train", price="0.0050")])  # a new price: back-pay
    with booked.connect() as conn:
        reevaluation.drain(conn)
    assert _json(cli, "events", "show", SOURCE, "e-2099")["outcome"] == "voided"
    assert _balances(cli) == expected_parts(expected_net("10", "0.0050", "0.15"), SHARES)


def test_bad_voids_write_nothing_and_say_why(booked, cli) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    before = _balances(cli)
    result = royalty("events", "void", SOURCE, "e-1", "e-2099", "no-such-id", "--reason", "x")
    assert result.returncode == 2
    assert f"event {SOURCE} e-2099: already voided on" in result.stderr
    assert "(outlier)" in result.stderr
    assert f"event {SOURCE} no-such-id: no such event" in result.stderr
    assert _json(cli, "events", "show", SOURCE, "e-1")["outcome"] == "accrued"  # all or none
    assert _balances(cli) == before
    missing_reason = royalty("events", "void", SOURCE, "e-1")
    assert missing_reason.returncode == 2 and "--reason is required" in missing_reason.stderr
    unknown = royalty("events", "show", SOURCE, "nope")
    assert unknown.returncode == 2 and "no event" in unknown.stderr


def test_many_voids_from_a_file(booked, cli, tmp_path) -> None:
    rows = [{"source": SOURCE, "id": "e-1", "reason": "duplicate run"},
            {"source": SOURCE, "id": "e-2099"}]
    bad = royalty("events", "void", "--file", "-", input=jsonl(rows + [{"id": 3}]))
    assert bad.returncode == 2
    assert "line 2: reason must be a string" in bad.stderr
    assert "line 3: source must be a non-empty string" in bad.stderr
    assert "nothing was written" in bad.stderr
    assert _balances(cli) != {"alice": 0, "bob": 0}
    path = tmp_path / "voids.jsonl"
    path.write_text(jsonl(rows))
    result = royalty("events", "void", "--file", str(path), "--reason", "test traffic")
    assert result.returncode == 0, result.stderr
    assert "voided 2 events" in result.stdout
    assert _balances(cli) == {"alice": 0, "bob": 0}
    assert _json(cli, "events", "show", SOURCE, "e-2099")["void"]["reason"] == "test traffic"
