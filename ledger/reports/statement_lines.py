"""The all-time statement's lines, read from ``statement_line`` (folded by
``ledger.accounting.statement_lines``) so that a statement reads its lines in order from
one index instead of grouping every event of the creator's works.

``lines`` reads the creator's folded lines plus the events of entries not folded yet, from
one snapshot (the caller's, which must be REPEATABLE READ): the same lines as grouping
every event that stands.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from ledger.reports import sql

_KEYS = ("work", "licensee", "model", "purpose", "usage_period", "unit")  # what makes a line


def _order(line: dict) -> tuple:
    """A line's place, as ``sql.FOLDED_CODED`` orders them (code point order; no model last)."""
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
    licensees, purposes, units = conn.execute(sql.TERMS).fetchone()
    params = {"creator": creator_id, "currency": currency, "licensees": licensees,
              "purposes": purposes, "units": units}
    with _collection_paused():
        coded = _stream(conn, sql.FOLDED_CODED, params)
        try:
            folded = _read(coded, _Months(), [None, *licensees],
                           [None, *purposes], [None, *units])  # array_position counts from 1
        except TypeError:  # a value missing from its list (a NULL place): read the text
            deque(coded, maxlen=0)  # read to its end: closing it early would cancel it
            folded = _read(_stream(conn, sql.FOLDED_TEXT, params), _Months(), _Same(), _Same(),
                           _Same())
    # Entries not folded yet, by value: the planner then reads their events by entry.
    entries = [r[0] for r in conn.execute(sql.PENDING)]
    if not entries:
        return folded
    pending = {(work, licensee, model, purpose, _month(month), unit):
               (events, quantity, amount)
               for _, _, month, work, licensee, model, purpose, unit, events, quantity, amount
               in conn.execute(sql.NOT_FOLDED, {**params, "entries": entries})}
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

