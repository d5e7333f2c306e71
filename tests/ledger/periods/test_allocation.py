"""The allocation of a period's pool (contract §9): Hypothesis properties of the reference
model, and the production SQL held to it on the real PostgreSQL."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.accounting.money import QUANTUM
from ledger.periods import rules, sql
from ledger.periods.rules import Use, allocate

D = Decimal

pools = st.decimals(min_value=0, max_value=D(10) ** 12, places=9, allow_nan=False,
                    allow_infinity=False)
quantities = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(D),
    st.decimals(min_value=0, max_value=D(10) ** 6, places=6, allow_nan=False,
                allow_infinity=False))
# Few sources and short ids, so that equal quantities (ties) are common.
keys = st.tuples(st.sampled_from(["urn:a", "urn:b", "urn:é", "urn:B"]),
                 st.text(alphabet="abcXYZ09-é", min_size=1, max_size=4))


@st.composite
def uses(draw: st.DrawFn, min_size: int = 1) -> list[Use]:
    found = draw(st.dictionaries(keys, quantities, min_size=min_size, max_size=40))
    return [Use(source, id_, q) for (source, id_), q in found.items()]


@given(pools, uses())
def test_the_parts_sum_to_the_pool_exactly(pool: Decimal, drawn: list[Use]) -> None:
    parts = allocate(pool, drawn)
    if sum(u.quantity for u in drawn) == 0:
        assert parts == {}
    else:
        assert sum(parts.values()) == pool
        assert all(part >= 0 and part == part.quantize(QUANTUM) for part in parts.values())


@given(pools, uses())
def test_each_part_is_within_one_unit_of_its_exact_share(pool: Decimal,
                                                         drawn: list[Use]) -> None:
    total = sum(Fraction(u.quantity) for u in drawn)
    parts = allocate(pool, drawn)
    for use in drawn:
        if total == 0:
            continue
        exact = Fraction(pool) * Fraction(use.quantity) / total
        assert abs(Fraction(parts[(use.source, use.id)]) - exact) < Fraction(QUANTUM)


@given(pools, uses(), st.randoms(use_true_random=False))
def test_the_same_uses_in_any_order_get_the_same_parts(pool: Decimal, drawn: list[Use],
                                                      rnd: random.Random) -> None:
    shuffled = list(drawn)
    rnd.shuffle(shuffled)
    assert allocate(pool, shuffled) == allocate(pool, drawn)


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=2, max_value=30),
       st.randoms(use_true_random=False))
def test_ties_go_by_source_then_id_in_code_point_order(units: int, n: int,
                                                       rnd: random.Random) -> None:
    # n equal uses: every remainder is the same, so the leftover units go to the first
    # (source, id) pairs in code point order ("urn:B" < "urn:a" < "urn:é").
    names = [("urn:" + rnd.choice("aBé"), f"{i:03d}") for i in range(n)]
    drawn = [Use(s, i, D(1)) for s, i in names]
    parts = allocate(D(units) * QUANTUM, drawn)
    ranked = sorted(names)
    extra = units % n
    for position, key in enumerate(ranked):
        assert parts[key] == (units // n + (1 if position < extra else 0)) * QUANTUM


def test_three_equal_uses_of_one_unit_each_and_a_worked_example() -> None:
    drawn = [Use("s", "b", D(1)), Use("s", "a", D(1)), Use("s", "c", D(1))]
    assert allocate(D("0.000000002"), drawn) == {
        ("s", "a"): D("0.000000001"), ("s", "b"): D("0.000000001"), ("s", "c"): D(0)}
    # 100 over quantities 1, 2 and 3: exact 16.66…, 33.33…, 50
    drawn = [Use("s", "x", D(1)), Use("s", "y", D(2)), Use("s", "z", D(3))]
    assert allocate(D(100), drawn) == {("s", "x"): D("16.666666667"),
                                       ("s", "y"): D("33.333333333"), ("s", "z"): D(50)}


# --- The production SQL against the reference ------------------------------------------

# A stand-in for usage_event of this connection only: a temporary table shadows the
# permanent one, so the production statement runs unchanged on drawn rows.
SHADOW = """
CREATE TEMP TABLE usage_event (
    id bigint, source text COLLATE "C", event_id text COLLATE "C", licensee_id integer,
    work_id integer, split_version_id integer, license_id integer, outcome text,
    time timestamptz, quantity numeric, gross numeric(38, 9))
"""


@pytest.fixture(scope="module")
def shadow(database_url: str):
    with psycopg.connect(database_url) as conn:
        conn.execute(SHADOW)
        yield conn
        conn.rollback()


def _run_sql(conn: psycopg.Connection, pool: Decimal, fee: Decimal,
             drawn: list[Use]) -> dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]]:
    conn.execute("TRUNCATE usage_event")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO usage_event VALUES (%s, %s, %s, 1, 1, 1, 7, 'accrued', "
            "'2026-02-01T00:00:00Z', %s, NULL)",
            [(i, u.source, u.id, u.quantity) for i, u in enumerate(drawn, start=1)])
    period = rules.parse_label("2026-Q1")
    rows = conn.execute(f"SELECT event_id, gross, fee, net, (SELECT source FROM usage_event "
                        f"WHERE id = x.event_id) FROM ({sql.BARE_SELECT_POOLED}) AS x", {
        "license": 7, "starts": period.starts_at, "ends": period.ends_at,
        "units": int(pool / QUANTUM), "fee": fee}).fetchall()
    by_id = {i: (u.source, u.id) for i, u in enumerate(drawn, start=1)}
    return {by_id[event]: (gross, fee_, net) for event, gross, fee_, net, _ in rows}


@settings(max_examples=60)
@given(pools, st.decimals(min_value=0, max_value=1, places=4), uses())
def test_the_sql_allocation_equals_the_reference(shadow, pool: Decimal, fee: Decimal,
                                                 drawn: list[Use]) -> None:
    got = _run_sql(shadow, pool, fee, drawn)
    expected = allocate(pool, drawn)
    assert {key: gross for key, (gross, _, _) in got.items()} == expected
    for gross, fee_, net in got.values():
        assert fee_ == (gross * fee).quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
        assert net == gross - fee_
