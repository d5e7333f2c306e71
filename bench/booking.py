"""Booking benchmark ("Match, price and book"): N usage events, 80% of them naming a work of
a 200,000-work catalog (up to 3 creators per work), from publish to booked; and, in the same
run on the same rows, the bare SQL limit. A measurement, not a test: it prints figures.

    python -m bench.booking [--events N] [--works K] [--creators C] [--batch-size B]
                            [--chunk C] [--keep] [--no-store-sql]

Environment as for ``bench.ingest`` (``ROYALTY_DATABASE_URL`` names the *server*; a fresh
``royalty_bench`` database is created and dropped; ``ROYALTY_BROKER_URL``).

Set-up (not timed): the licensee and one catalog license (ai-train, per use) go through the
real importer; creators, works, identifiers (sha256) and the first split versions
(``effective_from`` 0001-01-01, shares summing to exactly 1, checked by the schema's
deferred trigger at commit) are COPYed straight into their tables, then VACUUM ANALYZEd
(as autovacuum would after a bulk load: without it the visibility map is unset and the
per-event catalog lookups cost ~60% more). The import's
``catalog_change`` row is marked processed: no event exists yet, so there is nothing to
re-evaluate, and the worker's periodic re-evaluation must not run during the measurement.

End to end: the real ``royalty worker`` subprocess; events published with the real
producer; the clock runs from the first publish until ``sum(ingest_batch.accepted)`` = N
(``bench.common.end_to_end``); then every event must have an outcome, and the journal must
check: the trial balance sums to 0 per currency, the creators' credited total equals the
sum of ``net`` over accrued events (and receivables = gross, platform revenue = fee).

Bare SQL limit, as the issue words it: on the same rows (built outside the clock), per
chunk of the consumer's flush size: COPY into a staging table, a deduplicating insert into
``usage_event`` (ON CONFLICT DO NOTHING), a join of the staged rows to ``work_identifier``
and an insert of one posting row per event into a scratch UNLOGGED table with the posting's
columns (real postings need an open, balanced entry); commit. ``usage_event`` is emptied
first. Then, unless ``--no-store-sql``, the store's own SQL (``store.write``: stage, COPY,
evaluate, insert, book, batch log; commit) on the same rows, after emptying it again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

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
from ledger.catalog.repository import BEGINNING
from ledger.catalog.service import ImportKind, import_file
from ledger.ingest import sql as ingest_sql
from ledger.ingest import store
from ledger.ingest.events import EVENT_TYPE

TARGET_EPS = 40_000
TARGET_RATIO = 0.4
LICENSE = "bench-train-2026"
PRICE = Decimal("0.0023")
FEE = Decimal("0.15")
# Shares by number of creators: each set sums to exactly 1.
SHARES = {1: ("1",), 2: ("0.6", "0.4"), 3: ("0.5", "0.3", "0.2")}


def unregistered_sha256(i: int) -> str:
    return hashlib.sha256(b"bench-unregistered-%d" % i).hexdigest()


# --- set-up ---------------------------------------------------------------------------------

def work_creators(k: int, creators: int) -> list[int]:
    """1..3 distinct creator ids (1-based) for work k: a third of the works each."""
    count = 1 + k % 3
    first = (k * 7919) % creators
    return [1 + (first + j * 997) % creators for j in range(count)]


def copy_catalog(url: str, works: int, creators: int) -> dict:
    t = time.perf_counter()
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        with conn.cursor().copy("COPY creator (id, key, name, currency) FROM STDIN") as copy:
            for c in range(1, creators + 1):
                copy.write_row((c, f"bench-c{c:05d}", f"Creator {c}", "USD"))
        with conn.cursor().copy("COPY work (id, key, title, kind) FROM STDIN") as copy:
            for k in range(works):
                copy.write_row((k + 1, f"bench-w{k:06d}", f"Bench work {k}", "video"))
        with conn.cursor().copy("COPY work_identifier (kind, value, work_id) FROM STDIN") as copy:
            for k in range(works):
                copy.write_row(("sha256", work_sha256(k), k + 1))
        with conn.cursor().copy(
                "COPY split_version (id, work_id, effective_from) FROM STDIN") as copy:
            for k in range(works):
                copy.write_row((k + 1, k + 1, BEGINNING))
        shares = 0
        with conn.cursor().copy(
                "COPY split_share (split_version_id, creator_id, share) FROM STDIN") as copy:
            for k in range(works):
                ids = work_creators(k, creators)
                for creator_id, share in zip(ids, SHARES[len(ids)], strict=True):
                    copy.write_row((k + 1, creator_id, share))
                    shares += 1
        for table in ("creator", "work", "split_version"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.commit()  # the deferred trigger checks every split sums to 1 here
        conn.autocommit = True
        for table in ("creator", "work", "work_identifier", "split_version", "split_share"):
            conn.execute(f"VACUUM ANALYZE {table}")  # as autovacuum would after a bulk load
    return {"seconds": time.perf_counter() - t, "shares": shares}


# ``--deals``: the rate types of contract §9 present in the catalog beside the per-unit
# license that prices the events (another purpose of the same licensee, another licensee).
DEAL_LICENSES = [
    {"license": "bench-pool-2026", "licensee": LICENSEE, "scope": {"catalog": True},
     "purposes": ["ai-input"], "valid_from": "2026-01-01T00:00:00Z",
     "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
     "rate": {"type": "pool", "amount": "250000.00", "period": "quarter", "unit": "uses"}},
    {"license": "bench-share-2026", "licensee": "bench-deals", "scope": {"catalog": True},
     "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
     "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
     "rate": {"type": "revenue_share", "share": "0.2", "period": "month", "unit": "uses",
              "minimum": {"amount": "500.00", "period": "month"}}},
]


def fresh_database(server_url: str, works: int, creators: int,
                   deals: bool = False) -> tuple[str, dict]:
    with psycopg.connect(ledger_db.libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    url = bench_url(server_url)
    migrate.upgrade(url)
    engine = ledger_db.make_engine(url)
    try:
        import_file(engine, ImportKind.licensees, jsonl([
            {"licensee": LICENSEE, "name": "Bench AI Inc.", "email": "ap@bench.example"},
            {"licensee": "bench-deals", "name": "Deals Inc.", "email": "ap@deals.example"}]))
        info = copy_catalog(url, works, creators)
        import_file(engine, ImportKind.licenses, jsonl([
            {"license": LICENSE, "licensee": LICENSEE, "scope": {"catalog": True},
             "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
             "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
             "rate": {"type": "per_unit", "unit": "uses", "price": str(PRICE)},
             "platform_fee": str(FEE)}, *(DEAL_LICENSES if deals else [])]))
    finally:
        engine.dispose()
    with psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
        # No event exists yet: nothing for the re-evaluation to do.
        conn.execute("UPDATE catalog_change SET processed_at = now() WHERE processed_at IS NULL")
    return url, info


# --- events ---------------------------------------------------------------------------------

def make_events(n: int, works: int) -> list[dict]:
    """N valid, distinct ai-train events in uses; 4 in 5 name a registered work's sha256
    (spread over the whole catalog), the others an unregistered item."""
    run_tag = uuid.uuid4().int >> 64
    base = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    events = []
    for i in range(n):
        sha = work_sha256((i * 104_729) % works) if works and i % 5 else unregistered_sha256(i)
        data = {"licensee": LICENSEE, "purpose": "ai-train",
                "activity": "pretrain" if i % 4 else "finetune",
                "model": f"bench-model-{i % 2}", "run": f"run-{i % 7:02d}",
                "dataset": f"dataset-{i % 5}", "item": {"sha256": sha},
                "quantity": str(1 + i % 3), "unit": "uses"}
        events.append({
            "specversion": "1.0", "type": EVENT_TYPE, "source": f"urn:bench:pipeline:{i % 4}",
            "id": str(uuid.UUID(int=(run_tag << 64) | i)),
            "time": (base + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "datacontenttype": "application/json", "data": data})
    return events


# --- checks ---------------------------------------------------------------------------------

def journal_check(url: str) -> dict:
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        outcomes = dict(conn.execute(
            "SELECT coalesce(outcome, 'pending'), count(*) FROM usage_event GROUP BY 1 ORDER BY 1"
        ).fetchall())
        trial = conn.execute(
            "SELECT a.currency, sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id"
            " GROUP BY a.currency ORDER BY 1").fetchall()
        by_kind = dict(conn.execute(
            "SELECT a.kind, sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id"
            " GROUP BY a.kind").fetchall())
        gross, fee, net = conn.execute(
            "SELECT coalesce(sum(gross), 0), coalesce(sum(fee), 0), coalesce(sum(net), 0) "
            "FROM usage_event WHERE outcome = 'accrued'").fetchone()
        entries, postings, creators = conn.execute(
            "SELECT (SELECT count(*) FROM journal_entry), (SELECT count(*) FROM posting), "
            "(SELECT count(DISTINCT owner_id) FROM account WHERE kind = 'creator_payable')"
        ).fetchone()
        accepted, dups, dead = conn.execute(
            "SELECT coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0), "
            "(SELECT count(*) FROM dead_letter) FROM ingest_batch").fetchone()
    credited = -by_kind.get("creator_payable", 0)
    return {"outcomes": outcomes, "trial": trial, "gross": gross, "fee": fee, "net": net,
            "receivable": by_kind.get("licensee_receivable", 0),
            "revenue": -by_kind.get("platform_revenue", 0), "credited": credited,
            "entries": entries, "postings": postings, "creators": creators,
            "accepted": accepted, "duplicates": dups, "dead_letters": dead}


# --- bare SQL -------------------------------------------------------------------------------

BARE_POSTINGS = """
INSERT INTO bare_posting (entry_id, account_id, amount)
SELECT %s, coalesce(i.work_id, 0), CAST(s.quantity AS numeric)
FROM ingest_stage s
LEFT JOIN work_identifier i ON i.kind = 'sha256' AND i.value = s.sha256
"""
CREATE_BARE_POSTING = """
DROP TABLE IF EXISTS bare_posting;
CREATE UNLOGGED TABLE bare_posting (
    id bigserial PRIMARY KEY, entry_id bigint NOT NULL, account_id integer NOT NULL,
    amount numeric(38, 9) NOT NULL);
CREATE INDEX bare_posting_account ON bare_posting (account_id);
CREATE INDEX bare_posting_entry ON bare_posting (entry_id);
"""


def bare_issue(url: str, parts: list[list[tuple]]) -> dict:
    """The issue's bare limit: COPY, dedupe insert, join to identifiers, one posting per
    event, commit; per chunk, JIT off like the consumer."""
    with psycopg.connect(ledger_db.libpq_url(url), options=ledger_db.HOT_PATH_OPTIONS) as conn:
        conn.execute(CREATE_BARE_POSTING)
        empty_events(conn)
        clock = Clock()
        t0 = time.perf_counter()
        inserted = postings = 0
        for entry, part in enumerate(parts, 1):
            conn.execute(ingest_sql.CREATE_STAGE)
            store.copy_stage(conn, part)
            clock.lap("COPY into stage")
            inserted += conn.execute(BARE_DEDUPE).rowcount
            clock.lap("dedupe INSERT usage_event")
            postings += conn.execute(BARE_POSTINGS, (entry,)).rowcount
            clock.lap("join work_identifier + INSERT posting")
            conn.commit()
            clock.lap("commit")
        elapsed = time.perf_counter() - t0
        matched = conn.execute("SELECT count(*) FROM bare_posting WHERE account_id <> 0"
                               ).fetchone()[0]
        conn.execute("DROP TABLE bare_posting")
        conn.commit()
    return {"seconds": elapsed, "inserted": inserted, "postings": postings, "matched": matched,
            "steps": clock.spent}


# --- main -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--works", type=int, default=200_000)
    parser.add_argument("--creators", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=1000, help="events per message")
    parser.add_argument("--chunk", type=int, default=None,
                        help="rows per bare transaction (default: the consumer's flush size)")
    parser.add_argument("--no-store-sql", action="store_true",
                        help="skip the store's-own-SQL bare figure")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--deals", action="store_true",
                        help="pool and revenue-share licenses in the catalog too (§9)")
    args = parser.parse_args(argv)
    n = args.events
    server_url = os.environ.get("ROYALTY_DATABASE_URL") or DEFAULT_SERVER
    broker_url = os.environ.get("ROYALTY_BROKER_URL") or DEFAULT_BROKER
    say(f"booking bench: {n:,} events (80% of a {args.works:,}-work catalog, "
        f"{args.creators:,} creators), {args.batch_size:,} per message")
    say(f"  server {make_url(server_url).render_as_string(hide_password=True)}, database "
        f"{BENCH_DB}; broker {make_url(broker_url).render_as_string(hide_password=True)}; "
        f"{os.cpu_count()} CPUs")
    ok = True
    t = time.perf_counter()
    url, info = fresh_database(server_url, args.works, args.creators, args.deals)
    if args.deals:
        say(f"  with deals: {', '.join(d['license'] for d in DEAL_LICENSES)} in the catalog")
    try:
        say(f"  catalog: {args.works:,} works, {info['shares']:,} shares, COPY set-up "
            f"{info['seconds']:.1f}s; database ready in {time.perf_counter() - t:.1f}s "
            "(not timed)")
        with psycopg.connect(ledger_db.libpq_url(url)) as conn:
            licensee_id = conn.execute("SELECT id FROM licensee WHERE key = %s",
                                       (LICENSEE,)).fetchone()[0]
        t = time.perf_counter()
        events = make_events(n, args.works)
        chunk, per_flush, msg_bytes = consumer_flush_events(events, args.batch_size)
        chunk = args.chunk or chunk
        say(f"  generated {n:,} events in {time.perf_counter() - t:.1f}s (not timed); message "
            f"≈ {msg_bytes / 1024:,.0f} KiB; consumer flush ≈ {per_flush} messages = "
            f"{chunk:,} events")

        say("end to end (publish → royalty worker → booked):")
        e2e = end_to_end_or_report(url, broker_url, events, args.batch_size,
                                   "royalty-bench-booking-worker.log")
        if e2e is None:
            return 1
        e2e_eps = n / e2e["e2e_s"]
        j = journal_check(url)
        say(f"  published {e2e['messages']:,} messages in {e2e['publish_s']:.2f}s "
            f"({n / e2e['publish_s']:,.0f} ev/s)")
        say(f"  booked {e2e['accepted']:,} events in {e2e['e2e_s']:.2f}s from first publish: "
            f"{e2e_eps:,.0f} ev/s")
        say(f"  worker batches: {e2e['batches']:,} commits, avg {e2e['avg_batch']:,.0f} events, "
            f"max {e2e['max_batch']:,}; RSS idle {mib(e2e['idle_rss'])}, peak "
            f"{mib(e2e['peak_rss'])}; exit status {e2e['worker_status']}")
        say("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in j["outcomes"].items()))
        say(f"  journal: {j['entries']:,} entries, {j['postings']:,} postings, "
            f"{j['creators']:,} creators credited")
        say("  trial balance: " + (", ".join(f"{c} {s}" for c, s in j["trial"]) or "empty"))
        say(f"  creators credited {j['credited']} vs Σ net of accrued events {j['net']}: "
            f"{'equal' if j['credited'] == j['net'] else 'DIFFERENT'}")
        say(f"  receivable {j['receivable']} vs Σ gross {j['gross']}; platform revenue "
            f"{j['revenue']} vs Σ fee {j['fee']}")
        expected_accrued = sum(1 for i in range(n) if i % 5) if args.works else 0
        if (j["outcomes"].get("pending") or j["accepted"] != n or j["duplicates"]
                or j["dead_letters"] or any(s != 0 for _, s in j["trial"])
                or j["credited"] != j["net"] or j["receivable"] != j["gross"]
                or j["revenue"] != j["fee"] or j["outcomes"].get("accrued", 0) != expected_accrued
                or not j["trial"] and expected_accrued):
            say(f"  ERROR: the checks above do not hold (expected {expected_accrued:,} accrued, "
                f"{n:,} accepted, no pending/duplicates/dead letters)")
            ok = False

        t = time.perf_counter()
        rows = stored_rows(events, licensee_id)
        del events
        parts = chunks_of(rows, chunk)
        say(f"bare SQL limit (COPY, dedupe insert, join work_identifier, one posting per event, "
            f"commit; {chunk:,} rows per transaction, {len(parts)} transactions; rows built in "
            f"{time.perf_counter() - t:.1f}s, not timed):")
        b = bare_issue(url, parts)
        bare_eps = n / b["seconds"]
        say(f"  {b['inserted']:,} events, {b['postings']:,} postings ({b['matched']:,} matched) "
            f"in {b['seconds']:.2f}s: {bare_eps:,.0f} ev/s")
        for step, spent in b["steps"].items():
            say(f"    {step:40s} {spent:6.2f}s  {1e6 * spent / n:6.2f} µs/event")
        if b["inserted"] != n or b["postings"] != n:
            say("  ERROR: the bare run did not insert every event")
            ok = False
        s = None
        if not args.no_store_sql:
            s = bare_store(url, parts)
            say(f"store's own SQL (store.write: stage, COPY, evaluate, insert, book; commit): "
                f"{s['accepted']:,} events in {s['seconds']:.2f}s: {n / s['seconds']:,.0f} ev/s")
            if s["accepted"] != n:
                say("  ERROR: store.write did not accept every event")
                ok = False

        ratio = e2e_eps / bare_eps
        say("summary:")
        say(f"booking: e2e {e2e_eps:,.0f} ev/s, bare {bare_eps:,.0f} ev/s, ratio {ratio:.2f}"
            + (f", store SQL {n / s['seconds']:,.0f} ev/s (e2e/store {e2e_eps * s['seconds'] / n:.2f})"
               if s else "")
            + f", worker peak RSS {e2e['peak_rss'] / 2**20:,.0f} MiB")
        say(f"targets: e2e ≥ {TARGET_EPS:,} ev/s: {'met' if e2e_eps >= TARGET_EPS else 'MISSED'};"
            f" ratio ≥ {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    finally:
        if args.keep:
            say(f"kept database {BENCH_DB}")
        else:
            drop_database(server_url)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
