"""Plans for importing creators, licensees and works (contract §4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import Connection

from ledger.catalog import repository as repo
from ledger.catalog.identifiers import pairs
from ledger.catalog.schemas import CreatorRow, LicenseeRow, WorkRow
from ledger.imports import Plan


def _sorted(tokens: Sequence[str]) -> list[str]:
    return sorted(set(tokens))


def _given(row, name: str, old: dict | None,  # noqa: ANN001, ANN202 - a Row, its value
           column: str | None = None):
    """A field a row may leave out: absent, its ``column`` (the same name by default) is
    left as it is (None for a new row); given, even as null, it is set."""
    if name in row.model_fields_set:
        return getattr(row, name)
    return None if old is None else old[column or name]


_UNCHECKED = {"payouts_enabled": False, "requirements_due": [], "account_updated_at": None}


def plan_creators(conn: Connection, rows: list[tuple[int, CreatorRow]], plan: Plan) -> None:
    existing = repo.rows_by_key(conn, repo.creator_t, (r.creator for _, r in rows))
    new, changed, new_account = [], [], []
    retiring: list[tuple[int, object]] = []
    for _, row in rows:
        old = existing.get(row.creator)
        values = {"key": row.creator, "name": row.name, "email": row.email,
                  "currency": row.currency, "stripe_account": row.stripe_account,
                  "payout_threshold": row.payout_threshold, "opt_out": _sorted(row.opt_out),
                  "retired_at": _given(row, "retired", old, "retired_at")}
        if old is None:
            new.append(values)  # account state: not yet checked (the columns' defaults)
        elif any(old[k] != v for k, v in values.items()):
            if old["stripe_account"] != row.stripe_account:
                # Another account: what was learnt about the old one says nothing of it.
                new_account.append({"id": old["id"], **values, **_UNCHECKED})
            else:
                changed.append({"id": old["id"], **values})
            if _sorted(old["opt_out"]) != values["opt_out"]:
                plan.changed_creator_ids.add(old["id"])
            if values["retired_at"] is not None and old["retired_at"] != values["retired_at"]:
                retiring.append((old["id"], values["retired_at"]))
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(new), len(changed) + len(new_account)
    plan.writes.append(lambda c: repo.insert_rows(c, repo.creator_t, new))
    plan.writes.append(lambda c: repo.update_rows(c, repo.creator_t, changed))
    plan.writes.append(lambda c: repo.update_rows(c, repo.creator_t, new_account))
    plan.writes.append(lambda c: retire_creators_works(c, retiring, plan))


def retire_creators_works(conn: Connection, retiring: list[tuple[int, object]],
                          plan: Plan) -> None:
    """A creator retired at a moment retires with it, at that moment, every work its split
    in force then names (unless retired earlier): the works are re-evaluated."""
    for creator_id, at in retiring:
        plan.changed_work_ids.update(repo.retire_works_of_creator(conn, creator_id, at))


def plan_licensees(conn: Connection, rows: list[tuple[int, LicenseeRow]], plan: Plan) -> None:
    existing = repo.rows_by_key(conn, repo.licensee_t, (r.licensee for _, r in rows))
    new, changed = [], []
    for _, row in rows:
        old = existing.get(row.licensee)
        # every row names the same columns; no ``producers``: the binding is left as it is
        values = {"key": row.licensee, "name": row.name, "email": row.email,
                  "producers": sorted(set(row.producers)) if row.producers is not None
                  else list(old["producers"]) if old is not None else [],
                  "max_quantity": _given(row, "max_quantity", old)}
        if old is None:
            new.append(values)
        elif any(old[k] != v for k, v in values.items()):
            changed.append({"id": old["id"], **values})
            if any(old[k] != values[k] for k in ("key", "name", "email")):
                plan.changed_licensee_ids.add(old["id"])  # producers, ceilings: no outcome
        else:
            plan.unchanged += 1
    plan.created, plan.updated = len(new), len(changed)
    plan.writes.append(lambda c: repo.insert_rows(c, repo.licensee_t, new))
    plan.writes.append(lambda c: repo.update_rows(c, repo.licensee_t, changed))


def plan_works(conn: Connection, rows: list[tuple[int, WorkRow]], plan: Plan) -> None:
    creator_ids = repo.key_ids(conn, repo.creator_t,
                               (s.creator for _, r in rows for s in r.splits))
    states = repo.load_works(conn, (r.work for _, r in rows))
    owners = repo.identifier_owners(
        conn, (pair for _, r in rows for pair in pairs(r.identifiers)))
    claimed_in_file: dict[tuple[str, str], tuple[str, int]] = {}

    new_works: list[tuple[WorkRow]] = []
    metadata_updates: list[dict] = []
    identifier_updates: list[tuple[str, dict[str, str]]] = []
    versions: list[tuple[str, object, dict[str, Decimal]]] = []

    for line, row in rows:
        bad_row = False
        for split in row.splits:
            if split.creator not in creator_ids:
                plan.error(line, f"splits: unknown creator {split.creator!r}")
                bad_row = True
        for pair in pairs(row.identifiers):
            owner = owners.get(pair)
            if owner is not None and owner != row.work:
                plan.error(line, f"identifiers.{pair[0]}: {pair[1]!r} already belongs to work "
                                 f"{owner!r}, not {row.work!r}")
                bad_row = True
            if pair in claimed_in_file:
                other, other_line = claimed_in_file[pair]
                plan.error(line, f"identifiers.{pair[0]}: {pair[1]!r} is claimed by both work "
                                 f"{other!r} (line {other_line}) and work {row.work!r}")
                bad_row = True
            claimed_in_file[pair] = (row.work, line)
        if bad_row:
            continue

        state = states.get(row.work)
        if state is None:
            new_works.append(row)
            continue
        changed = False
        meta = {"title": row.title, "kind": row.kind, "opt_out": _sorted(row.opt_out),
                "retired_at": row.retired if "retired" in row.model_fields_set
                else state.retired_at}
        if meta != {"title": state.title, "kind": state.kind, "opt_out": _sorted(state.opt_out),
                    "retired_at": state.retired_at}:
            metadata_updates.append({"id": state.id, **meta})
            changed = True
        if row.identifiers != state.identifiers:
            identifier_updates.append((state.id, dict(row.identifiers)))
            changed = True
        latest_at, latest_shares = state.latest
        if row.shares != latest_shares:
            if row.effective_from is None:
                plan.error(line, f"splits of work {row.work!r} changed: give effective_from "
                                 "for the new version")
                continue
            if row.effective_from in state.versions:
                if state.versions[row.effective_from] != row.shares:
                    plan.error(line, f"effective_from {row.effective_from.isoformat()}: work "
                                     f"{row.work!r} already has other splits from that moment")
                    continue
            elif row.effective_from <= latest_at:
                plan.error(line, f"effective_from must be after the current split version's "
                                 f"({latest_at.isoformat()})")
                continue
            else:
                versions.append((state.id, row.effective_from, row.shares))
                changed = True
        if changed:
            plan.updated += 1
            plan.changed_work_ids.add(state.id)
        else:
            plan.unchanged += 1

    plan.created = len(new_works)
    plan.writes.append(partial(_write_works, new_works=new_works, metadata=metadata_updates,
                               identifiers=identifier_updates, versions=versions,
                               creator_ids=creator_ids, plan=plan))


def _write_works(conn: Connection, *, new_works, metadata, identifiers, versions,  # noqa: ANN001
                 creator_ids, plan: Plan) -> None:
    repo.update_rows(conn, repo.work_t, metadata)
    for work_id, ids in identifiers:
        repo.replace_identifiers(conn, work_id, ids)
    new_ids = repo.insert_rows(conn, repo.work_t, [
        {"key": r.work, "title": r.title, "kind": r.kind, "opt_out": _sorted(r.opt_out),
         "retired_at": r.retired} for r in new_works])
    repo.add_identifiers(conn, {new_ids[r.work]: r.identifiers for r in new_works})
    # A work's first split version applies to every use before any later version.
    first = [(new_ids[r.work], repo.BEGINNING, creator_ids, r.shares) for r in new_works]
    later = [(work_id, at, creator_ids, shares) for work_id, at, shares in versions]
    repo.add_split_versions(conn, first + later)
    plan.changed_work_ids.update(new_ids.values())


def plan_retirement(table, what: str, key: str, at: datetime | None,  # noqa: ANN001, ANN201
                    changed: Callable[[Plan, dict], None]):
    """A planner retiring row ``key`` of ``table`` from ``at`` on (None: not retired);
    ``changed`` records in the plan what the workers must re-evaluate."""
    def planner(conn: Connection, plan: Plan) -> None:
        old = repo.rows_by_key(conn, table, [key]).get(key)
        if old is None:
            plan.error(0, f"no {what} {key!r}")
        elif old["retired_at"] == at:
            plan.unchanged += 1
        else:
            plan.updated += 1
            changed(plan, old)
            plan.writes.append(lambda c: repo.update_rows(
                c, table, [{"id": old["id"], "retired_at": at}]))
    return planner


def plan_work_retirement(key: str, at: datetime | None):  # noqa: ANN201 - a planner
    """``royalty works retire``: the work matches no use from ``at`` on (None: not retired)."""
    return plan_retirement(repo.work_t, "work", key, at,
                           lambda plan, old: plan.changed_work_ids.add(old["id"]))


def plan_creator_retirement(key: str, at: datetime):  # noqa: ANN201 - a planner
    """``royalty creators retire``: the creator, and with it the works its split in force
    then names, retired at ``at``."""
    def planner(conn: Connection, plan: Plan) -> None:
        old = repo.rows_by_key(conn, repo.creator_t, [key]).get(key)
        if old is None:
            plan.error(0, f"no creator {key!r}")
            return
        plan.updated += 1
        plan.writes.append(lambda c: repo.update_rows(
            c, repo.creator_t, [{"id": old["id"], "retired_at": at}]))
        plan.writes.append(lambda c: retire_creators_works(c, [(old["id"], at)], plan))
    return planner
