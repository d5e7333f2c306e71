"""Voiding events: an operator's correction of an event that should never have counted
(issue 19). Nothing is edited: the event's outcome becomes ``voided`` (a trigger keeps it
so), its booking is reversed by a new balanced journal entry (kind ``void``), it leaves
the usage tallies, and a statement shows the reversal as a negative line in the period of
the void. A resend of the same ``(source, id)`` is a duplicate, so it never comes back.

A void is a re-evaluation whose new outcome is ``voided``; it goes through the same
temporary table and statements (``ledger.matching.sql``) as back-pay does.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ledger import locks
from ledger.accounting import booking, statement_lines
from ledger.errors import InvalidInput, RowError
from ledger.matching import sql

MAX_REASON = 1000


@dataclass(frozen=True)
class VoidRequest:
    source: str
    event_id: str
    reason: str
    line: int = 0  # where it came from: a line of a file, or 0 for the command line


@dataclass
class Voided:
    events: int = 0
    reversed: int = 0  # of them, those whose booking was reversed
    entry_id: int | None = None


def void(conn: psycopg.Connection, requests: list[VoidRequest]) -> Voided:
    """Void every requested event, in the caller's transaction (the caller commits), or
    none: an event that does not exist, one named twice or already voided, or an empty
    reason is bad input, every such reason is reported and nothing is written."""
    problems = [RowError(r.line, f"{_name(r)}: a reason is required")
                for r in requests if not r.reason.strip()]
    problems += [RowError(r.line, f"{_name(r)}: the reason is longer than {MAX_REASON} "
                          "characters") for r in requests if len(r.reason) > MAX_REASON]
    # Voids take turns with re-evaluations and the statement fold (both move statement
    # lines), and exclude imports: the events keep the evaluation they are reversed from.
    locks.hold(conn, locks.REEVALUATION_LOCK)
    locks.hold(conn, locks.CATALOG_LOCK, shared=True)
    found = conn.execute(sql.EVENTS_NAMED, ([r.source for r in requests],
                                            [r.event_id for r in requests])).fetchall()
    ids: dict[int, VoidRequest] = {}
    for (_, event_id), request in zip(found, requests, strict=True):
        if event_id is None:
            problems.append(RowError(request.line, f"{_name(request)}: no such event"))
        elif event_id in ids:
            problems.append(RowError(request.line, f"{_name(request)}: named twice"))
        else:
            ids[event_id] = request
    if ids:
        conn.execute(sql.LOCK_CHUNK, (sorted(ids),))
        for event_id, outcome, voided_at, reason in conn.execute(sql.VOID_STATES,
                                                                 (list(ids),)):
            if outcome == "voided":
                problems.append(RowError(ids[event_id].line, (
                    f"{_name(ids[event_id])}: already voided on {voided_at:%Y-%m-%d %H:%M} "
                    f"UTC ({reason})")))
    if problems:
        raise InvalidInput(sorted(problems, key=lambda p: p.line))
    if not ids:
        return Voided()
    return _void(conn, ids)


def _void(conn: psycopg.Connection, ids: dict[int, VoidRequest]) -> Voided:
    conn.execute(sql.CREATE_REEVALUATED_TABLE)
    conn.execute(sql.FILL_VOIDED, {"ids": list(ids)})
    reversed_, _ = conn.execute(sql.COUNT_REEVALUATED).fetchone()
    entry_id = booking.next_entry_id(conn)
    if reversed_:
        booking.open_entry(conn, entry_id, "void", f"void: {reversed_} events reversed")
        booking.post(conn, entry_id, sql.OLD_ACCRUED, -1)
        statement_lines.add_movements(conn, entry_id, sql.ADD_REEVALUATED_LINES)
    conn.execute(sql.APPLY, {"entry": entry_id})
    conn.execute(sql.RECORD, {"entry": entry_id})
    conn.execute(sql.VOID_TALLY)
    conn.execute(sql.VOID_WORK_TALLY)
    conn.execute(sql.RECORD_VOIDS, {"ids": list(ids), "entry": entry_id,
                                    "reasons": [r.reason for r in ids.values()]})
    conn.execute(sql.EMPTY_REEVALUATED_TABLE)
    return Voided(len(ids), reversed_, entry_id if reversed_ else None)


def _name(request: VoidRequest) -> str:
    return f"event {request.source} {request.event_id}"
