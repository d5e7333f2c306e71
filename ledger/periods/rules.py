"""Accounting periods and the allocation of a period's pool (contract §9), as plain
functions over plain values: the reference model. Production allocates in one set-based
statement (``ledger.periods.sql.ALLOCATE``); the Hypothesis tests in ``tests/ledger/periods``
hold it to ``allocate``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from ledger.accounting.money import QUANTUM, round_accrual

MONTH, QUARTER, YEAR = KINDS = ("month", "quarter", "year")
_MONTHS = {MONTH: 1, QUARTER: 3, YEAR: 12}
_LABEL = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period in UTC: ``[starts_at, ends_at)``."""

    starts_at: datetime
    ends_at: datetime
    kind: str

    @property
    def label(self) -> str:
        if self.kind == YEAR:
            return f"{self.starts_at:%Y}"
        if self.kind == QUARTER:
            return f"{self.starts_at:%Y}-Q{(self.starts_at.month - 1) // 3 + 1}"
        return f"{self.starts_at:%Y-%m}"

    def contains(self, other: Period) -> bool:
        return self.starts_at <= other.starts_at and other.ends_at <= self.ends_at


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def period_of(kind: str, at: datetime) -> Period:
    """The calendar period of ``kind`` containing ``at``."""
    at = at.astimezone(UTC)
    months = _MONTHS[kind]
    start = datetime(at.year, (at.month - 1) // months * months + 1, 1, tzinfo=UTC)
    return Period(start, _add_months(start, months), kind)


def parse_label(text: str) -> Period:
    """``2026-11`` (a month), ``2026-Q4`` (a quarter) or ``2026`` (a year)."""
    found = _LABEL.match(text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a period: use 2026-11, 2026-Q4 or 2026")
    year, month, quarter = found.groups()
    if month:
        return period_of(MONTH, datetime(int(year), int(month), 1, tzinfo=UTC))
    if quarter:
        return period_of(QUARTER, datetime(int(year), 3 * int(quarter) - 2, 1, tzinfo=UTC))
    return period_of(YEAR, datetime(int(year), 1, 1, tzinfo=UTC))


def periods_of(kind: str, valid_from: datetime, valid_until: datetime | None,
               until: datetime) -> list[Period]:
    """The periods of a license valid ``[valid_from, valid_until)`` that start before
    ``until``. Validity cuts the first and last period; they are whole periods still (the
    amount is not prorated)."""
    found = []
    period = period_of(kind, valid_from)
    while period.starts_at < until and (valid_until is None or period.starts_at < valid_until):
        found.append(period)
        period = Period(period.ends_at, _add_months(period.ends_at, _MONTHS[kind]), kind)
    return found


def settle_kind(rate: Mapping) -> str | None:
    """The period a rate is settled by: a pool's or revenue share's, or its minimum's; a
    plain per-unit rate has none."""
    minimum = rate.get("minimum")
    return rate.get("period") or (minimum["period"] if minimum else None)


def pool_of(rate: Mapping, *, revenue: Decimal, priced_gross: Decimal) -> Decimal:
    """The period's pool P: a pool's amount, or the revenue share of the period's revenue,
    at least the minimum; for a per-unit rate with a minimum, the shortfall of what its
    events earned."""
    minimum = Decimal(rate["minimum"]["amount"]) if rate.get("minimum") else None
    if rate["type"] == "per_unit":
        return round_accrual(max(Decimal(0), minimum - priced_gross)) if minimum is not None \
            else Decimal(0)
    if rate["type"] == "pool":
        pool = Decimal(rate["amount"])
    else:
        pool = round_accrual(revenue * Decimal(rate["share"]))
    # amounts are kept at the accrual precision (contract §5)
    return round_accrual(pool if minimum is None else max(pool, minimum))


@dataclass(frozen=True)
class Use:
    source: str
    id: str
    quantity: Decimal


def allocate(pool: Decimal, uses: Sequence[Use]) -> dict[tuple[str, str], Decimal]:
    """Each use's part of ``pool`` in proportion to its quantity: the floor at 9 dp of its
    exact share, then the leftover 1e-9 units one each to the largest remainders, ties by
    ``(source, id)`` in code point order. The parts sum to ``pool`` exactly; with no
    quantity at all, nothing is allocated (an empty result)."""
    total = sum((Fraction(u.quantity) for u in uses), Fraction(0))
    if total == 0:
        return {}
    units = Fraction(pool) / Fraction(QUANTUM)
    if units.denominator != 1:
        raise ValueError(f"pool {pool} is not a whole number of 1e-9 units")
    exact = {(u.source, u.id): units * Fraction(u.quantity) / total for u in uses}
    parts = {key: int(value) for key, value in exact.items()}  # floor: all non-negative
    leftover = int(units) - sum(parts.values())
    by_remainder = sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))
    for key in by_remainder[:leftover]:
        parts[key] += 1
    return {key: Decimal(n) * QUANTUM for key, n in parts.items()}


def revenue_of(reports: Iterable[Decimal]) -> Decimal:
    """A period's revenue: the sum of its reports."""
    return sum(reports, Decimal(0))
