"""Closing periods through ``royalty periods close``: one balanced allocation entry, the
creators' balances exactly as contract §9 and §5 say, nothing booked twice."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from ledger.periods import service
from tests.builders import creator, deal, jsonl, licensee, work
from tests.ledger.periods.helpers import (
    balances, creator_parts, expected_allocation, ingest, trial_balance_is_zero, use,
)

D = Decimal
SOURCE = "urn:acme-ai:pipeline:test"
W2 = {"alice": "0.7", "bob": "0.3"}
POOL = {"type": "pool", "amount": "1000.00", "period": "quarter", "unit": "uses"}


@pytest.fixture
def pooled(cli, ledger):
    assert cli("import", "creators", "-", input=jsonl([creator("alice"),
                                                       creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w1", {"alice": "1"}), work("w2", W2), work("w3", {"bob": "1"})])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        deal("pool-q", POOL, valid_from="2026-01-01T00:00:00Z",
             valid_until="2026-07-01T00:00:00Z", fee="0.15")])).code == 0
    ingest(ledger, [use("a1", "w1", "2026-01-05T00:00:00Z", "1"),
                    use("a2", "w2", "2026-02-05T00:00:00Z", "1"),
                    use("a3", "w3", "2026-03-05T00:00:00Z", "1"),
                    use("a4", "w2", "2026-03-31T23:59:59Z", "2.5"),
                    use("b1", "w1", "2026-04-01T00:00:00Z", "7")])  # the next quarter
    return cli


def test_closing_a_quarter_books_its_pool_to_the_creators(pooled, ledger) -> None:
    listed = json.loads(pooled("periods", "list", "--format", "json").stdout)
    assert [(r["period"], r["state"], r["events"]) for r in listed] == [
        ("2026-Q1", "open", 4), ("2026-Q2", "open", 1)]
    assert balances(pooled) == {}  # awaiting allocation
    done = pooled("periods", "close", "--license", "pool-q", "--period", "2026-Q1",
                  "--format", "json")
    assert done.code == 0, done.stderr
    [run] = json.loads(done.stdout)
    assert (run["label"], run["events"], D(run["pool"]), D(run["allocated"])) == (
        "2026-Q1", 4, D(1000), D(1000))
    grosses = expected_allocation(D(1000), [(SOURCE, "a1", "1"), (SOURCE, "a2", "1"),
                                            (SOURCE, "a3", "1"), (SOURCE, "a4", "2.5")])
    owed: dict[str, D] = {}
    for (_, event), shares in zip(sorted(grosses), [{"alice": "1"}, W2, {"bob": "1"}, W2],
                                  strict=True):
        for who, part in creator_parts(grosses[(SOURCE, event)], "0.15", shares).items():
            owed[who] = owed.get(who, D(0)) + part
    assert balances(pooled) == {(who, "USD"): amount for who, amount in owed.items()}
    assert trial_balance_is_zero(pooled)
    listed = json.loads(pooled("periods", "list", "--format", "json").stdout)
    assert [(r["period"], r["state"]) for r in listed] == [("2026-Q1", "closed"),
                                                          ("2026-Q2", "open")]
    # Closing again books nothing more.
    again = pooled("periods", "close", "--license", "pool-q", "--format", "json")
    assert again.code == 0
    assert [r["label"] for r in json.loads(again.stdout)] == ["2026-Q2"]
    with ledger.connect() as conn:
        kinds = conn.execute("SELECT kind, count(*) FROM journal_entry GROUP BY kind").fetchall()
    assert dict(kinds) == {"allocation": 2}


def test_a_period_with_no_events_books_its_pool_as_unallocated(pooled, ledger) -> None:
    assert pooled("import", "licenses", "-", input=jsonl([
        deal("pool-empty", {**POOL, "amount": "50"}, valid_from="2026-01-01T00:00:00Z",
             valid_until="2026-04-01T00:00:00Z", scope={"works": ["w3"]},
             purposes=["ai-input"])])).code == 0
    done = pooled("periods", "close", "--license", "pool-empty", "--format", "json")
    [run] = json.loads(done.stdout)
    assert (D(run["pool"]), D(run["allocated"]), D(run["unallocated"])) == (D(50), 0, D(50))
    trial = json.loads(pooled("report", "trial-balance", "--format", "json").stdout)
    assert {(r["account"], r["owner"]): D(r["balance"]) for r in trial} == {
        ("licensee_receivable", "acme-ai"): D(50), ("license_unallocated", "pool-empty"): D(-50)}
    assert balances(pooled) == {}


def test_a_period_not_ended_is_refused_with_its_reason(pooled) -> None:
    assert pooled("import", "licenses", "-", input=jsonl([
        deal("pool-open", POOL, valid_from="2026-01-01T00:00:00Z", valid_until=None,
             purposes=["ai-input"])])).code == 0
    result = pooled("periods", "close", "--period", "2099-Q1")
    assert result.code == 2 and "period pool-open 2099-Q1 has not ended yet" in result.stderr
    assert "Traceback" not in result.stderr
    result = pooled("periods", "close", "--license", "pool-q", "--period", "2027-Q1")
    assert result.code == 0  # the license ended before: nothing to close
    bad = pooled("periods", "close", "--period", "2026-13")
    assert bad.code == 2 and "'2026-13' is not a period" in bad.stderr


def test_a_period_closed_twice_at_once_books_once(pooled, ledger) -> None:
    from datetime import UTC, datetime, timedelta

    barrier = threading.Barrier(2)
    results = []

    def close() -> None:
        with ledger.connect() as conn:
            barrier.wait()
            results.append(service.close_due(conn, now=datetime.now(UTC),
                                             grace=timedelta(days=5)))

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(run.label for runs in results for run in runs) == ["2026-Q1", "2026-Q2"]
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM journal_entry").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM license_period").fetchone()[0] == 2
    assert trial_balance_is_zero(pooled)


def _owed(grosses: dict, shares_of: dict[str, dict[str, str]], fee: str) -> dict:
    owed: dict[tuple[str, str], D] = {}
    for (_, event), gross in grosses.items():
        for who, part in creator_parts(gross, fee, shares_of[event]).items():
            owed[(who, "USD")] = owed.get((who, "USD"), D(0)) + part
    return {k: v for k, v in owed.items() if v}


def test_a_late_event_re_allocates_the_closed_period_with_an_adjustment(pooled,
                                                                       ledger) -> None:
    assert pooled("periods", "close", "--period", "2026-Q1").code == 0
    ingest(ledger, [use("a0", "w3", "2026-02-10T00:00:00Z", "4")])  # late, in Q1
    with ledger.connect() as conn:
        [run] = service.reallocate_stale(conn)
        assert (run.label, run.run, run.events) == ("2026-Q1", 2, 5)
        assert service.reallocate_stale(conn) == []  # nothing new since
        before = conn.execute("SELECT count(*) FROM posting").fetchone()[0]
        entries = dict(conn.execute("SELECT kind, count(*) FROM journal_entry GROUP BY kind"))
    assert entries == {"allocation": 1, "reallocation": 1}
    quantities = {"a1": "1", "a2": "1", "a3": "1", "a4": "2.5", "a0": "4"}
    grosses = expected_allocation(D(1000), [(SOURCE, e, q) for e, q in quantities.items()])
    shares_of = {"a1": {"alice": "1"}, "a2": W2, "a3": {"bob": "1"}, "a4": W2,
                 "a0": {"bob": "1"}}
    assert balances(pooled) == _owed(grosses, shares_of, "0.15")
    assert trial_balance_is_zero(pooled)
    listed = json.loads(pooled("periods", "list", "--format", "json").stdout)
    assert (listed[0]["state"], listed[0]["events"]) == ("adjusted", 5)
    # Nothing booked was edited: the database refuses it.
    with ledger.connect() as conn, pytest.raises(Exception, match="append-only|append only"):
        conn.execute("UPDATE period_allocation SET gross = 0")
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM posting").fetchone()[0] == before


def _statement(cli, who: str) -> dict:
    result = cli("report", "statement", "--creator", who, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_statements_explain_allocations_and_adjustments_line_by_line(pooled, ledger) -> None:
    from ledger.accounting import statement_lines

    assert pooled("periods", "close", "--period", "2026-Q1").code == 0
    ingest(ledger, [use("a0", "w2", "2026-02-10T00:00:00Z", "4")])  # late: an adjustment
    for fold in (False, True):
        with ledger.connect() as conn:
            if fold:
                statement_lines.fold(conn)
            else:
                service.reallocate_stale(conn)
        for who in ("alice", "bob"):
            statement = _statement(pooled, who)
            assert statement["lines"], statement
            assert all(line["purpose"] == "ai-train" for line in statement["lines"])
            assert sum(D(line["amount"]) for line in statement["lines"]) == \
                D(statement["accrued"]) == balances(pooled)[(who, "USD")]
    works = {line["work"]: line for line in _statement(pooled, "bob")["lines"]}
    assert set(works) == {"w2", "w3"} and works["w3"]["events"] == 1
    # The month the ledger booked them: the allocation in, the re-allocation's new amounts
    # in and its old ones out, line by line.
    from datetime import UTC, datetime

    month = f"{datetime.now(UTC):%Y-%m}"
    for who in ("alice", "bob"):
        result = pooled("report", "statement", "--creator", who, "--period", month,
                        "--format", "json")
        statement = json.loads(result.stdout)
        assert {line["purpose"] for line in statement["lines"]} == {"ai-train"}, statement
        assert sum(D(line["amount"]) for line in statement["lines"]) == D(statement["accrued"])
        assert any(line["events"] < 0 for line in statement["lines"])  # the old run, out


def test_reports_show_pooled_uses_awaiting_allocation_then_their_amounts(pooled,
                                                                        tmp_path) -> None:
    def transparency() -> dict:
        return json.loads(pooled("report", "transparency", "--licensee", "acme-ai",
                                 "--format", "json").stdout)

    status = json.loads(pooled("status", "--format", "json").stdout)
    assert status["outcomes"]["accrued"] == 5
    assert status["awaiting_allocation"] == {"events": 5, "quantity": "12.5"}
    assert transparency()["awaiting_allocation"]["events"] == 5
    assert transparency()["allocated"] == {}
    assert pooled("periods", "close", "--period", "2026-Q1").code == 0
    data = transparency()
    assert data["awaiting_allocation"]["events"] == 1  # Q2's use: not closed yet
    assert data["allocated"]["USD"]["events"] == 4
    assert D(data["allocated"]["USD"]["gross"]) == D(1000)
    grosses = expected_allocation(D(1000), [(SOURCE, "a1", "1"), (SOURCE, "a2", "1"),
                                            (SOURCE, "a3", "1"), (SOURCE, "a4", "2.5")])
    # each use's fee is rounded on its own: the net is not 85% of the pool to the unit
    assert D(data["allocated"]["USD"]["net"]) == sum(
        sum(creator_parts(g, "0.15", {"alice": "1"}).values()) for g in grosses.values())
    page = tmp_path / "t.html"
    assert pooled("report", "transparency", "--licensee", "acme-ai", "--format", "html",
                  "--output", str(page)).code == 0
    assert "1 accrued uses await allocation" in page.read_text()


def test_a_voided_use_leaves_its_closed_period_by_a_re_allocation(pooled, ledger) -> None:
    assert pooled("periods", "close", "--period", "2026-Q1").code == 0
    voided = pooled("events", "void", SOURCE, "a4", "--reason", "reported twice")
    assert voided.code == 0, voided.stdout + voided.stderr
    with ledger.connect() as conn:
        [run] = service.reallocate_stale(conn)
    assert (run.label, run.run, run.events) == ("2026-Q1", 2, 3)
    grosses = expected_allocation(D(1000), [(SOURCE, e, "1") for e in ("a1", "a2", "a3")])
    shares_of = {"a1": {"alice": "1"}, "a2": W2, "a3": {"bob": "1"}}
    assert balances(pooled) == _owed(grosses, shares_of, "0.15")
    assert trial_balance_is_zero(pooled)


def test_the_periods_table_reads_to_the_cent(pooled, monkeypatch) -> None:
    assert pooled("periods", "close", "--period", "2026-Q1").code == 0
    monkeypatch.setenv("COLUMNS", "160")  # a row a line
    table = pooled("periods", "list").stdout
    [q1] = [line for line in table.splitlines() if "2026-Q1" in line]
    assert "1,000.00" in q1 and "closed" in q1 and "1,000.000000000" not in q1
