"""SQL of licenses: load terms as domain values, write terms and scopes."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, delete, insert

from ledger.licensing import sql

from ledger.licensing.models import License, LicenseScopeCreator, LicenseScopeWork
from ledger.licensing.rules import License as Terms
from ledger.licensing.rules import Scope, Specificity

license_t = License.__table__
scope_work_t = LicenseScopeWork.__table__
scope_creator_t = LicenseScopeCreator.__table__

SPECIFICITY = {"works": Specificity.WORKS, "creators": Specificity.CREATORS,
               "catalog": Specificity.CATALOG}


def load_terms(conn: Connection, licensee_keys: Iterable[str] | None = None
               ) -> dict[str, tuple[int, Terms]]:
    """Every license (of these licensees, or all) by key: (id, terms)."""
    keys = None if licensee_keys is None else list(set(licensee_keys))
    rows = conn.execute(sql.LICENSES, {"keys": keys}).mappings().all()
    ids = [r["id"] for r in rows]
    works: dict[int, set[str]] = defaultdict(set)
    creators: dict[int, set[str]] = defaultdict(set)
    for license_id, key in conn.execute(sql.SCOPE_WORKS, {"ids": ids}):
        works[license_id].add(key)
    for license_id, key in conn.execute(sql.SCOPE_CREATORS, {"ids": ids}):
        creators[license_id].add(key)
    return {
        r["key"]: (r["id"], Terms(
            key=r["key"], licensee=r["licensee"],
            scope=Scope(SPECIFICITY[r["scope_kind"]], frozenset(works[r["id"]]),
                        frozenset(creators[r["id"]])),
            purposes=frozenset(r["purposes"]), valid_from=r["valid_from"],
            valid_until=r["valid_until"], currency=r["currency"], rate_unit=r["rate_unit"],
            price=r["price"], platform_fee=r["platform_fee"], rate_type=r["rate_type"],
            rate=json.dumps(r["rate"], sort_keys=True, separators=(",", ":")),
            retired=r["retired_at"]))
        for r in rows
    }


def write_license(conn: Connection, license_id: int | None, values: dict,
                  work_ids: list[int], creator_ids: list[int]) -> int:
    """Insert a license (``license_id`` None) or replace its terms and scope."""
    if license_id is None:
        license_id = conn.execute(insert(license_t).returning(license_t.c.id), values).scalar_one()
    else:
        conn.execute(license_t.update().where(license_t.c.id == license_id).values(values))
        conn.execute(delete(scope_work_t).where(scope_work_t.c.license_id == license_id))
        conn.execute(delete(scope_creator_t).where(scope_creator_t.c.license_id == license_id))
    if work_ids:
        conn.execute(insert(scope_work_t),
                     [{"license_id": license_id, "work_id": w} for w in work_ids])
    if creator_ids:
        conn.execute(insert(scope_creator_t),
                     [{"license_id": license_id, "creator_id": c} for c in creator_ids])
    return license_id
