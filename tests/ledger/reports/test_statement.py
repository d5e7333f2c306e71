"""Creator statements: the contract shape, exact totals tied to the ledger, booking-month
periods with re-evaluations across them, currencies, and the CLI's formats."""

from __future__ import annotations

import csv
import io
import itertools
import json
from decimal import Decimal

from ledger.matching import reevaluation
from ledger.reports.display import money
from ledger.reports.statement import statement
from tests.builders import jsonl, sha, work
from tests.ledger.reports.scenario import (
    ACME,
    ACME_W3,
    LUMEN,
    PAID,
    W2_AFTER,
    W2_BEFORE,
    W3,
    W4,
    part,
)

D = Decimal
SHAPE = {"creator", "period", "currency", "opening_balance", "accrued", "paid",
         "closing_balance", "lines"}
LINE_SHAPE = {"work", "licensee", "model", "purpose", "usage_period", "events", "quantity",
              "unit", "amount", "match"}  # contract §7's line, and how it matched (§8)


def report(cli, *args: str) -> dict:
    result = cli("report", "statement", *args, "--format", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def line(data: dict, work: str, used_in: str, negative: bool = False, **keys: str) -> dict:
    found = [x for x in data["lines"] if x["work"] == work and x["usage_period"] == used_in
             and (x["events"] < 0) == negative
             and all(x[k] == v for k, v in keys.items())]
    assert len(found) == 1, (work, used_in, negative, data["lines"])
    return found[0]


def assert_adds_up(data: dict) -> None:
    assert set(data) == SHAPE
    assert all(set(x) == LINE_SHAPE for x in data["lines"])
    assert not [x for x in data["lines"] if x["purpose"] == "adjustment"]
    assert sum(D(x["amount"]) for x in data["lines"]) == D(data["accrued"])
    assert D(data["closing_balance"]) == (D(data["opening_balance"]) + D(data["accrued"])
                                          - D(data["paid"]))


def test_all_time_statement_matches_the_ledger_line_by_line(scenario) -> None:
    cli = scenario.cli
    balances = {(r["creator"], r["currency"]): r
                for r in json.loads(cli("report", "balances", "--format", "json").stdout)}
    for who, currency in balances:
        data = report(cli, "--creator", who, "--currency", currency)
        assert_adds_up(data)
        assert data["period"] is None and data["opening_balance"] == "0.000000000"
        for key in ("accrued", "paid"):
            assert D(data[key]) == D(balances[who, currency][key])
        assert D(data["closing_balance"]) == D(balances[who, currency]["balance"])
        assert all(x["events"] > 0 for x in data["lines"])  # all time: only what stands

    alice = report(cli, "--creator", "alice")
    assert alice["currency"] == "USD" and D(alice["paid"]) == PAID
    assert line(alice, "w1", "2026-09") == {
        "work": "w1", "licensee": "acme", "model": "video-2", "purpose": "ai-train",
        "usage_period": "2026-09", "events": 1, "quantity": "10", "unit": "uses",
        "amount": str(part("alice", "10", ACME, {"alice": "1"})), "match": "exact"}
    # e3 re-split from October, e8 booked after: both at the new split.
    assert D(line(alice, "w2", "2026-10")["amount"]) == (
        part("alice", "7", ACME, W2_AFTER) + part("alice", "2", ACME, W2_AFTER))
    # w3 repriced by its works-scope license; w4 registered late (back-pay).
    assert D(line(alice, "w3", "2026-10")["amount"]) == part("alice", "5", ACME_W3, W3)
    assert D(line(alice, "w4", "2026-09")["amount"]) == part("alice", "2", ACME, W4)
    assert {x["model"] for x in alice["lines"]} == {"video-2", "text-1"}


def test_periods_are_booking_months_and_chain(scenario) -> None:
    cli = scenario.cli
    m1, m2, m3 = scenario.months
    for who in ("alice", "bob", "dave"):
        whole = report(cli, "--creator", who)
        months = [report(cli, "--creator", who, "--period", m) for m in scenario.months]
        for data in months:
            assert_adds_up(data)
        assert months[0]["opening_balance"] == "0.000000000"
        for before, after in itertools.pairwise(months):
            assert after["opening_balance"] == before["closing_balance"]
        assert months[-1]["closing_balance"] == whole["closing_balance"]
        assert sum(D(m["accrued"]) for m in months) == D(whole["accrued"])
        assert sum(D(m["paid"]) for m in months) == D(whole["paid"])

    bob = [report(cli, "--creator", "bob", "--period", m) for m in (m1, m2, m3)]
    # Month 1 booked e3 at the old split; month 2 reverses it and books it at the new one
    # (with e8, booked in month 2), and pays back w4's use of September.
    assert D(line(bob[0], "w2", "2026-10")["amount"]) == part("bob", "7", ACME, W2_BEFORE)
    reversed_ = line(bob[1], "w2", "2026-10", negative=True)
    assert (reversed_["events"], reversed_["quantity"]) == (-1, "-7")
    assert D(reversed_["amount"]) == -part("bob", "7", ACME, W2_BEFORE)
    rebooked = line(bob[1], "w2", "2026-10")
    assert (rebooked["events"], rebooked["quantity"]) == (2, "9")
    assert D(rebooked["amount"]) == part("bob", "7", ACME, W2_AFTER) + part("bob", "2", ACME,
                                                                            W2_AFTER)
    assert D(line(bob[1], "w4", "2026-09")["amount"]) == part("bob", "2", ACME, W4)
    assert bob[2]["lines"] == [] and bob[2]["accrued"] == "0.000000000"

    # Month 3 reprices w3: e4 (booked in month 1) and e10 (month 2) are reversed and rebooked.
    dave = report(cli, "--creator", "dave", "--period", m3)
    assert D(line(dave, "w3", "2026-10", negative=True)["amount"]) == -part("dave", "5", ACME, W3)
    assert D(line(dave, "w3", "2026-11", negative=True)["amount"]) == -part("dave", "3", ACME, W3)
    assert D(line(dave, "w3", "2026-10")["amount"]) == part("dave", "5", ACME_W3, W3)
    assert D(dave["accrued"]) == (part("dave", "5", ACME_W3, W3) + part("dave", "3", ACME_W3, W3)
                                  - part("dave", "5", ACME, W3) - part("dave", "3", ACME, W3))
    alice = report(cli, "--creator", "alice", "--period", m3)
    assert D(alice["paid"]) == PAID


def test_quiet_months_and_other_currencies(scenario) -> None:
    cli = scenario.cli
    whole = report(cli, "--creator", "alice")
    before = report(cli, "--creator", "alice", "--period", "2020-01")
    assert before["lines"] == [] and before["closing_balance"] == "0.000000000"
    after = report(cli, "--creator", "alice", "--period", "2099-12")
    assert after["lines"] == [] and after["accrued"] == "0.000000000"
    assert after["opening_balance"] == after["closing_balance"] == whole["closing_balance"]

    eur = report(cli, "--creator", "alice", "--currency", "eur")
    assert_adds_up(eur)
    assert eur["currency"] == "EUR"
    assert {(x["licensee"], x["model"], x["purpose"]) for x in eur["lines"]} == {
        ("lumen", "search-x", "ai-input")}
    assert D(eur["accrued"]) == (part("alice", "4", LUMEN, {"alice": "1"})
                                 + part("alice", "6", LUMEN, {"alice": "1"}))
    # Back-pay of e5 (unlicensed until lumen's license came) is booked in month 2.
    m2 = report(cli, "--creator", "alice", "--currency", "EUR", "--period", scenario.months[1])
    assert [x["usage_period"] for x in m2["lines"]] == ["2026-10", "2026-11"]


def test_library_call_reads_one_snapshot(scenario, ledger) -> None:
    with ledger.connect() as conn:
        data = statement(conn, "bob", scenario.months[1])
    assert data["creator"] == "bob" and isinstance(data["accrued"], Decimal)
    assert sum(x["amount"] for x in data["lines"]) == data["accrued"]


def test_bad_input_exits_2_with_a_reason(scenario) -> None:
    cli = scenario.cli
    for period in ("2026-13", "2026-1", "november", "2026-11-01"):
        result = cli("report", "statement", "--creator", "alice", "--period", period)
        assert result.code == 2 and "YYYY-MM" in result.stderr, (period, result.stderr)
    result = cli("report", "statement", "--creator", "nobody")
    assert result.code == 2 and "nobody" in result.stderr
    result = cli("report", "statement", "--creator", "bob", "--currency", "JPY")
    assert result.code == 2 and "JPY" in result.stderr
    result = cli("report", "balances", "--format", "html")
    assert result.code == 2


def test_csv_has_one_row_per_line(scenario, tmp_path) -> None:
    cli = scenario.cli
    month = scenario.months[1]
    data = report(cli, "--creator", "bob", "--period", month)
    out = tmp_path / "bob.csv"
    result = cli("report", "statement", "--creator", "bob", "--period", month,
                 "--format", "csv", "--output", str(out))
    assert result.code == 0 and result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == len(data["lines"])
    assert set(rows[0]) == {"creator", "period", "currency"} | LINE_SHAPE
    assert {r["creator"] for r in rows} == {"bob"} and {r["period"] for r in rows} == {month}
    assert sum(D(r["amount"]) for r in rows) == D(data["accrued"])
    assert any(r["events"].startswith("-") for r in rows)
    quiet = cli("report", "statement", "--creator", "bob", "--period", "2020-01",
                "--format", "csv")
    assert quiet.code == 0 and quiet.stdout.splitlines() == [
        "creator,period,currency,work,licensee,model,purpose,usage_period,events,quantity,"
        "unit,amount"]


def test_table_reads_at_80_columns(scenario, tmp_path) -> None:
    cli = scenario.cli
    month = scenario.months[2]
    data = report(cli, "--creator", "alice", "--period", month)
    result = cli("report", "statement", "--creator", "alice", "--period", month)
    assert result.code == 0
    assert max(len(x) for x in result.stdout.splitlines()) <= 80
    for figure in ("opening_balance", "accrued", "paid", "closing_balance"):
        assert money(data[figure], "USD") in result.stdout  # to the cent
    assert "w3" in result.stdout and "acme" in result.stdout and "EUR" in result.stdout
    out = tmp_path / "alice.txt"
    assert cli("report", "statement", "--creator", "alice", "--period", month,
               "--output", str(out)).code == 0
    text = out.read_text()
    assert money(data["closing_balance"], "USD") in text
    assert max(len(x) for x in text.splitlines()) <= 80


def test_a_reversal_that_names_no_work_is_an_adjustment_line(scenario, ledger) -> None:
    cli = scenario.cli
    # w4 gets other identifiers: e6 (booked in month 2 as w4) matches nothing any more.
    assert cli("import", "works", "-", input=jsonl([
        work("w4", W4, identifiers={"sha256": sha("w4-remastered")})])).code == 0
    with ledger.connect() as conn:
        reevaluation.drain(conn)
    month = report(cli, "--creator", "bob", "--period", scenario.months[2])
    assert month["lines"] == [{
        "work": None, "licensee": None, "model": None, "purpose": "adjustment",
        "usage_period": None, "events": 0, "quantity": "0", "unit": None,
        "amount": str(-part("bob", "2", ACME, W4)), "match": None}]
    assert D(month["accrued"]) == -part("bob", "2", ACME, W4)
    whole = report(cli, "--creator", "bob")
    assert_adds_up(whole)  # over all time e6 was booked and reversed: nothing to adjust
    assert "w4" not in {x["work"] for x in whole["lines"]}
