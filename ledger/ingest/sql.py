"""Every statement of ingest: the staging table a batch is COPYed into, deduplication
against the stored events, dead letters, the batch log, and the dead-letter queries.

Deduplication is here: an event is new when no stored event has its ``(source, id)``
(``DROP_STORED``); matching evaluates and inserts what this module selects.
"""

from __future__ import annotations

from ledger.catalog.identifiers import IDENTIFIER_KINDS
from ledger.ingest.events import ROW_COLUMNS

# The staged columns after ``seq``: the licensee's id, then the event's row as ``decode``
# and ``staged_row`` make it (``ROW_COLUMNS``): the stored event's own columns.
COLUMNS = ("licensee_id", *ROW_COLUMNS)
_COLUMN_LIST = ", ".join(COLUMNS)

# --- The staging table ------------------------------------------------------------------

STAGE_TABLE = "ingest_stage"
CREATE_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} (
    seq integer NOT NULL, licensee_id integer,
    source text COLLATE "C", event_id text COLLATE "C", content_hash bytea, time timestamptz,
    purpose text, activity text, model text, run text, dataset text, quantity text, unit text,
    {", ".join(f'{k} text COLLATE "C"' for k in IDENTIFIER_KINDS)}, extensions text
) ON COMMIT DELETE ROWS
"""
# Emptied by the commit (cheaper than a TRUNCATE per batch); an earlier batch of the same
# transaction (replayed dead letters) left its rows.
STAGE_LEFT_OVER = f"SELECT EXISTS (SELECT FROM {STAGE_TABLE})"
EMPTY_STAGE = f"TRUNCATE {STAGE_TABLE}"
# Binary COPY: little text to format in Python or to parse in PostgreSQL. The extensions
# stay JSON text in the stage and become jsonb on insert; the quantity is staged as its
# decimal text too (a Decimal costs the worker three times as much to send as binary
# numeric as the server spends reading the text).
COPY_STAGE = f"COPY {STAGE_TABLE} (seq, {_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
_BINARY_TYPES = {"licensee_id": "int4", "content_hash": "bytea", "time": "timestamptz"}
STAGE_TYPES = ("int4", *(_BINARY_TYPES.get(c, "text") for c in COLUMNS))
_STORED_AS = {"extensions": "jsonb", "quantity": "numeric"}


def as_stored(table: str = "") -> str:
    """The staged columns (of ``table``, if named) as usage_event takes them."""
    return ", ".join(f"CAST({table}{c} AS {_STORED_AS[c]}) AS {c}" if c in _STORED_AS
                     else f"{table}{c}" for c in COLUMNS)


STAGED = as_stored()

# --- Deduplication ----------------------------------------------------------------------

# The content hash of the stored event with a staged row's identity. Each identity is
# looked up in the index (a correlated subquery, LIMIT 1): as a join, the planner may hash
# the whole of usage_event instead.
_STORED = """(SELECT e.content_hash FROM usage_event e
           WHERE e.source = {row}.source AND e.event_id = {row}.event_id LIMIT 1)"""
# The staged events stored before, taken out of the stage, each with whether its stored
# content differs (a conflicting duplicate). Deduplication is this delete: matching then
# reads the whole stage, which the planner sizes from its pages. Read through a filter, the
# new events would be sized at 0.5 % of the stage, and a batch's fingerprints joined to
# their candidates once per event. The insert that follows is a plain one
# (cheaper than ON CONFLICT for every row); a concurrent writer that stored one of the same
# events in between only makes both run again.
DROP_STORED = f"""
DELETE FROM {STAGE_TABLE} s WHERE {_STORED.format(row='s')} IS NOT NULL
RETURNING s.seq, {_STORED.format(row='s')} IS DISTINCT FROM s.content_hash
"""
# The staged events. For a batch none of whose events is expected to be stored already,
# read without ``DROP_STORED`` first: the insert's unique identity alone checks them (one
# index descent an event, not two); should one be stored after all, the insert fails and
# runs again after ``DROP_STORED``.
STAGED_EVENTS = f"(SELECT s.seq, {as_stored('s.')} FROM {STAGE_TABLE} s)"
# Whether any of some identities (each message's first event) is stored: a redelivered or
# resent message is, so a batch that holds one goes straight to ``DROP_STORED``.
ANY_STORED = """
SELECT EXISTS (SELECT FROM unnest(%s::text[], %s::text[]) AS f(source, event_id)
               WHERE EXISTS (SELECT FROM usage_event e WHERE e.source = f.source COLLATE "C"
                                                        AND e.event_id = f.event_id COLLATE "C"))
"""

# --- Dead letters and the batch log -----------------------------------------------------

LICENSEE_IDS = "SELECT key, id FROM licensee"
LICENSEE_CEILINGS = "SELECT key, max_quantity FROM licensee WHERE max_quantity IS NOT NULL"
LICENSEE_PRODUCERS = "SELECT key, producers FROM licensee WHERE producers <> '{}'"
INSERT_DEAD_LETTERS = """
INSERT INTO dead_letter (reason, field, detail, source, event_id, content_type,
                         content_encoding, routing_key, raw, user_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (digest) WHERE resolved_at IS NULL DO NOTHING
"""
INSERT_BATCH = """
INSERT INTO ingest_batch (messages, received, accepted, duplicates, dead_lettered, replayed)
VALUES (%s, %s, %s, %s, %s, %s)
"""
# A letter's state: open, or how it was resolved (replayed, discarded, duplicate).
_STATE = "CASE WHEN resolved_at IS NULL THEN 'open' ELSE coalesce(resolution, 'resolved') END"
LIST_DEAD_LETTERS = f"""
SELECT id, {_STATE} AS state, reason, field, detail, source, event_id, content_type,
       content_encoding, routing_key, user_id, received_at, attempts, resolved_at, resolution,
       note, length(raw) AS raw_bytes
FROM dead_letter
WHERE %(all)s OR resolved_at IS NULL
ORDER BY id LIMIT %(limit)s
"""
DEAD_LETTER = f"""
SELECT id, {_STATE} AS state, reason, field, detail, source, event_id, content_type,
       content_encoding, routing_key, user_id, received_at, attempts, resolved_at, note, raw
FROM dead_letter WHERE id = %s
"""
RAW_OF_DEAD_LETTER = "SELECT raw FROM dead_letter WHERE id = %s"
# Kept, never replayed: resolved as ``discarded`` with the operator's reason.
DISCARD = """
UPDATE dead_letter SET resolved_at = now(), resolution = 'discarded', note = %s
WHERE id = %s
"""
# Open dead letters to replay: all of them (``%(ids)s`` NULL) or those named.
OPEN_DEAD_LETTERS = """
SELECT id, raw, content_type, routing_key, content_encoding, user_id FROM dead_letter
WHERE resolved_at IS NULL AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
ORDER BY id FOR UPDATE
"""
DEAD_LETTER_STATES = """
SELECT id, coalesce(resolution, 'resolved') FROM dead_letter WHERE id = ANY(%s::bigint[])
"""
STILL_BAD = """
UPDATE dead_letter SET attempts = attempts + 1, reason = %s, field = %s, detail = %s
WHERE id = %s
"""
REPLAYED = """
UPDATE dead_letter SET attempts = attempts + 1, resolved_at = now(), resolution = 'replayed'
WHERE id = %s
"""

# --- The embedded broker's queue (kombu's SQL transport) --------------------------------

QUEUE_ID = "SELECT id FROM kombu_queue WHERE name = %s"
# Lock the next messages (others' locked ones skipped), then read the bodies of as many
# as fit the batch size: a batch is bounded in bytes, not only in messages.
QUEUE_LOCK_NEXT = """
SELECT m.id, length(m.payload) FROM kombu_message m
WHERE m.queue_id = %s AND m.visible
ORDER BY m.id LIMIT %s FOR UPDATE SKIP LOCKED
"""
QUEUE_READ = "SELECT id, payload FROM kombu_message WHERE id = ANY(%s) ORDER BY id"
QUEUE_TAKE_ONE = "SELECT payload FROM kombu_message WHERE id = %s FOR UPDATE SKIP LOCKED"
QUEUE_DELETE = "DELETE FROM kombu_message WHERE id = ANY(%s)"
