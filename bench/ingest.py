"""Ingest benchmark: end-to-end throughput of the real worker against the bare PostgreSQL
limit on the same rows. A measurement, not a test: it prints figures.

    python -m bench.ingest [--events N] [--batch-size B] [--works K] [--chunk C] [--rounds R] [--keep]

Settings come from the environment:

- ``ROYALTY_DATABASE_URL``: the PostgreSQL *server* to use (default
  ``postgresql://postgres@127.0.0.1:5432/postgres``). A fresh database ``royalty_bench`` is
  created on it (dropped first if it exists) and dropped at the end unless ``--keep``.
- ``ROYALTY_BROKER_URL``: the RabbitMQ broker (default ``amqp://guest:guest@127.0.0.1:5672//``).
  The ``royalty.usage.ingest`` queue is purged before the run. The worker gets its own task
  queue (``ROYALTY_TASK_QUEUE``, default ``royalty.bench.tasks``) so that it runs no one
  else's tasks.

The catalog: one licensee and, unless ``--works 0``, ``--works`` works of three creators (one
opted out of ``ai-input``) under one catalog license. Half of the events use a registered
work, so the evaluation in the ingest transaction yields every outcome (accrued, unmatched,
opted_out, unpriced) and the accrual is booked, as in production.

End to end: the real worker (``royalty worker --concurrency 1``) runs as a subprocess; N
valid CloudEvents are generated up front, then published with ``UsageProducer`` in batch
messages of ``--batch-size`` events (zstd-compressed bodies, the producer's default); the clock runs from the first publish until
``sum(ingest_batch.accepted)`` reaches N (polled every 0.05 s). The worker process tree's
RSS is sampled every 0.2 s.

Bare limit, as the issue words it ("on the same rows"): the rows the end-to-end pass
stored — every column the store inserts: the event, its evaluation (outcome, work, split
version, license, amounts) and its booking entry — are read back as binary COPY data
(outside the clock); then ``usage_event`` is emptied and, per chunk of the consumer's flush
size, the clock covers ``COPY`` into a staging table, the deduplicating insert (``INSERT …
ON CONFLICT DO NOTHING``) and the commit: the same heap tuples and index entries as the
pipeline writes, with no broker, no Python and no evaluation. The targets are judged
against it.

Printed beside it, the bare limit on the raw rows (the yardstick of earlier versions): the
rows the store would ``COPY`` before evaluation, built (outside the clock) with
``ledger.ingest.events.validate`` and inserted the same way. They carry no evaluation, so
they are narrower and skip the partial indexes by outcome, work and entry. Then, on the
same chunks, the store's own SQL (``store.write``: stage, COPY, evaluate, insert, book,
batch log; commit) is timed too.

Rounds (``--rounds``, default 3): the three passes run in turn, each on an emptied inbox
after a ``CHECKPOINT``, so that no pass pays for the WAL another left behind and all three
share the machine's drift; each round's figures are printed, and the targets are judged on
the medians.

The summary ends with the CPU budget: the CPU time the end-to-end parts (worker,
PostgreSQL, RabbitMQ, publisher) spent per stored event, the rate the machine's CPUs allow
at that cost, and the cost at which they would allow the target rate.

Exit status: 0 whatever the figures; 1 when the stored count is not exactly N, a duplicate
or dead letter appeared, or the run could not complete.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psutil
import psycopg
from sqlalchemy.engine import make_url

from bench.common import (
    BARE_DEDUPE,
    BENCH_DB,
    DEFAULT_BROKER,
    DEFAULT_SERVER,
    LICENSEE,
    Clock,
    bare_store,
    bench_url,
    chunks_of,
    consumer_flush_events,
    drop_database,
    empty_events,
    end_to_end_or_report,
    jsonl,
    mib,
    say,
    stored_rows,
    work_sha256,
)
from ledger import db as ledger_db
from ledger import migrate
from ledger.catalog.service import ImportKind, import_file
from ledger.ingest import sql as ingest_sql
from ledger.ingest import store
from ledger.ingest.events import EVENT_TYPE
from ledger.matching import sql as matching_sql

TARGET_EPS = 50_000
TARGET_RATIO = 0.5


# --- set-up ---------------------------------------------------------------------------------

def item_sha256(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "big")).hexdigest()


def import_catalog(url: str, works: int) -> None:
    """One licensee; with ``works``: three creators, the works and one catalog license."""
    engine = ledger_db.make_engine(url)
    try:
        import_file(engine, ImportKind.licensees, jsonl([
            {"licensee": LICENSEE, "name": "Bench AI Inc.", "email": "ap@bench.example"}]))
        if not works:
            return
        import_file(engine, ImportKind.creators, jsonl([
            {"creator": "bench-alice", "name": "Alice"},
            {"creator": "bench-bob", "name": "Bob"},
            {"creator": "bench-carol", "name": "Carol", "opt_out": ["ai-input"]}]))
        import_file(engine, ImportKind.works, jsonl([
            {"work": f"bench-w{k:06d}", "title": f"Bench work {k}", "kind": "video",
             "identifiers": {"sha256": work_sha256(k)},
             "splits": ([{"creator": "bench-alice", "share": "0.7"},
                         {"creator": "bench-bob", "share": "0.3"}] if k % 2 == 0
                        else [{"creator": "bench-carol", "share": "1"}])}
            for k in range(works)]))
        import_file(engine, ImportKind.licenses, jsonl([
            {"license": "bench-catalog-2026", "licensee": LICENSEE, "scope": {"catalog": True},
             "purposes": ["ai-train", "ai-input"], "valid_from": "2026-01-01T00:00:00Z",
             "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
             "rate": {"type": "per_unit", "unit": "uses", "price": "0.0023"},
             "platform_fee": "0.15"}]))
    finally:
        engine.dispose()


def fresh_database(server_url: str, works: int) -> str:
    with psycopg.connect(ledger_db.libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    url = bench_url(server_url)
    migrate.upgrade(url)
    import_catalog(url, works)
    return url



# --- events ---------------------------------------------------------------------------------

def make_events(n: int, works: int = 0) -> list[dict]:
    """N valid, distinct usage events of one registered licensee (contract §2); with
    ``works``, the even ones use one of the registered works, the odd ones unknown items."""
    run_tag = uuid.uuid4().int >> 64
    base = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    purposes = ("ai-train", "ai-train", "ai-train", "ai-input")
    activities = ("pretrain", "pretrain", "finetune", "rag")
    events = []
    for i in range(n):
        item = {"sha256": work_sha256(i // 2 % works) if works and i % 2 == 0
                else item_sha256(i)}
        if i % 3 == 0:
            item["url"] = f"https://cdn.example.org/items/{i}.mp4"
        k = i // 2 % 4
        data = {
            "licensee": LICENSEE, "purpose": purposes[k], "activity": activities[k],
            "model": f"bench-model-{i % 2}", "run": f"run-{i % 7:02d}",
            "dataset": f"dataset-{i % 5}", "item": item,
        }
        if i % 10 == 0:
            data["quantity"], data["unit"] = str(1 + i % 4096), "tokens"
        else:
            data["quantity"], data["unit"] = "1", "uses"
        moment = base + timedelta(seconds=i)
        events.append({
            "specversion": "1.0", "type": EVENT_TYPE,
            "source": f"urn:bench:pipeline:{i % 4}",
            "id": str(uuid.UUID(int=(run_tag << 64) | i)),
            "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "datacontenttype": "application/json", "data": data,
        })
    return events



def bare_dedupe(url: str, parts: list[list[tuple]]) -> dict:
    """The bare limit on the raw rows: per chunk, COPY into the staging table and the
    deduplicating insert into ``usage_event``, then commit (JIT off, like the consumer)."""
    def stage(conn: psycopg.Connection, part: list[tuple]) -> None:
        conn.execute(ingest_sql.CREATE_STAGE)
        store.copy_stage(conn, part)
    return _timed_dedupe(url, parts, stage, BARE_DEDUPE)


def _timed_dedupe(url: str, chunks: list, stage, insert: str) -> dict:  # noqa: ANN001
    """Per chunk: ``stage`` it (create the staging table, COPY), run the deduplicating
    ``insert``, commit; the seconds each step took, summed."""
    with psycopg.connect(ledger_db.libpq_url(url), options=ledger_db.HOT_PATH_OPTIONS) as conn:
        empty_events(conn)
        clock = Clock()
        t0 = time.perf_counter()
        inserted = 0
        for chunk in chunks:
            stage(conn, chunk)
            clock.lap("COPY into stage")
            inserted += conn.execute(insert).rowcount
            clock.lap("dedupe INSERT usage_event")
            conn.commit()
            clock.lap("commit")
        elapsed = time.perf_counter() - t0
    return {"seconds": elapsed, "inserted": inserted, "steps": clock.spent}


# The rows as the pipeline stores them: the event, its evaluation and its booking entry,
# every column ``store.write`` inserts (the rest are defaults).
STORED_COLUMNS = ", ".join((*store.COLUMNS, *matching_sql.EVALUATED, "entry_id"))
CREATE_STORED_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS stored_stage ON COMMIT DELETE ROWS AS
SELECT {STORED_COLUMNS} FROM usage_event WITH NO DATA
"""
BARE_DEDUPE_STORED = (f"INSERT INTO usage_event ({STORED_COLUMNS}) SELECT {STORED_COLUMNS} "
                      "FROM stored_stage ON CONFLICT ON CONSTRAINT usage_event_identity DO NOTHING")


def stored_chunks(url: str, chunk: int) -> list[bytes]:
    """The rows the end-to-end pass stored, as binary COPY data in transactions of
    ``chunk`` rows (read outside any clock): what the bare limit stores again."""
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        ids = [i for i, in conn.execute("SELECT id FROM usage_event ORDER BY id")]
        blobs = []
        for at in range(0, len(ids), chunk):
            data = bytearray()
            with conn.cursor().copy(
                    f"COPY (SELECT {STORED_COLUMNS} FROM usage_event WHERE id BETWEEN %s AND %s "
                    "ORDER BY id) TO STDOUT (FORMAT BINARY)",
                    (ids[at], ids[min(at + chunk, len(ids)) - 1])) as copy:
                for block in copy:
                    data += block
            blobs.append(bytes(data))
    return blobs


def bare_dedupe_stored(url: str, blobs: list[bytes]) -> dict:
    """The issue's bare limit on the rows as stored: per chunk, COPY the stored rows (their
    evaluation and booking entry included, so the same heap and index entries are written)
    into a staging table and the deduplicating insert, then commit. No Python formats a
    row inside the clock: the COPY data was read from PostgreSQL itself."""
    def stage(conn: psycopg.Connection, blob: bytes) -> None:
        conn.execute(CREATE_STORED_STAGE)
        with conn.cursor().copy(f"COPY stored_stage ({STORED_COLUMNS}) FROM STDIN "
                                "(FORMAT BINARY)") as copy:
            copy.write(blob)
    return _timed_dedupe(url, blobs, stage, BARE_DEDUPE_STORED)



# --- checks ---------------------------------------------------------------------------------

def integrity(url: str) -> dict:
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (source, event_id)) FROM usage_event").fetchone()
        accepted_, duplicates, dead = conn.execute(
            "SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), "
            "coalesce(sum(dead_lettered), 0) FROM ingest_batch").fetchone()
        dead_letters = conn.execute("SELECT count(*) FROM dead_letter").fetchone()[0]
        outcomes = dict(conn.execute(
            "SELECT coalesce(outcome, 'pending'), count(*) FROM usage_event GROUP BY 1 ORDER BY 1"
        ).fetchall())
        entries = conn.execute("SELECT count(*) FROM journal_entry").fetchone()[0]
    return {"stored": stored, "distinct": distinct, "accepted": accepted_,
            "duplicates": duplicates, "dead_lettered": dead, "dead_letters": dead_letters,
            "outcomes": outcomes, "entries": entries}



def checkpoint(url: str) -> None:
    """Write out what earlier passes left in the WAL, so that no pass pays for another's
    checkpoint (needs a superuser or pg_checkpoint; skipped, with a word, otherwise)."""
    with psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            say("  (no CHECKPOINT privilege: passes may pay for each other's checkpoints)")


def one_round(url: str, broker_url: str, events: list[dict], parts: list[list[tuple]],
              batch_size: int, number: int, rounds: int, chunk: int) -> dict | None:
    """End to end, then the bare limit and the store's SQL on the same rows; ``None`` when
    the end-to-end pass could not complete."""
    n = len(events)
    ok = True
    title = f"round {number}/{rounds}: " if rounds > 1 else ""
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        empty_events(conn)
    checkpoint(url)
    say(f"{title}end to end (worker subprocess, RabbitMQ, PostgreSQL):")
    e2e = end_to_end_or_report(url, broker_url, events, batch_size, "royalty-bench-worker.log")
    if e2e is None:
        return None
    check = integrity(url)
    e2e_eps = n / e2e["e2e_s"]
    say(f"  published {e2e['messages']:,} messages in {e2e['publish_s']:.2f}s: "
        f"{n / e2e['publish_s']:,.0f} ev/s")
    say(f"  stored {check['stored']:,} events in {e2e['e2e_s']:.2f}s from first publish: "
        f"{e2e_eps:,.0f} ev/s")
    say("  CPU per stored event: " + ", ".join(
        f"{part} {seconds / n * 1e6:.1f} µs" for part, seconds in e2e["cpu"].items())
        + f"; CPUs {e2e['busy']:.0%} busy")
    say(f"  worker batches: {e2e['batches']:,} commits, avg {e2e['avg_batch']:,.0f} "
        f"events, max {e2e['max_batch']:,}")
    say(f"  worker RSS: idle {mib(e2e['idle_rss'])}, peak {mib(e2e['peak_rss'])} "
        f"(process tree); stopped with status {e2e['worker_status']}")
    say(f"  check: stored {check['stored']:,}, distinct identities {check['distinct']:,}, "
        f"accepted {check['accepted']:,}, duplicates {check['duplicates']:,}, "
        f"dead letters {check['dead_letters']:,}")
    say("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in check["outcomes"].items())
        + f"; journal entries {check['entries']:,}")
    if check["outcomes"].get("pending"):
        say(f"  ERROR: {check['outcomes']['pending']:,} event(s) stored without an outcome")
        ok = False
    if check["stored"] != n or check["accepted"] != n:
        say(f"  ERROR: stored {check['stored']:,} / accepted {check['accepted']:,}, "
            f"expected exactly {n:,}")
        ok = False
    if check["duplicates"] or check["distinct"] != check["stored"]:
        say(f"  ERROR: {check['duplicates']:,} duplicate(s) reported")
        ok = False
    if check["dead_letters"] or check["dead_lettered"]:
        say(f"  ERROR: {check['dead_letters']:,} dead letter(s) for valid events")
        ok = False

    blobs = stored_chunks(url, chunk)
    bare_eps = {}
    for kind, what in (("stored", "the rows as stored: events with their evaluation"),
                       ("raw", "the raw rows: events before evaluation")):
        checkpoint(url)
        say(f"{title}bare PostgreSQL on {what} (COPY into staging + the deduplicating "
            f"insert, commit; {chunk:,} rows per transaction, {len(parts)} transactions):")
        b = bare_dedupe_stored(url, blobs) if kind == "stored" else bare_dedupe(url, parts)
        bare_eps[kind] = n / b["seconds"]
        say(f"  stored {b['inserted']:,} events in {b['seconds']:.2f}s: "
            f"{bare_eps[kind]:,.0f} ev/s")
        for step, spent in b["steps"].items():
            say(f"    {step:40s} {spent:6.2f}s  {1e6 * spent / n:6.2f} µs/event")
        if b["inserted"] != n:
            say(f"  ERROR: bare run stored {b['inserted']:,}, expected {n:,}")
            ok = False
    del blobs
    checkpoint(url)
    s = bare_store(url, parts)
    say(f"{title}store's own SQL (store.write: stage, COPY, evaluate, insert, book, batch log; "
        f"commit): {s['accepted']:,} events in {s['seconds']:.2f}s: "
        f"{n / s['seconds']:,.0f} ev/s")
    if s["accepted"] != n:
        say("  ERROR: store.write did not accept every event")
        ok = False
    return {"round": number, "e2e": e2e_eps, "bare": bare_eps["stored"],
            "bare_raw": bare_eps["raw"], "store": n / s["seconds"],
            "peak_rss": e2e["peak_rss"], "cpu_us": 1e6 * sum(e2e["cpu"].values()) / n,
            "ok": ok}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000, help="events to ingest")
    parser.add_argument("--batch-size", type=int, default=1000, help="events per message")
    parser.add_argument("--works", type=int, default=1000,
                        help="registered works that half of the events use (0: licensee only)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="rows per bare-PostgreSQL transaction (default: the consumer's "
                             "flush size at this message size)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the three passes; the medians are compared")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    n = args.events

    server_url = os.environ.get("ROYALTY_DATABASE_URL") or DEFAULT_SERVER
    broker_url = os.environ.get("ROYALTY_BROKER_URL") or DEFAULT_BROKER
    say(f"ingest bench: {n:,} events, {args.batch_size:,} per message, "
        f"{args.works:,} registered works")
    say(f"  server {make_url(server_url).render_as_string(hide_password=True)}, "
        f"database {BENCH_DB}; broker {make_url(broker_url).render_as_string(hide_password=True)}")

    ok = True
    url = fresh_database(server_url, args.works)
    try:
        with psycopg.connect(ledger_db.libpq_url(url)) as conn:
            licensee_id = conn.execute("SELECT id FROM licensee WHERE key = %s",
                                       (LICENSEE,)).fetchone()[0]
            version, jit, sync, buffers = conn.execute(
                "SELECT current_setting('server_version'), current_setting('jit'), "
                "current_setting('synchronous_commit'), current_setting('shared_buffers')"
            ).fetchone()
        say(f"  PostgreSQL {version} (jit {jit}, synchronous_commit {sync}, shared_buffers "
            f"{buffers}); {os.cpu_count()} CPUs here")
        t = time.perf_counter()
        events = make_events(n, args.works)
        chunk, per_flush, msg_bytes = consumer_flush_events(events, args.batch_size)
        chunk = args.chunk or chunk
        say(f"  generated {n:,} events in {time.perf_counter() - t:.1f}s (not timed); "
            f"message body ≈ {msg_bytes / 1024:,.0f} KiB, consumer flush ≈ {per_flush} "
            f"messages = {chunk:,} events")

        # Rounds of the three passes, each on an empty inbox after a checkpoint, so that
        # the passes share the machine's state (and its drift); the medians are compared.
        rows = stored_rows(events, licensee_id)
        parts = chunks_of(rows, chunk)
        del rows
        runs: list[dict] = []
        for number in range(1, args.rounds + 1):
            outcome = one_round(url, broker_url, events, parts, args.batch_size, number,
                                args.rounds, chunk)
            if outcome is None:
                return 1
            ok = ok and outcome.pop("ok")
            runs.append(outcome)

        e2e_eps = statistics.median(r["e2e"] for r in runs)
        bare_eps = statistics.median(r["bare"] for r in runs)
        raw_eps = statistics.median(r["bare_raw"] for r in runs)
        store_eps = statistics.median(r["store"] for r in runs)
        peak = max(r["peak_rss"] for r in runs)
        ratio = e2e_eps / bare_eps
        say("summary" + (f" (median of {len(runs)} rounds)" if len(runs) > 1 else "") + ":")
        if len(runs) > 1:
            for r in runs:
                say(f"  round {r['round']}: e2e {r['e2e']:,.0f} ev/s, bare {r['bare']:,.0f} "
                    f"ev/s, ratio {r['e2e'] / r['bare']:.2f}; raw rows {r['bare_raw']:,.0f} "
                    f"ev/s, ratio {r['e2e'] / r['bare_raw']:.2f}; store SQL {r['store']:,.0f} "
                    "ev/s")
        say(f"ingest: e2e {e2e_eps:,.0f} ev/s, bare {bare_eps:,.0f} ev/s, ratio {ratio:.2f}, "
            f"store SQL {store_eps:,.0f} ev/s, worker peak RSS {peak / 2**20:,.0f} MiB")
        say(f"  bare on the raw rows (events before evaluation: fewer columns and index "
            f"entries than stored) {raw_eps:,.0f} ev/s, ratio {e2e_eps / raw_eps:.2f}")
        raw_ratio = e2e_eps / raw_eps
        say(f"targets: e2e ≥ {TARGET_EPS:,} ev/s: {'met' if e2e_eps >= TARGET_EPS else 'MISSED'}; "
            f"ratio ≥ {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'} "
            f"(against the raw rows, the earlier yardstick: "
            f"{'met' if raw_ratio >= TARGET_RATIO else 'MISSED'})")
        # What the machine allows at the CPU the end-to-end pass spent per event (worker,
        # PostgreSQL, RabbitMQ and the publisher, all on this machine's CPUs).
        cpu_us = statistics.median(r["cpu_us"] for r in runs)
        cpus = psutil.cpu_count() or 1
        say(f"CPU budget: the end-to-end parts spent {cpu_us:.1f} µs of CPU per stored event; "
            f"{cpus} CPUs allow at most {cpus * 1e6 / cpu_us:,.0f} ev/s at that cost, and "
            f"{TARGET_EPS:,} ev/s needs at most {cpus * 1e6 / TARGET_EPS:.1f} µs")
    finally:
        if args.keep:
            say(f"kept database {BENCH_DB}")
        else:
            drop_database(server_url)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
