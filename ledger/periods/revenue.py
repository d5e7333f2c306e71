"""Revenue reports (contract §9): ``io.royaltyledger.revenue.v1`` CloudEvents, from the
worker (routing key ``revenue.<licensee>``) or ``royalty revenue import FILE``.

A report names a revenue-share license and a period that fits in one of its periods (a
month in a quarterly license, say); its amount is in the license's currency. Reports are
deduplicated by ``(source, id)`` like usage: the same pair with the same content again is
a duplicate, with other content a conflicting duplicate (the first one stands)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import psycopg

from ledger import locks
from ledger.periods import rules, sql

REVENUE_TYPE = "io.royaltyledger.revenue.v1"
ROUTING_PREFIX = "revenue."
DATA_FIELDS = ("licensee", "license", "period", "amount", "currency")
# Dead-letter reasons, as usage's (contract §3).
INVALID_EVENT, UNKNOWN_LICENSEE, CONFLICTING_DUPLICATE = (
    "invalid_event", "unknown_licensee", "conflicting_duplicate")


def routing_key(licensee: str) -> str:
    return ROUTING_PREFIX + licensee


@dataclass(frozen=True)
class Report:
    source: str
    id: str
    licensee_id: int
    license_id: int
    period: str
    starts_at: datetime
    amount: Decimal
    currency: str
    digest: str


@dataclass(frozen=True)
class Problem:
    reason: str
    field: str | None
    detail: str
    source: str | None = None
    id: str | None = None


@dataclass
class Stored:
    accepted: int = 0
    duplicates: int = 0
    # (index in the given events, problem)
    problems: list[tuple[int, Problem]] = field(default_factory=list)


def _text(data: dict, name: str, where: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise _Invalid(where, f"{where} must be a non-empty string")
    return value


class _Invalid(Exception):
    def __init__(self, where: str, detail: str, reason: str = INVALID_EVENT) -> None:
        super().__init__(detail)
        self.where, self.detail, self.reason = where, detail, reason


def licenses_for(conn: psycopg.Connection, events: list[Any]) -> dict[str, dict]:
    keys = sorted({e["data"]["license"] for e in events if isinstance(e, dict)
                   and isinstance(e.get("data"), dict)
                   and isinstance(e["data"].get("license"), str)})
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return {r["key"]: r for r in cur.execute(sql.REVENUE_LICENSES, {"keys": keys})}


def validate(event: Any, licenses: dict[str, dict], licensees: dict[str, int]) -> Report:
    """The report an event makes, or ``_Invalid`` with the field at fault."""
    if not isinstance(event, dict):
        raise _Invalid("event", "an event must be a JSON object")
    if event.get("specversion") != "1.0":
        raise _Invalid("specversion", 'specversion must be "1.0"')
    if event.get("type") != REVENUE_TYPE:
        raise _Invalid("type", f"type must be {REVENUE_TYPE!r}")
    source, id_ = _text(event, "source", "source"), _text(event, "id", "id")
    data = event.get("data")
    if not isinstance(data, dict):
        raise _Invalid("data", "data must be an object")
    licensee = _text(data, "licensee", "data.licensee")
    if licensee not in licensees:
        raise _Invalid("data.licensee", f"unknown licensee {licensee!r}", UNKNOWN_LICENSEE)
    key = _text(data, "license", "data.license")
    found = licenses.get(key)
    if found is None or found["licensee"] != licensee:
        raise _Invalid("data.license", f"licensee {licensee!r} has no license {key!r}")
    if found["rate"]["type"] != "revenue_share":
        raise _Invalid("data.license", f"license {key!r} is not a revenue share")
    try:
        reported = rules.parse_label(_text(data, "period", "data.period"))
    except ValueError as exc:
        raise _Invalid("data.period", str(exc)) from None
    container = rules.period_of(found["rate"]["period"], reported.starts_at)
    if not container.contains(reported):
        raise _Invalid("data.period", f"period {data['period']} does not fit in one "
                                      f"{found['rate']['period']} of license {key!r}")
    if not (container.starts_at < (found["valid_until"] or container.ends_at)
            and found["valid_from"] < container.ends_at):
        raise _Invalid("data.period", f"license {key!r} is not valid in {data['period']}")
    raw = data.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise _Invalid("data.amount", "amount must be a decimal string")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise _Invalid("data.amount", f"{raw!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal(10) ** 15:
        raise _Invalid("data.amount", "amount must be ≥ 0 and below 10^15")
    if amount != amount.quantize(Decimal("1e-9")):
        raise _Invalid("data.amount", "amount has more than 9 decimal places")
    currency = _text(data, "currency", "data.currency")
    if currency != found["currency"]:
        raise _Invalid("data.currency", f"currency {currency} is not license {key!r}'s "
                                        f"({found['currency']})")
    digest = hashlib.sha256(orjson.dumps(
        [licensee, key, reported.label, str(amount.normalize()), currency])).hexdigest()
    return Report(source, id_, licensees[licensee], found["id"], data["period"].strip(),
                  reported.starts_at, amount, currency, digest)


def check(conn: psycopg.Connection, events: list[Any], licensees: dict[str, int]
          ) -> tuple[list[tuple[int, Report]], Stored]:
    """Validate every event: the valid reports not stored yet (by index), and the
    duplicates and problems, conflicting duplicates included. Nothing is written."""
    licenses = licenses_for(conn, events)
    result = Stored()
    reports: list[tuple[int, Report]] = []
    first: dict[tuple[str, str], Report] = {}
    for index, event in enumerate(events):
        try:
            report = validate(event, licenses, licensees)
        except _Invalid as exc:
            source = event.get("source") if isinstance(event, dict) else None
            id_ = event.get("id") if isinstance(event, dict) else None
            result.problems.append((index, Problem(
                exc.reason, exc.where, exc.detail, source if isinstance(source, str) else None,
                id_ if isinstance(id_, str) else None)))
            continue
        seen = first.get((report.source, report.id))
        if seen is None:
            first[(report.source, report.id)] = report
            reports.append((index, report))
        elif seen.digest == report.digest:
            result.duplicates += 1
        else:
            result.problems.append((index, _conflict(report)))
    return _not_stored(conn, reports, result), result


def _not_stored(conn: psycopg.Connection, reports: list[tuple[int, Report]],
                result: Stored) -> list[tuple[int, Report]]:
    """The reports not stored yet; one stored with the same content is a duplicate, with
    other content a conflicting duplicate."""
    if not reports:
        return reports
    stored = {(s, i): d for s, i, d in conn.execute(sql.STORED_REVENUE, {
        "sources": [r.source for _, r in reports], "ids": [r.id for _, r in reports]})}
    new = []
    for index, report in reports:
        digest = stored.get((report.source, report.id))
        if digest is None:
            new.append((index, report))
        elif digest == report.digest:
            result.duplicates += 1
        else:
            result.problems.append((index, _conflict(report)))
    return new


def _conflict(report: Report) -> Problem:
    return Problem(CONFLICTING_DUPLICATE, None, "same source and id as an earlier revenue "
                   "report with other content; the first one stands", report.source, report.id)


def store(conn: psycopg.Connection, reports: list[tuple[int, Report]], result: Stored) -> Stored:
    """Insert the new reports; one stored already is a duplicate, or a conflicting one."""
    if not reports:
        return result
    # as an ingest batch does: a period's close (which takes it exclusively) sees every
    # report committed before it, and every later one is newer than what it saw
    locks.hold(conn, locks.CATALOG_LOCK, shared=True)
    rows = [r for _, r in reports]
    inserted = {(s, i) for s, i in conn.execute(sql.INSERT_REVENUE, {
        "sources": [r.source for r in rows], "ids": [r.id for r in rows],
        "licensees": [r.licensee_id for r in rows], "licenses": [r.license_id for r in rows],
        "periods": [r.period for r in rows], "starts": [r.starts_at for r in rows],
        "amounts": [r.amount for r in rows], "currencies": [r.currency for r in rows],
        "digests": [r.digest for r in rows]}).fetchall()}
    result.accepted += len(inserted)
    # stored by another writer since ``check`` looked
    _not_stored(conn, [(index, r) for index, r in reports if (r.source, r.id) not in inserted],
                result)
    return result
