"""Every PostgreSQL advisory lock key the ledger takes, in one place.

Advisory locks share one key space per database: two unrelated jobs given the same key
would wait for (or refuse) each other. Each key here is distinct, and a test holds them to
it. Keys are taken so:

- ``CATALOG_LOCK``: imports take it exclusively; ingest batches and re-evaluation chunks
  take it shared, so a batch is evaluated against one catalog.
- ``REEVALUATION_LOCK``: one catalog-change drain at a time; the statement-line fold takes
  turns with it, so each sees what the other did.
- ``TALLY_COMPACT_LOCK``: tally compaction and rebuild, one at a time.
- ``PAYOUT_RUN_LOCK``: one payout run at a time (tried, not waited for).
- ``PERIOD_LOCK``: one period close or re-allocation at a time, so that a period closed
  twice at once (two workers, two commands) books once. Taken before ``CATALOG_LOCK``.
- ``PROPOSAL_LOCK``: one review proposal at a time (beat and ``royalty matches review``),
  so that two do not look the same fingerprints up.
"""

from __future__ import annotations

import psycopg

CATALOG_LOCK = 7262002
REEVALUATION_LOCK = 7262003
TALLY_COMPACT_LOCK = 7262004
PAYOUT_RUN_LOCK = 7262005
PERIOD_LOCK = 7262022
PROPOSAL_LOCK = 7262023

ALL = {"CATALOG_LOCK": CATALOG_LOCK, "REEVALUATION_LOCK": REEVALUATION_LOCK,
       "TALLY_COMPACT_LOCK": TALLY_COMPACT_LOCK, "PAYOUT_RUN_LOCK": PAYOUT_RUN_LOCK,
       "PERIOD_LOCK": PERIOD_LOCK, "PROPOSAL_LOCK": PROPOSAL_LOCK}


def hold(conn: psycopg.Connection, key: int, *, shared: bool = False) -> None:
    """Take ``key`` until the transaction ends (waiting for it)."""
    conn.execute(_HOLD_SHARED if shared else _HOLD, (key,))


def acquire(conn: psycopg.Connection, key: int) -> None:
    """Take ``key`` for the session (waiting for it), across commits, until ``release``."""
    conn.execute(_ACQUIRE, (key,))


def try_acquire(conn: psycopg.Connection, key: int) -> bool:
    """Take ``key`` for the session if nobody holds it: whether it was taken."""
    return conn.execute(_TRY_ACQUIRE, (key,)).fetchone()[0]


def release(conn: psycopg.Connection, key: int) -> None:
    conn.execute(_RELEASE, (key,))


_HOLD = "SELECT pg_advisory_xact_lock(%s)"
_HOLD_SHARED = "SELECT pg_advisory_xact_lock_shared(%s)"
_ACQUIRE = "SELECT pg_advisory_lock(%s)"
_TRY_ACQUIRE = "SELECT pg_try_advisory_lock(%s)"
_RELEASE = "SELECT pg_advisory_unlock(%s)"
