"""Dead letters: list them, look one up with its body decoded, replay them through the
same ingest path, or discard them (kept, marked, never replayed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import base64
import json

import psycopg

from ledger.errors import InvalidInput, NotFound, RowError
from ledger.ingest import sql, store
from ledger.ingest.encoding import compression, decompress
from ledger.ingest.producer_rules import ProducerRules


def list_dead_letters(conn: psycopg.Connection, *, include_resolved: bool = False,
                      limit: int | None = None) -> list[dict]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    return cur.execute(sql.LIST_DEAD_LETTERS, {"all": include_resolved, "limit": limit}).fetchall()


def dead_letter(conn: psycopg.Connection, dead_letter_id: int, *,
                max_message_bytes: int, show: int = 20_000) -> dict:
    """One dead letter with its body as a person can read it (``body``)."""
    row = conn.cursor(row_factory=psycopg.rows.dict_row).execute(
        sql.DEAD_LETTER, (dead_letter_id,)).fetchone()
    if row is None:
        raise NotFound(f"dead letter {dead_letter_id}: no such dead letter")
    raw = bytes(row.pop("raw"))
    return {**row, "body": readable(raw, row["content_encoding"], max_message_bytes, show)}


def readable(raw: bytes, content_encoding: str | None, max_message_bytes: int,
             show: int = 20_000) -> dict:
    """A body as it can best be read: decompressed when it was compressed and can be,
    then JSON (indented), else UTF-8 text, else a hex and base64 summary of its bytes.
    ``text`` holds at most ``show`` characters (``truncated`` says when it holds fewer)."""
    body: dict = {"bytes": len(raw)}
    plain = raw
    if compression(content_encoding) is not None:
        found = decompress(raw, content_encoding, max_message_bytes)
        if isinstance(found, bytes):
            plain = found
            body["decompressed_bytes"] = len(found)
        else:
            body["note"] = f"kept as it came: {found.detail}"
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        head = plain[:64]
        body.update(form="binary", hex=head.hex(" "), base64=base64.b64encode(head).decode(),
                    truncated=len(plain) > len(head))
        return body
    try:
        text, form = json.dumps(json.loads(text), indent=2, ensure_ascii=False), "json"
    except (ValueError, RecursionError):
        form = "text"
    body.update(form=form, text=text[:show], truncated=len(text) > show)
    return body


def discard(conn: psycopg.Connection, ids: list[int], reason: str) -> int:
    """Discard open dead letters: kept with the reason, never replayed. All or none: an id
    that names no open dead letter, or no reason, is bad input and nothing is written."""
    if not reason.strip():
        raise InvalidInput([RowError(0, "--reason is required: say why the letters are "
                                        "discarded")])
    rows = conn.execute(sql.OPEN_DEAD_LETTERS, {"ids": ids}).fetchall()
    _refuse_missing(conn, sorted(set(ids) - {row[0] for row in rows}))
    with conn.cursor() as cur:
        cur.executemany(sql.DISCARD, [(reason, row[0]) for row in rows])
    return len(rows)


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
