"""Dead letters: list them, and replay them through the same ingest path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from ledger.errors import InvalidInput, RowError
from ledger.ingest import sql, store
from ledger.ingest.producer_rules import ProducerRules


def list_dead_letters(conn: psycopg.Connection, *, include_resolved: bool = False,
                      limit: int | None = None) -> list[dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(sql.LIST_DEAD_LETTERS, {"all": include_resolved, "limit": limit}).fetchall()


def raw_of(conn: psycopg.Connection, dead_letter_id: int) -> bytes | None:
    row = conn.execute(sql.RAW_OF_DEAD_LETTER, (dead_letter_id,)).fetchone()
    return None if row is None else bytes(row[0])


@dataclass
class ReplayResult:
    replayed: int = 0
    accepted: int = 0
    duplicates: int = 0
    still_bad: int = 0


def replay(conn: psycopg.Connection, ids: list[int] | None, *, max_message_bytes: int,
           producers: ProducerRules | None = None,
           progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """Re-ingest open dead letters (all, or these ids). Those that now go through are
    resolved; those still bad stay dead letters, with their latest reason. One transaction.
    Each keeps the ``user_id`` it came with: a replay reports for no one else. An id that
    names no open dead letter is bad input: nothing is replayed."""
    rows = conn.execute(sql.OPEN_DEAD_LETTERS, {"ids": ids}).fetchall()
    if ids:
        _refuse_missing(conn, sorted(set(ids) - {row[0] for row in rows}))
    outcome = ReplayResult()
    licensees = store.licensee_ids(conn)
    for dead_letter_id, raw, content_type, routing_key, content_encoding, user_id in rows:
        message = store.Message(bytes(raw), content_type, routing_key, content_encoding,
                                user_id)
        result = store.ingest(conn, [message], licensees=licensees, producers=producers,
                              max_message_bytes=max_message_bytes, replayed=1,
                              count_received=False, record_rejects=False)
        outcome.replayed += 1
        outcome.accepted += result.accepted
        outcome.duplicates += result.duplicates
        if result.rejected:
            outcome.still_bad += 1
            rejected = result.rejected[0][0]
            conn.execute(sql.STILL_BAD, (rejected.reason, rejected.field, rejected.detail,
                                         dead_letter_id))
        else:
            conn.execute(sql.REPLAYED, (dead_letter_id,))
        if progress is not None:
            progress(outcome.replayed, len(rows))
    return outcome


def _refuse_missing(conn: psycopg.Connection, missing: list[int]) -> None:
    if not missing:
        return
    states = dict(conn.execute(sql.DEAD_LETTER_STATES, (missing,)).fetchall())
    raise InvalidInput([RowError(0, f"dead letter {i}: " + (
        f"already {states[i]}, not open" if i in states else "no such dead letter"))
        for i in missing])
