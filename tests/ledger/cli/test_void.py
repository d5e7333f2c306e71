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
from tests.ingest_helpers import running_consumer, scalar, usage, wait_for
from tests.ledger.cli.test_exit_codes import empty_queue, royalty  # noqa: F401 - a fixture
from tests.ledger.reports.scenario import travel_back

SOURCE = "urn:acme-ai:pipeline:test"
SHARES = {"alice": "0.7", "bob": "0.3"}
THIS_MONTH = datetime.now(UTC).strftime("%Y-%m")


def _import(kind: str, rows: list[dict]) -> None:
    result = royalty("import", kind, "-", input=jsonl(rows))
    assert result.returncode == 0, result.stderr


def _json(*args: str):  # noqa: ANN202
    result = royalty(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _emit(ledger, events: list[dict], received: int) -> None:  # noqa: ANN001
    with running_consumer(ledger):
        assert royalty("emit", "-", input=jsonl(events)).returncode == 0
        wait_for(lambda: scalar(ledger, "SELECT coalesce(sum(received), 0) FROM ingest_batch")
                 == received, timeout=60)


@pytest.fixture
def booked(ledger, empty_queue):  # noqa: ANN001, ANN201
    _import("creators", [creator("alice"), creator("bob")])
    _import("licensees", [licensee("acme-ai")])
    _import("works", [work_row("w-1", SHARES)])
    _import("licenses", [license("acme-train")])
    item = {"sha256": sha("w-1")}
    _emit(ledger, [usage("e-1", item=item, quantity="10"),
                   usage("e-2099", item=item, quantity="1000000"),
                   usage("e-unmatched", item={"sha256": sha("nothing")})], received=3)
    return ledger


def _balances() -> dict[str, Decimal]:
    return {b["creator"]: Decimal(b["balance"]) for b in _json("report", "balances")}


def test_a_void_reverses_the_booking_with_a_new_entry(booked) -> None:
    big = expected_parts(expected_net("1000000", "0.0023", "0.15"), SHARES)
    small = expected_parts(expected_net("10", "0.0023", "0.15"), SHARES)
    assert _balances() == {c: small[c] + big[c] for c in SHARES}
    shown = _json("events", "show", SOURCE, "e-2099")
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

    assert _balances() == small
    shown = _json("events", "show", SOURCE, "e-2099")
    assert shown["outcome"] == "voided"
    assert shown["void"]["reason"] == "dated 2099, a test run's quantity"
    table = royalty("events", "show", SOURCE, "e-2099")
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

    status = _json("status")
    assert status["outcomes"]["accrued"] == 1 and status["outcomes"]["unmatched"] == 0
    assert status["corrections"]["voided"] == 2
    transparency = _json("report", "transparency", "--licensee", "acme-ai")
    assert transparency["events"] == 1 and transparency["works"] == 1
    assert royalty("db", "retally").returncode == 0  # rebuilt from the events: the same
    assert _json("status")["outcomes"] == status["outcomes"]
    assert _json("report", "transparency", "--licensee", "acme-ai") == transparency
    assert json.loads(royalty("report", "suspense", "--format", "json").stdout) == []

    # the statement of the void's month: the reversal, a negative line; all time: e-1 only
    period = _json("report", "statement", "--creator", "alice", "--period", THIS_MONTH)
    assert Decimal(period["accrued"]) == -big["alice"]
    assert [(line["work"], line["events"], Decimal(line["quantity"]), Decimal(line["amount"]))
            for line in period["lines"]] == [("w-1", -1, Decimal(-1000000), -big["alice"])]
    for fold in (False, True):
        if fold:
            assert royalty("db", "fold").returncode == 0
        all_time = _json("report", "statement", "--creator", "alice")
        assert Decimal(all_time["accrued"]) == small["alice"]
        assert [(line["events"], Decimal(line["amount"])) for line in all_time["lines"]] == [
            (1, small["alice"])]


def test_a_resend_never_revives_a_voided_event(booked) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    before = _balances()
    _emit(booked, [usage("e-2099", item={"sha256": sha("w-1")}, quantity="1000000")],
          received=4)
    assert _json("events", "show", SOURCE, "e-2099")["outcome"] == "voided"
    assert _balances() == before
    assert _json("status")["events"]["duplicates"] == 1


def test_reevaluation_passes_a_voided_event_by(booked) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    _import("licenses", [license("acme-train", price="0.0050")])  # a new price: back-pay
    with booked.connect() as conn:
        reevaluation.drain(conn)
    assert _json("events", "show", SOURCE, "e-2099")["outcome"] == "voided"
    assert _balances() == expected_parts(expected_net("10", "0.0050", "0.15"), SHARES)


def test_bad_voids_write_nothing_and_say_why(booked) -> None:
    assert royalty("events", "void", SOURCE, "e-2099", "--reason", "outlier").returncode == 0
    before = _balances()
    result = royalty("events", "void", SOURCE, "e-1", "e-2099", "no-such-id", "--reason", "x")
    assert result.returncode == 2
    assert f"event {SOURCE} e-2099: already voided on" in result.stderr
    assert "(outlier)" in result.stderr
    assert f"event {SOURCE} no-such-id: no such event" in result.stderr
    assert _json("events", "show", SOURCE, "e-1")["outcome"] == "accrued"  # all or none
    assert _balances() == before
    missing_reason = royalty("events", "void", SOURCE, "e-1")
    assert missing_reason.returncode == 2 and "--reason is required" in missing_reason.stderr
    unknown = royalty("events", "show", SOURCE, "nope")
    assert unknown.returncode == 2 and "no event" in unknown.stderr


def test_many_voids_from_a_file(booked, tmp_path) -> None:
    rows = [{"source": SOURCE, "id": "e-1", "reason": "duplicate run"},
            {"source": SOURCE, "id": "e-2099"}]
    bad = royalty("events", "void", "--file", "-", input=jsonl(rows + [{"id": 3}]))
    assert bad.returncode == 2
    assert "line 2: reason must be a string" in bad.stderr
    assert "line 3: source must be a non-empty string" in bad.stderr
    assert "nothing was written" in bad.stderr
    assert _balances() != {"alice": 0, "bob": 0}
    path = tmp_path / "voids.jsonl"
    path.write_text(jsonl(rows))
    result = royalty("events", "void", "--file", str(path), "--reason", "test traffic")
    assert result.returncode == 0, result.stderr
    assert "voided 2 events" in result.stdout
    assert _balances() == {"alice": 0, "bob": 0}
    assert _json("events", "show", SOURCE, "e-2099")["void"]["reason"] == "test traffic"
