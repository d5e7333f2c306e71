"""Exact money rules of contract §5. Plain functions over ``Decimal``; no I/O.

This is the reference model: production prices events and splits net amounts in SQL
(``ledger.matching.sql``, ``ledger.accounting.sql``), and the Hypothesis tests hold that
SQL to these functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext

ACCRUAL_PLACES = 9
QUANTUM = Decimal(1).scaleb(-ACCRUAL_PLACES)  # 1e-9 of the major unit
# Enough digits that no product of a quantity and a price is rounded before we say so.
EXACT = Context(prec=80, rounding=ROUND_HALF_EVEN)

# ISO 4217 minor units for the currencies whose exponent is not 2.
_MINOR_EXPONENT = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def minor_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return _MINOR_EXPONENT.get(currency.upper(), 2)


def round_accrual(value: Decimal) -> Decimal:
    """Half-even rounding to the 9 dp accrual precision."""
    with localcontext(EXACT):
        return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def floor_accrual(value: Decimal) -> Decimal:
    with localcontext(EXACT):
        return value.quantize(QUANTUM, rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class Priced:
    gross: Decimal
    fee: Decimal
    net: Decimal


def price_event(quantity: Decimal, price: Decimal, platform_fee: Decimal) -> Priced:
    """gross = round(q × price), fee = round(gross × platform_fee), net = gross − fee."""
    with localcontext(EXACT):
        gross = round_accrual(quantity * price)
        fee = round_accrual(gross * platform_fee)
        return Priced(gross=gross, fee=fee, net=gross - fee)


def split_amount(net: Decimal, shares: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``net`` by ``shares`` (summing to 1): floor each exact share at 9 dp, then hand
    the leftover 1e-9 units one each to the largest fractional remainders, ties by key.

    The parts always sum to ``net`` exactly.
    """
    if not shares:
        raise ValueError("a split needs at least one share")
    with localcontext(EXACT):
        exact = {key: net * share for key, share in shares.items()}
        parts = {key: floor_accrual(value) for key, value in exact.items()}
        leftover = int((net - sum(parts.values())) / QUANTUM)
        by_remainder = sorted(shares, key=lambda k: (-(exact[k] - parts[k]), k))
        for key in by_remainder[:leftover]:
            parts[key] += QUANTUM
        return parts


def payable(balance: Decimal, currency: str) -> Decimal:
    """What a payout moves: the balance floored to the currency's minor unit."""
    if balance <= 0:
        return Decimal(0)
    with localcontext(EXACT):
        return balance.quantize(Decimal(1).scaleb(-minor_exponent(currency)), rounding=ROUND_FLOOR)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Whole minor units of an amount already floored to the minor unit."""
    scaled = amount.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)
