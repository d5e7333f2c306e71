"""How amounts and counts read for a person (terminal tables and HTML pages). JSON and
CSV carry the exact 9-decimal amounts; these round only what is shown."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from ledger.accounting.money import minor_exponent

SUB_CENT_NOTE = ("Amounts are shown to the cent; the ledger keeps them to 9 decimal places "
                 "(JSON and CSV show them exactly), so shown lines may differ from the total "
                 "by a cent. Sub-cent amounts are kept in the balance, never lost, and paid "
                 "once they add up to a cent.")


def money(amount: Decimal | str | None, currency: str) -> str:
    """``amount`` to the currency's minor unit, with thousands separators."""
    if amount is None:
        return ""
    amount = Decimal(amount)
    step = Decimal(1).scaleb(-minor_exponent(currency))
    shown = amount.quantize(step, rounding=ROUND_HALF_EVEN)
    return f"{shown.copy_abs() if not shown else shown:,}"  # never "-0.00"


def count(value: int | Decimal | str | None) -> str:
    """A count or quantity with thousands separators, exact."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = Decimal(value)
    if isinstance(value, Decimal):
        return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,f}"
    return f"{value:,}"


def label(value: str | None) -> str:
    """A key that may be absent (a model, a licensee), the same in tables and charts."""
    return value if value else "(none)"
