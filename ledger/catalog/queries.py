"""Read-side queries of the catalog and licenses, as plain JSON-ready dicts."""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.catalog import sql

from ledger.errors import NotFound


def list_creators(conn: Connection) -> list[dict]:
    rows = conn.execute(sql.CREATORS).mappings()
    return [dict(r) for r in rows]


def list_licensees(conn: Connection) -> list[dict]:
    rows = conn.execute(sql.LICENSEES).mappings()
    return [dict(r) for r in rows]


def list_works(conn: Connection, limit: int | None = None) -> list[dict]:
    rows = conn.execute(sql.WORKS, {"limit": limit}).mappings()
    return [dict(r) for r in rows]


def show_work(conn: Connection, key: str) -> dict:
    work = conn.execute(sql.WORK,
                        {"k": key}).mappings().first()
    if work is None:
        raise NotFound(f"no work {key!r}")
    identifiers: dict = {}
    for kind, value in conn.execute(sql.WORK_IDENTIFIERS, {"id": work["id"]}):
        held = identifiers.get(kind)  # several renditions of a kind: a list
        identifiers[kind] = value if held is None else [*(
            [held] if isinstance(held, str) else held), value]
    versions: dict = {}
    for effective_from, creator, share in conn.execute(sql.WORK_SPLITS, {"id": work["id"]}):
        versions.setdefault(effective_from, []).append({"creator": creator, "share": share})
    return {
        "work": work["key"], "title": work["title"], "kind": work["kind"],
        "opt_out": list(work["opt_out"]), "retired_at": work["retired_at"],
        "identifiers": identifiers,
        "splits": [{"effective_from": None if at.year == 1 else at, "shares": shares}
                   for at, shares in versions.items()],
    }


def list_licenses(conn: Connection, licensee: str | None = None) -> list[dict]:
    rows = conn.execute(sql.LICENSES, {"licensee": licensee}).mappings()
    return [dict(r) for r in rows]
