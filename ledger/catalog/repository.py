"""SQL of the catalog: look-ups by key and bulk writes, all set-based."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from ledger.catalog import sql
from ledger.catalog.identifiers import pairs

from ledger.catalog.models import (
    Creator, Licensee, SplitShare, SplitVersion, Work, WorkIdentifier,
)

creator_t = Creator.__table__
licensee_t = Licensee.__table__
work_t = Work.__table__
identifier_t = WorkIdentifier.__table__
version_t = SplitVersion.__table__
share_t = SplitShare.__table__

BEGINNING = datetime.fromisoformat("0001-01-01T00:00:00+00:00")  # stands for -infinity


def key_ids(conn: Connection, table, keys: Iterable[str]) -> dict[str, int]:  # noqa: ANN001
    keys = list(set(keys))
    if not keys:
        return {}
    rows = conn.execute(select(table.c.key, table.c.id).where(table.c.key.in_(keys)))
    return dict(rows.all())


def rows_by_key(conn: Connection, table, keys: Iterable[str]) -> dict[str, dict]:  # noqa: ANN001
    keys = list(set(keys))
    if not keys:
        return {}
    rows = conn.execute(select(table).where(table.c.key.in_(keys))).mappings()
    return {row["key"]: dict(row) for row in rows}


def insert_rows(conn: Connection, table, rows: list[dict]) -> dict[str, int]:  # noqa: ANN001
    """Insert rows that have a ``key``; their new ids by key."""
    if not rows:
        return {}
    result = conn.execute(
        insert(table).returning(table.c.key, table.c.id, sort_by_parameter_order=True), rows)
    return dict(result.all())


def update_rows(conn: Connection, table, rows: list[dict]) -> None:  # noqa: ANN001
    """Update rows by ``id``; every row names the same columns."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "id"]
    stmt = (update(table).where(table.c.id == bindparam("_id"))
            .values({c: bindparam(c) for c in columns}))
    conn.execute(stmt, [{**{c: r[c] for c in columns}, "_id": r["id"]} for r in rows])


@dataclass
class WorkState:
    """What the database holds for one work."""

    id: int
    key: str
    title: str
    kind: str | None
    opt_out: list[str]
    retired_at: datetime | None = None
    identifiers: dict[str, str] = field(default_factory=dict)
    versions: dict[datetime, dict[str, Decimal]] = field(default_factory=dict)

    @property
    def latest(self) -> tuple[datetime, dict[str, Decimal]] | None:
        if not self.versions:
            return None
        moment = max(self.versions)
        return moment, self.versions[moment]


def load_works(conn: Connection, keys: Iterable[str]) -> dict[str, WorkState]:
    states = {key: WorkState(id=row["id"], key=key, title=row["title"], kind=row["kind"],
                             opt_out=list(row["opt_out"]), retired_at=row["retired_at"])
              for key, row in rows_by_key(conn, work_t, keys).items()}
    by_id = {s.id: s for s in states.values()}
    if not by_id:
        return states
    ids = list(by_id)
    for kind, value, work_id in conn.execute(
            select(identifier_t.c.kind, identifier_t.c.value, identifier_t.c.work_id)
            .where(identifier_t.c.work_id.in_(ids))):
        held = by_id[work_id].identifiers.get(kind)
        if held is None:
            by_id[work_id].identifiers[kind] = value
        else:  # several renditions: as ``normalise_all`` spells them
            values = {held} if isinstance(held, str) else set(held)
            by_id[work_id].identifiers[kind] = tuple(sorted(values | {value}))
    shares = conn.execute(sql.SPLITS_OF_WORKS, {"ids": ids})
    for work_id, effective_from, creator, share in shares:
        by_id[work_id].versions.setdefault(effective_from, {})[creator] = share
    return states


def identifier_owners(conn: Connection, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which work key already holds each (kind, value)."""
    pairs = list(set(pairs))
    if not pairs:
        return {}
    rows = conn.execute(sql.IDENTIFIER_OWNERS, {"kinds": [k for k, _ in pairs], "values": [v for _, v in pairs]})
    return {(kind, value): key for kind, value, key in rows}


def replace_identifiers(conn: Connection, work_id: int, identifiers: dict[str, str]) -> None:
    conn.execute(delete(identifier_t).where(identifier_t.c.work_id == work_id))
    add_identifiers(conn, {work_id: identifiers})


def add_identifiers(conn: Connection, by_work: dict[int, dict[str, str]]) -> None:
    rows = [{"kind": k, "value": v, "work_id": work_id}
            for work_id, identifiers in by_work.items() for k, v in pairs(identifiers)]
    if rows:
        conn.execute(insert(identifier_t), rows)


def add_split_versions(conn: Connection, versions: list[tuple[int, datetime, dict[str, int],
                                                              dict[str, Decimal]]]) -> None:
    """Insert (work id, effective from, creator ids by key, shares by creator key)."""
    if not versions:
        return
    ids = conn.execute(
        insert(version_t).returning(version_t.c.id, sort_by_parameter_order=True),
        [{"work_id": w, "effective_from": t} for w, t, _, _ in versions]).scalars().all()
    shares = [{"split_version_id": version_id, "creator_id": creator_ids[c], "share": share}
              for version_id, (_, _, creator_ids, by_creator) in zip(ids, versions, strict=True)
              for c, share in by_creator.items()]
    conn.execute(insert(share_t), shares)


def creators_of_works(conn: Connection, work_ids: Iterable[int]) -> dict[int, set[str]]:
    """Every creator who appears in any split version of each work."""
    out: dict[int, set[str]] = defaultdict(set)
    rows = conn.execute(sql.CREATORS_OF_WORKS, {"ids": list(work_ids)})
    for work_id, key in rows:
        out[work_id].add(key)
    return out


def retire_works_of_creator(conn: Connection, creator_id: int, at: datetime) -> list[int]:
    """Retire at ``at`` the works whose split in force then names the creator (those
    retired earlier stay so); their ids."""
    return list(conn.execute(sql.RETIRE_WORKS_OF_CREATOR, {"creator": creator_id, "at": at})
                .scalars())
