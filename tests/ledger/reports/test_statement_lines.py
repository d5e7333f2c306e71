"""The folded all-time statement lines are the lines grouped from the events that stand,
however the folds fall between bookings and re-evaluations."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.accounting import statement_lines as folding
from ledger.reports import sql as report_sql
from ledger.reports import statement, statement_lines
from ledger.reports.ledger_reports import ACCRUAL_KINDS
from tests.builders import jsonl, sha, work
from tests.ledger.reports.scenario import W4, Use, _drain, _ingest, build


def creator_accounts(conn) -> list[tuple[int, str]]:
    return conn.execute("SELECT owner_id, currency FROM account WHERE kind = 'creator_payable' "
                        "ORDER BY 1, 2").fetchall()


def assert_folded_lines_stand(ledger) -> int:
    """Each creator's lines, folded or not, equal the lines grouped from the events; the
    number of lines compared."""
    compared = 0
    with ledger.connect() as conn:
        for creator_id, currency in creator_accounts(conn):
            params = {"creator": creator_id, "currency": currency, "start": None,
                      "end": None, "accrual": list(ACCRUAL_KINDS)}
            expected = statement._lines(conn, params, all_time=True)
            got = statement_lines.lines(conn, creator_id, currency)
            assert got == sorted(got, key=statement_lines._order)
            assert sorted(got, key=statement_lines._order) == sorted(
                expected, key=statement_lines._order), (creator_id, currency)
            compared += len(got)
        conn.rollback()
    return compared


def fold(ledger) -> int:
    with ledger.connect() as conn:
        return folding.fold(conn, entries_per_commit=1)


@pytest.mark.parametrize("folds", [(), (0, 1, 2, 3, 4, 5, 6), (1,), (3,), (0, 4), (2, 5)])
def test_folded_lines_are_the_lines_of_the_events(cli, ledger, folds) -> None:
    done = []

    def step() -> None:
        if len(done) in folds:
            fold(ledger)
        done.append(assert_folded_lines_stand(ledger))

    build(cli, ledger, between=step)  # 0-4: three batches, two rounds of re-evaluation
    assert cli("import", "works", "-", input=jsonl([
        work("w4", W4, identifiers={"sha256": sha("w4-remastered")})])).code == 0
    _drain(ledger)
    step()  # 5: w4's uses match nothing any more: their lines go
    _ingest(ledger, [Use("e20", "acme", "w4-remastered", "video-2", "ai-train",
                         "2026-11-02T10:00:00Z", "3")])
    step()  # 6: a use of the new identifier
    fold(ledger)
    assert assert_folded_lines_stand(ledger) == done[-1]
    assert all(done) and len(done) == 7
    with ledger.connect() as conn:
        assert conn.execute(report_sql.PENDING).fetchall() == []


def test_lines_whose_terms_are_not_listed_are_read_as_text(scenario, ledger,
                                                            monkeypatch) -> None:
    """A purpose missing from the usage tally (say, before a retally) is read as text, in
    the same transaction, though the coded rows were still streaming (a row per chunk)."""
    monkeypatch.setattr(statement_lines, "_CHUNK", 1)
    fold(ledger)
    with ledger.connect() as conn:
        conn.execute("DELETE FROM usage_tally")
        terms = conn.execute(report_sql.TERMS).fetchone()
        assert terms[1] == []
        conn.commit()
    assert assert_folded_lines_stand(ledger) > 0


def test_text_is_read_after_a_coded_result_cut_short(scenario, ledger, monkeypatch) -> None:
    """An unlisted value met while the server is still sending the coded lines: that result
    is read to its end (closing it early would cancel it, and the transaction with it),
    then the lines are read as text."""
    fold(ledger)
    monkeypatch.setattr(report_sql, "FOLDED_CODED", """
        SELECT 'w', NULL::integer, NULL, NULL::integer, 0, 1, '1', NULL::integer, '0'
        FROM generate_series(1, 300000)
        WHERE %(creator)s::integer IS NOT NULL AND %(currency)s::text IS NOT NULL""")
    assert assert_folded_lines_stand(ledger) > 0


def test_a_statement_reads_folded_and_unfolded_lines_alike(scenario, ledger) -> None:
    with ledger.connect() as conn:
        entries = len(conn.execute(report_sql.PENDING).fetchall())
    before = scenario.cli("report", "statement", "--creator", "alice", "--format", "json")
    folding = scenario.cli("db", "fold")
    assert folding.code == 0 and f"{entries} booking entries folded" in folding.stdout
    assert entries > 0 and fold(ledger) == 0  # nothing left
    after = scenario.cli("report", "statement", "--creator", "alice", "--format", "json")
    assert before.code == after.code == 0 and before.stdout == after.stdout
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM statement_line").fetchone()[0] > 0


def test_history_booked_before_the_tables_existed_is_folded(scenario, ledger) -> None:
    """Right after the upgrade that adds the tables, nothing is folded, re-evaluation
    entries included; statements read it all from the events until the first fold."""
    with ledger.connect() as conn:
        conn.execute("TRUNCATE statement_line, statement_folded")
        kinds = {r[0] for r in conn.execute(
            "SELECT j.kind FROM journal_entry j WHERE j.id IN (SELECT entry_id FROM usage_event)")}
        conn.commit()
    assert kinds == {"accrual", "reevaluation"}
    compared = assert_folded_lines_stand(ledger)
    assert fold(ledger) > 0 and assert_folded_lines_stand(ledger) == compared
    assert scenario.cli("import", "works", "-", input=jsonl([
        work("w4", W4, identifiers={"sha256": sha("w4-remastered")})])).code == 0
    _drain(ledger)  # reverses evaluations booked before the upgrade, and folded since
    assert assert_folded_lines_stand(ledger) > 0


def test_a_statement_outside_one_snapshot_groups_the_events(scenario, ledger,
                                                             monkeypatch) -> None:
    with ledger.connect() as conn:
        conn.execute("SELECT 1")  # a READ COMMITTED transaction under way
        expected = statement.statement(conn, "alice", None)
        conn.rollback()

    def several_snapshots(*args: object) -> list:
        raise AssertionError("folded lines read outside one snapshot")

    monkeypatch.setattr(statement_lines, "lines", several_snapshots)
    with ledger.connect() as conn:
        conn.execute("SELECT 1")
        assert statement.statement(conn, "alice", None) == expected


def test_usage_months_are_spelt_as_postgresql_spells_them() -> None:
    assert statement_lines._month(date(999, 6, 1)) == "0999-06"
    assert statement_lines._Months()[(date(2026, 11, 1) - date(2000, 1, 1)).days] == "2026-11"

