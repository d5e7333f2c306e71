"""The all-time statement's lines, folded into ``statement_line`` so that a statement reads
its lines in order from one index instead of grouping every event of the creator's works.

- ``fold`` (Celery beat) adds the standing events of booking entries (accrual and
  re-evaluation) not folded yet, for every creator, and records the entries in
  ``statement_folded``, in the same transaction. The first fold after the upgrade that
  brought these tables folds everything booked before it.
- A re-evaluation calls ``add_reevaluated`` in its own transaction: it adds the new
  evaluations it books, takes away the old ones it reverses if their entry is folded, and
  records its own entry as folded. (An old evaluation whose entry is not folded yet was
  never added; that entry's fold will not see it, for the event no longer points to it.)
  ``fold`` and re-evaluations take turns (the re-evaluation lock), so each sees what the
  other did.
- ``lines`` reads the creator's folded lines plus the events of entries not folded yet,
  from one snapshot (the caller's, which must be REPEATABLE READ): the same lines as
  grouping every event that stands.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from ledger.accounting.splits import split_parts_of

MONTH = "CAST(date_trunc('month', e.time AT TIME ZONE 'UTC') AS date)"
_KEY = "creator_id, currency, month, work, licensee, model, purpose, unit"
# What a line needs of an event (``e``) and of the evaluation it books or reverses.
_MOVEMENT = ("{work} AS work_id, e.licensee_id, e.model, e.purpose, " + MONTH + " AS month, "
             "e.unit, e.quantity, {split} AS split_version_id, {net} AS net, "
             "{currency} AS currency, {sign} AS sign")
_STANDING = _MOVEMENT.format(work="e.work_id", split="e.split_version_id", net="e.net",
                             currency="e.currency", sign=1)
# Accrual entries whose events are not in statement_line yet.
PENDING = """
SELECT j.id FROM journal_entry j
WHERE j.kind IN ('accrual', 'reevaluation')
  AND NOT EXISTS (SELECT 1 FROM statement_folded f WHERE f.entry_id = j.id)
"""
_OF_ENTRIES = f"""
SELECT {_STANDING} FROM usage_event e
WHERE e.entry_id = ANY(%(entries)s) AND e.outcome = 'accrued'
"""
_REEVALUATED = f"""
SELECT {_MOVEMENT.format(work="r.old_work_id", split="r.old_split_version_id", net="r.old_net",
                         currency="r.old_currency", sign=-1)}
FROM reevaluated r JOIN usage_event e ON e.id = r.id
WHERE r.old_outcome = 'accrued'
  AND EXISTS (SELECT 1 FROM statement_folded f WHERE f.entry_id = r.old_entry_id)
UNION ALL
SELECT {_MOVEMENT.format(work="r.new_work_id", split="r.new_split_version_id", net="r.new_net",
                         currency="r.new_currency", sign=1)}
FROM reevaluated r JOIN usage_event e ON e.id = r.id
WHERE r.new_outcome = 'accrued'
"""
# The movements once, their distinct (split version, net) pairs split once each, then one
# grouping per line; what is there already is added to.
_LINES_OF = """
WITH movements AS MATERIALIZED ({movements}),
parts AS MATERIALIZED (
    SELECT p.split_version_id, p.net, p.creator_id, p.amount
    FROM (""" + split_parts_of("SELECT DISTINCT split_version_id, net FROM movements") + """) AS p
    {creator}
)
SELECT p.creator_id, m.currency, m.month, w.key AS work, l.key AS licensee, m.model,
       m.purpose, m.unit, sum(m.sign) AS events, sum(m.sign * m.quantity) AS quantity,
       sum(m.sign * p.amount) AS amount
FROM movements m
JOIN parts p ON p.split_version_id = m.split_version_id AND p.net = m.net
JOIN work w ON w.id = m.work_id JOIN licensee l ON l.id = m.licensee_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""
_ADD = f"""
INSERT INTO statement_line ({_KEY}, events, quantity, amount)
{{lines}}
ON CONFLICT ({_KEY}) DO UPDATE
SET events = statement_line.events + excluded.events,
    quantity = statement_line.quantity + excluded.quantity,
    amount = statement_line.amount + excluded.amount
"""
ADD_ENTRIES = _ADD.format(lines=_LINES_OF.format(movements=_OF_ENTRIES, creator=""))
ADD_REEVALUATED = _ADD.format(lines=_LINES_OF.format(movements=_REEVALUATED, creator=""))

# In index order (statement_line_key covers the line: an index-only scan, no sort). The
# few-valued columns come as their place in a list of the values they take (licensee,
# purpose, unit) and the month as a number: a Python string per value would cost more than
# the scan (and extract() costs more than date arithmetic); numbers come as text, for a
# Decimal per distinct value. A value missing from its list comes back as NULL: then the
# text is read.
_FOLDED = """
SELECT work, {licensee}, model, {purpose},
       month - DATE '2000-01-01',
       events, CAST(quantity AS text), {unit}, CAST(amount AS text)
FROM statement_line
WHERE creator_id = %(creator)s AND currency = %(currency)s AND (events <> 0 OR amount <> 0)
ORDER BY month, work, licensee, model, purpose, unit
"""
_FOLDED_CODED = _FOLDED.format(**{
    c: f"array_position(%({c}s)s::text[], {c})" for c in ("licensee", "purpose", "unit")})
_FOLDED_TEXT = _FOLDED.format(licensee="licensee", purpose="purpose", unit="unit")
# Every licensee, every purpose counted, every unit a license prices (an accrued event's
# unit is its license's).
_TERMS = """
SELECT ARRAY(SELECT key FROM licensee), ARRAY(SELECT DISTINCT purpose FROM usage_tally),
       ARRAY(SELECT DISTINCT rate_unit FROM license)
"""
_NOT_FOLDED = _LINES_OF.format(
    movements=f"""
        SELECT {_STANDING} FROM usage_event e
        WHERE e.entry_id = ANY(%(entries)s) AND e.outcome = 'accrued'
          AND e.currency = %(currency)s
          AND e.work_id IN (SELECT v.work_id FROM split_version v
                            JOIN split_share s ON s.split_version_id = v.id
                            WHERE s.creator_id = %(creator)s)""",
    creator="WHERE p.creator_id = %(creator)s")


def fold(conn: psycopg.Connection, *, entries_per_commit: int = 20) -> int:
    """Fold every booking entry not folded yet into ``statement_line``, committing every
    ``entries_per_commit`` entries: the number of entries folded."""
    from ledger.accounting.reevaluation import REEVALUATION_LOCK  # it calls back into here

    folded = 0
    while True:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REEVALUATION_LOCK,))
        entries = [r[0] for r in conn.execute(f"{PENDING} ORDER BY j.id LIMIT %s",
                                              (entries_per_commit,))]
        if not entries:
            conn.commit()
            return folded
        conn.execute(ADD_ENTRIES, {"entries": entries})
        conn.execute("INSERT INTO statement_folded (entry_id) SELECT unnest(%s::bigint[])",
                     (entries,))
        conn.commit()
        folded += len(entries)


def add_reevaluated(conn: psycopg.Connection, entry_id: int) -> None:
    """A re-evaluation's changes (its ``reevaluated`` table), booked by its journal entry
    ``entry_id``, in its transaction: the entry is folded as it is booked."""
    conn.execute(ADD_REEVALUATED)
    conn.execute("INSERT INTO statement_folded (entry_id) VALUES (%s)", (entry_id,))


_KEYS = ("work", "licensee", "model", "purpose", "usage_period", "unit")  # what makes a line


def _order(line: dict) -> tuple:
    """A line's place, as ``_FOLDED`` orders them (code point order; no model last)."""
    return (line["usage_period"], line["work"], line["licensee"], line["model"] is None,
            line["model"] or "", line["purpose"], line["unit"])


class _Months(dict):
    """``YYYY-MM`` by the month's first day, as days since 2000-01-01, made once each."""

    def __missing__(self, days: int) -> str:
        self[days] = text = _month(_EPOCH + timedelta(days=days))
        return text


_EPOCH = date(2000, 1, 1)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"  # as to_char(…, 'YYYY-MM'), years < 1000 too


class _Decimals(dict):
    """Decimals by their text, made once each: the amounts of many lines are the same."""

    def __missing__(self, text: str) -> Decimal:
        self[text] = number = Decimal(text)
        return number


class _Same:
    """What a text column is looked up in when it comes as text."""

    def __getitem__(self, value: str) -> str:
        return value


def _read(rows: Iterable[tuple], months: _Months, licensees: list | _Same,
          purposes: list | _Same, units: list | _Same) -> list[dict]:
    """The lines, as they stream in. Works and models repeat from line to line: each line
    keeps the first string read for its value, and the others are freed at once."""
    decimals = _Decimals()
    works: dict[str, str] = {}
    models: dict[str | None, str | None] = {}
    return [{"work": works.setdefault(work, work), "licensee": licensees[licensee],
             "model": models.setdefault(model, model), "purpose": purposes[purpose],
             "usage_period": months[month], "events": events, "quantity": decimals[quantity],
             "unit": units[unit], "amount": decimals[amount]}
            for work, licensee, model, purpose, month, events, quantity, unit, amount in rows]


def _stream(conn: psycopg.Connection, query: str, params: dict) -> Iterator[tuple]:
    """The rows as they come, in chunks: the lines are made while the server still reads
    the index, and the whole result is never held at once."""
    return conn.cursor().stream(query, params, size=_CHUNK)


_CHUNK = 10_000


@contextmanager
def _collection_paused() -> Iterator[None]:
    """No garbage collection while a million lines are made: they hold no cycles, and
    each collection would walk all those made so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def lines(conn: psycopg.Connection, creator_id: int, currency: str) -> list[dict]:
    """The creator's all-time lines in ``currency`` (contract §7 keys), in order. Read in
    the caller's snapshot."""
    licensees, purposes, units = conn.execute(_TERMS).fetchone()
    params = {"creator": creator_id, "currency": currency, "licensees": licensees,
              "purposes": purposes, "units": units}
    with _collection_paused():
        coded = _stream(conn, _FOLDED_CODED, params)
        try:
            folded = _read(coded, _Months(), [None, *licensees],
                           [None, *purposes], [None, *units])  # array_position counts from 1
        except TypeError:  # a value missing from its list (a NULL place): read the text
            deque(coded, maxlen=0)  # read to its end: closing it early would cancel it
            folded = _read(_stream(conn, _FOLDED_TEXT, params), _Months(), _Same(), _Same(),
                           _Same())
    # Entries not folded yet, by value: the planner then reads their events by entry.
    entries = [r[0] for r in conn.execute(PENDING)]
    if not entries:
        return folded
    pending = {(work, licensee, model, purpose, _month(month), unit):
               (events, quantity, amount)
               for _, _, month, work, licensee, model, purpose, unit, events, quantity, amount
               in conn.execute(_NOT_FOLDED, {**params, "entries": entries})}
    if not pending:
        return folded
    for line in folded:
        more = pending.pop(tuple(line[k] for k in _KEYS), None)
        if more is not None:
            line["events"] += more[0]
            line["quantity"] += more[1]
            line["amount"] += more[2]
    folded.extend({"work": work, "licensee": licensee, "model": model, "purpose": purpose,
                   "usage_period": month, "events": events, "quantity": quantity, "unit": unit,
                   "amount": amount}
                  for (work, licensee, model, purpose, month, unit), (events, quantity, amount)
                  in pending.items())
    return sorted((line for line in folded if line["events"] or line["amount"]), key=_order)

