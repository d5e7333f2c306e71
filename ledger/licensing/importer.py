"""Plan for importing licenses: references, changes and overlaps (contract §4)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from ledger.catalog import repository as catalog_repo
from ledger.catalog.importer import plan_retirement
from ledger.catalog.schemas import LicenseRow
from ledger.imports import Plan
from ledger.licensing import repository as repo
from ledger.licensing.rules import License as Terms
from ledger.licensing.rules import Scope, conflicts


def terms_of(row: LicenseRow) -> Terms:
    return Terms(
        key=row.license, licensee=row.licensee,
        scope=Scope(repo.SPECIFICITY[row.scope.kind], frozenset(row.scope.works or ()),
                    frozenset(row.scope.creators or ())),
        purposes=frozenset(row.purposes), valid_from=row.valid_from, valid_until=row.valid_until,
        currency=row.currency, rate_unit=row.rate.unit, price=price_of(row),
        platform_fee=row.platform_fee, rate_type=row.rate.type, rate=rate_json(rate_of(row)),
        retired=row.retired)


def price_of(row: LicenseRow) -> Decimal:
    """The per-unit price; a pool or revenue-share use is priced at its period's close."""
    return row.rate.price if row.rate.price is not None else Decimal(0)


def rate_of(row: LicenseRow) -> dict:
    return row.rate.model_dump(mode="json", exclude_none=True)


def rate_json(rate: dict) -> str:
    return json.dumps(rate, sort_keys=True, separators=(",", ":"))


def _kept_retirement(terms: Terms, row: LicenseRow, stored: dict) -> Terms:
    """A row without ``retired`` leaves the stored license's retirement as it is."""
    if "retired" in row.model_fields_set or row.license not in stored:
        return terms
    return replace(terms, retired=stored[row.license][1].retired)


def plan_licenses(conn: Connection, rows: list[tuple[int, LicenseRow]], plan: Plan) -> None:
    licensee_ids = catalog_repo.key_ids(conn, catalog_repo.licensee_t, (r.licensee for _, r in rows))
    work_ids = catalog_repo.key_ids(conn, catalog_repo.work_t,
                                    (w for _, r in rows for w in r.scope.works or ()))
    creator_ids = catalog_repo.key_ids(conn, catalog_repo.creator_t,
                                       (c for _, r in rows for c in r.scope.creators or ()))
    stored = repo.load_terms(conn, (r.licensee for _, r in rows))
    in_file = {row.license: (line, _kept_retirement(terms_of(row), row, stored))
               for line, row in rows}
    writes = []
    for line, row in rows:
        problems = []
        if row.licensee not in licensee_ids:
            problems.append(f"licensee: unknown licensee {row.licensee!r}")
        problems += [f"scope.works: unknown work {w!r}" for w in row.scope.works or ()
                     if w not in work_ids]
        problems += [f"scope.creators: unknown creator {c!r}" for c in row.scope.creators or ()
                     if c not in creator_ids]
        terms = in_file[row.license][1]
        for other_key, (_, other) in sorted(stored.items()):
            if other_key not in in_file and conflicts(terms, other):
                problems.append(f"overlaps license {other_key!r} of the same scope kind for "
                                f"licensee {row.licensee!r}, a purpose and a moment")
        for other_key, (other_line, other) in sorted(in_file.items()):
            if other_line < line and conflicts(terms, other):
                problems.append(f"overlaps license {other_key!r} (line {other_line}) of the same "
                                f"scope kind for licensee {row.licensee!r}, a purpose and a moment")
        for problem in problems:
            plan.error(line, problem)
        if problems:
            continue
        existing = stored.get(row.license)
        if existing is not None and existing[1] == terms:
            plan.unchanged += 1
            continue
        if existing is not None and existing[1].licensee != terms.licensee:
            plan.error(line, f"license {row.license!r} belongs to licensee "
                             f"{existing[1].licensee!r}; a license cannot change licensee")
            continue
        values = {"key": row.license, "licensee_id": licensee_ids[row.licensee],
                  "scope_kind": row.scope.kind, "purposes": sorted(row.purposes),
                  "valid_from": row.valid_from, "valid_until": row.valid_until,
                  "currency": row.currency, "rate_type": row.rate.type,
                  "rate_unit": row.rate.unit, "price": price_of(row),
                  "platform_fee": row.platform_fee, "rate": rate_of(row),
                  "retired_at": terms.retired}
        license_id = existing[0] if existing else None
        writes.append((license_id, values, [work_ids[w] for w in row.scope.works or ()],
                       [creator_ids[c] for c in row.scope.creators or ()]))
        plan.changed_licensee_ids.add(licensee_ids[row.licensee])
        if existing is None:
            plan.created += 1
        else:
            plan.updated += 1

    def write(c: Connection) -> None:
        for license_id, values, works, creators in writes:
            repo.write_license(c, license_id, values, works, creators)

    plan.writes.append(write)


def plan_license_retirement(key: str, at: datetime | None):  # noqa: ANN201 - a planner
    """``royalty licenses retire``: the license covers no use from ``at`` on."""
    return plan_retirement(repo.license_t, "license", key, at,
                           lambda plan, old: plan.changed_licensee_ids.add(old["licensee_id"]))
