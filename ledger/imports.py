"""The all-or-nothing import driver shared by every catalog and license file (contract §4).

A file is read whole, every row validated, then checked against the database; any bad
row and nothing is written, with every bad row reported by line number and reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, text

from ledger import jsonl
from ledger.errors import InvalidInput, RowError
from ledger.locks import CATALOG_LOCK


@dataclass
class Plan:
    """What an import will write, and every reason it cannot."""

    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    writes: list[Callable[[Connection], None]] = field(default_factory=list)
    changed_work_ids: set[int] = field(default_factory=set)
    changed_licensee_ids: set[int] = field(default_factory=set)
    changed_creator_ids: set[int] = field(default_factory=set)

    def error(self, line: int, reason: str) -> None:
        self.errors.append(RowError(line, reason))


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int


Planner = Callable[[Connection, list[tuple[int, BaseModel]], Plan], None]


# The forms a pattern stands for, as a person would say them.
_FORMS = {
    r"^[A-Z]{3}$": "a three-letter currency code such as USD",
    r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$":
        "a key: a letter or digit, then letters, digits or . _ : @ / + -",
}


def _reason(err: dict) -> str:
    """pydantic's message for one error, said without its jargon."""
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        form = _FORMS.get(ctx.get("pattern"), f"text matching {ctx.get('pattern')}")
        return f"{given!r} is not {form}"
    if kind == "too_short" and ctx.get("field_type") in ("Tuple", "List"):
        count = ctx.get("min_length", 1)
        return f"needs at least {count} entr{'y' if count == 1 else 'ies'}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        words = {"greater_than_equal": "at least", "less_than_equal": "at most",
                 "greater_than": "more than", "less_than": "less than"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {words} {bound} (got {given})"
    message = err["msg"].removeprefix("Value error, ")
    return "must be " + message.removeprefix("Input should be ") \
        if message.startswith("Input should be ") else message


def describe(exc: ValidationError) -> list[str]:
    """Readable reasons from a pydantic error: ``field.path: reason``."""
    reasons = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = _reason(err)
        reasons.append(f"{where}: {message}" if where else message)
    return reasons


def validate_rows(stream: IO[str], model: type[BaseModel], key_field: str
                  ) -> tuple[list[tuple[int, BaseModel]], list[RowError]]:
    """Parse and validate every line; duplicate keys within the file are errors too."""
    lines, errors = jsonl.read_lines(stream)
    rows: list[tuple[int, BaseModel]] = []
    first_seen: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.value, dict):
            errors.append(RowError(line.number, "each line must be a JSON object"))
            continue
        key = line.value.get(key_field)
        if isinstance(key, str):
            if key in first_seen:
                errors.append(RowError(
                    line.number, f"duplicate {key_field} {key!r} (first on line {first_seen[key]})"))
                continue
            first_seen[key] = line.number
        try:
            rows.append((line.number, model.model_validate(line.value)))
        except ValidationError as exc:
            errors.extend(RowError(line.number, reason) for reason in describe(exc))
    if not lines and not errors:
        errors.append(RowError(0, "the file has no rows; nothing was written"))
    return rows, errors


def apply(engine: Engine, planner: Callable[[Connection, Plan], None], plan: Plan | None = None,
          after_commit: Callable[[Plan], None] | None = None) -> Plan:
    """Plan and write a catalog change as an import does (a file's rows, or a command such
    as ``works retire``): under the catalog lock, all or nothing, with its outbox row."""
    plan = plan or Plan()
    with engine.begin() as conn:
        conn.execute(HOLD_CATALOG, {"k": CATALOG_LOCK})  # exclusively: no batch evaluates meanwhile
        planner(conn, plan)
        if plan.errors:
            plan.errors.sort(key=lambda e: e.line)
            raise InvalidInput(plan.errors)
        for write in plan.writes:
            write(conn)
        _record_change(conn, plan)
    if after_commit is not None:
        after_commit(plan)
    return plan


# The outbox row that makes workers re-evaluate what an import changed.
RECORD_CHANGE = text("INSERT INTO catalog_change (work_ids, creator_ids, licensee_ids) "
                     "VALUES (:w, :c, :l)")
HOLD_CATALOG = text("SELECT pg_advisory_xact_lock(:k)")


def _record_change(conn: Connection, plan: Plan) -> None:
    """The outbox row that makes workers re-evaluate what this import changed."""
    if plan.changed_work_ids or plan.changed_creator_ids or plan.changed_licensee_ids:
        conn.execute(RECORD_CHANGE,
                     {"w": sorted(plan.changed_work_ids), "c": sorted(plan.changed_creator_ids),
                      "l": sorted(plan.changed_licensee_ids)})


def run(engine: Engine, stream: IO[str], *, kind: str, model: type[BaseModel], key_field: str,
        planner: Planner, after_commit: Callable[[Plan], None] | None = None) -> ImportResult:
    rows, errors = validate_rows(stream, model, key_field)
    plan = apply(engine, lambda conn, plan: planner(conn, rows, plan), Plan(errors=errors),
                 after_commit)
    return ImportResult(kind=kind, rows=len(rows), created=plan.created, updated=plan.updated,
                        unchanged=plan.unchanged)
