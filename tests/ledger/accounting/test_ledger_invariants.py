"""The database itself refuses what would corrupt the books; its money functions agree
with the Python rules exactly."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.accounting.sql import split_parts_of
from ledger.accounting.money import round_accrual, split_amount
from tests.builders import creator, jsonl, work

D = Decimal


@pytest.fixture
def conn(ledger):
    with ledger.connect() as connection:
        yield connection


def account(conn, kind: str, owner: int = 0, currency: str = "USD") -> int:
    return conn.execute("SELECT ledger_account(%s, %s, %s)", (kind, owner, currency)).fetchone()[0]


def entry(conn, *amounts: tuple[int, str]) -> int:
    entry_id = conn.execute("INSERT INTO journal_entry (kind) VALUES ('accrual') RETURNING id"
                            ).fetchone()[0]
    for account_id, amount in amounts:
        conn.execute("INSERT INTO posting (entry_id, account_id, amount) VALUES (%s, %s, %s)",
                     (entry_id, account_id, D(amount)))
    return entry_id


def test_an_unbalanced_entry_is_refused_at_commit(conn) -> None:
    receivable, revenue = account(conn, "licensee_receivable", 1), account(conn, "platform_revenue")
    entry(conn, (receivable, "1.000000000"), (revenue, "-0.999999999"))
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
        conn.commit()


def test_balancing_is_per_currency(conn) -> None:
    usd, eur = account(conn, "platform_revenue"), account(conn, "platform_revenue", 0, "EUR")
    entry(conn, (usd, "1"), (eur, "-1"))
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.commit()


def test_booked_entries_cannot_be_edited_deleted_or_extended(conn) -> None:
    receivable, revenue = account(conn, "licensee_receivable", 1), account(conn, "platform_revenue")
    entry_id = entry(conn, (receivable, "2"), (revenue, "-2"))
    conn.commit()
    for statement in ("UPDATE posting SET amount = amount * 2",
                      "DELETE FROM posting",
                      "UPDATE journal_entry SET memo = 'edited'",
                      "DELETE FROM journal_entry",
                      "TRUNCATE posting CASCADE"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()
    with pytest.raises(psycopg.errors.CheckViolation, match="same transaction"):
        conn.execute("INSERT INTO posting (entry_id, account_id, amount) VALUES (%s, %s, 0)",
                     (entry_id, revenue))
    conn.rollback()
    assert conn.execute("SELECT sum(amount), count(*) FROM posting").fetchone() == (0, 2)


halves = st.decimals(min_value=D("-1e12"), max_value=D("1e12"), places=12)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=halves)
def test_sql_half_even_rounding_is_python_s(conn, value: Decimal) -> None:
    sql = conn.execute("SELECT round_half_even(%s, 9)", (value,)).fetchone()[0]
    assert sql == round_accrual(value)


@st.composite
def splits(draw: st.DrawFn) -> dict[str, Decimal]:
    count = draw(st.integers(1, 5))
    cuts = sorted(draw(st.lists(st.integers(1, 9_999), min_size=count - 1,
                                max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 10_000]
    names = draw(st.lists(st.sampled_from(["a", "B", "b", "Zed", "Alice", "alice", "x_1"]),
                          min_size=count, max_size=count, unique=True))
    return {n: D(b - a) / D(10_000) for n, a, b in zip(names, bounds, bounds[1:])}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shares=splits(), net=st.decimals(min_value=0, max_value=D("1e12"), places=9))
def test_sql_split_is_python_s_to_the_last_unit(ledger, cli, shares, net) -> None:
    """split_parts() in the database, its set-based form split_parts_of() (used by booking
    and statements) and split_amount() give the same parts; ties go by creator key in
    code-point order in all of them."""
    assert cli("import", "creators", "-", input=jsonl([creator(k) for k in shares])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w-split", {k: str(v) for k, v in shares.items()})])).code == 0
    with ledger.connect() as conn:
        rows = conn.execute("""
            SELECT c.key, p.amount FROM split_version v
            CROSS JOIN LATERAL split_parts(%s, v.id) p JOIN creator c ON c.id = p.creator_id
            WHERE v.work_id = (SELECT id FROM work WHERE key = 'w-split')""", (net,)).fetchall()
        pairs = ("SELECT v.id AS split_version_id, %(net)s::numeric AS net{} "
                 "FROM split_version v JOIN work w ON w.id = v.work_id "
                 "WHERE w.key = 'w-split'")
        set_based = {}
        for with_shares in (False, True):
            query = split_parts_of(
                pairs.format(", v.creator_ids, v.shares" if with_shares else ""),
                with_shares=with_shares)
            set_based[with_shares] = dict(conn.execute(
                f"SELECT c.key, p.amount FROM ({query}) AS p "
                "JOIN creator c ON c.id = p.creator_id", {"net": net}).fetchall())
        conn.execute("SET royalty.maintenance = 'on'")
        conn.execute("TRUNCATE split_share, split_version, work_identifier, work, creator CASCADE")
        conn.commit()
    assert dict(rows) == split_amount(net, shares)
    # the set-based form used by booking and statements: the same parts
    assert set_based[False] == set_based[True] == split_amount(net, shares)
