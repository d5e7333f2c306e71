"""Contract §5 money rules, exactly, with Hypothesis properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounting.money import QUANTUM, payable, price_event, round_accrual, split_amount, to_minor_units

D = Decimal


def test_half_even_at_nine_places() -> None:
    assert round_accrual(D("0.0000000005")) == D("0.000000000")
    assert round_accrual(D("0.0000000015")) == D("0.000000002")
    assert round_accrual(D("0.00000000250001")) == D("0.000000003")


def test_price_event_gross_fee_net() -> None:
    priced = price_event(D("1"), D("0.0023"), D("0.15"))
    assert (priced.gross, priced.fee, priced.net) == (D("0.002300000"), D("0.000345000"),
                                                      D("0.001955000"))
    # 3 × 0.0000000015 = 0.0000000045 → half-even → 0.000000004
    assert price_event(D("3"), D("0.0000000015"), D("0")).gross == D("0.000000004")


def test_split_floor_then_largest_remainder_ties_by_key() -> None:
    # 10 units: exact parts 3.333, 3.333, 3.334 → floors 3, 3, 3; the leftover unit goes
    # to the largest remainder.
    parts = split_amount(D("0.000000010"), {"carol": D("0.3333"), "alice": D("0.3333"),
                                            "bob": D("0.3334")})
    assert parts == {"alice": D("0.000000003"), "bob": D("0.000000004"),
                     "carol": D("0.000000003")}
    # One unit over two equal halves: a tie, broken by creator key.
    assert split_amount(D("0.000000001"), {"carol": D("0.5"), "alice": D("0.5")}) == {
        "alice": D("0.000000001"), "carol": D("0.000000000")}


def test_split_seventy_thirty() -> None:
    assert split_amount(D("0.001955000"), {"alice": D("0.7"), "bob": D("0.3")}) == {
        "alice": D("0.001368500"), "bob": D("0.000586500")}


def test_payout_floors_to_minor_unit() -> None:
    assert payable(D("10.129999999"), "USD") == D("10.12")
    assert payable(D("10.999999999"), "JPY") == D("10")
    assert payable(D("-1"), "USD") == 0
    assert to_minor_units(D("10.12"), "USD") == 1012
    with pytest.raises(ValueError):
        to_minor_units(D("10.125"), "USD")


amounts = st.decimals(min_value=0, max_value=D(10) ** 12, places=9, allow_nan=False,
                      allow_infinity=False)


@st.composite
def share_sets(draw: st.DrawFn) -> dict[str, Decimal]:
    """1 to 6 positive shares, in millionths, that sum to exactly 1."""
    count = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=count - 1,
                                max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 1_000_000]
    shares = [D(b - a) / D(1_000_000) for a, b in zip(bounds, bounds[1:])]
    keys = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=count,
                         max_size=count, unique=True))
    return dict(zip(keys, shares, strict=True))


@given(net=amounts, shares=share_sets())
def test_parts_sum_to_net_and_stay_within_one_unit(net: Decimal, shares: dict) -> None:
    assert sum(shares.values()) == 1
    parts = split_amount(net, shares)
    assert sum(parts.values()) == net
    for key, share in shares.items():
        assert abs(parts[key] - net * share) < QUANTUM
        assert parts[key] == parts[key].quantize(QUANTUM)


@given(net=amounts, shares=share_sets())
def test_split_is_deterministic_whatever_the_order(net: Decimal, shares: dict) -> None:
    reversed_shares = dict(reversed(list(shares.items())))
    assert split_amount(net, shares) == split_amount(net, reversed_shares)


@given(quantity=st.decimals(min_value=0, max_value=D(10) ** 6, places=6),
       price=st.decimals(min_value=0, max_value=D(1000), places=9),
       fee=st.decimals(min_value=0, max_value=1, places=4))
def test_priced_event_balances(quantity: Decimal, price: Decimal, fee: Decimal) -> None:
    priced = price_event(quantity, price, fee)
    assert priced.gross == priced.fee + priced.net
    assert priced.net >= 0 and priced.fee >= 0
    assert abs(priced.gross - quantity * price) <= QUANTUM / 2
