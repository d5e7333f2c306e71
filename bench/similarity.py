"""Similarity-matching benchmark (contract §8): events of which 30 % carry only a
near-duplicate PDQ hash of a registered work, 20 % an unregistered hash, the rest exact
identifiers, from publish to booked through the real worker; and, in the same run on the
same catalog, the same events with exact identifiers only. Then the per-item cost of the
similarity lookup as the number of registered hashes grows. Prints figures; not a test.

    python -m bench.similarity [--events 500000] [--works 200000] [--hashes 1000000]
                               [--isccs 100000] [--rounds 3]
                               [--lookup-sizes 100000,1000000]

Environment: ``ROYALTY_DATABASE_URL`` names the *server* (a fresh ``royalty_bench_similarity``
database is created and dropped), ``ROYALTY_BROKER_URL`` the broker.

Catalog (COPYed, not timed): ``--works`` works with a sha256 each, ``--hashes`` registered
PDQ hashes spread over them (several renditions a work) and ``--isccs`` ISCC image
Content-Codes. Hashes are pseudo-random 256-bit values: real PDQ hashes cluster more, so
their band buckets are fuller (the lookup figures are a lower bound of the cost). A
near-duplicate flips 2-12 bits of a registered hash (well inside the auto threshold of 31).

Exact-only pass: the near-duplicate events carry their work's sha256 instead of the hash,
the unregistered ones an unregistered sha256: the same outcomes, found by exact look-ups.
``--rounds`` rounds each run both passes, alternating which goes first; a round's ratio
similarity / exact-only is of its two rates, and the ratio held to the target (≥ 0.6) is
the median of the rounds' (identical passes differ by several per cent from one to the
next).

Lookup cost: ``--lookup-sizes`` band tables (partitioned as ``fingerprint_band``) of that
many registered hashes; 2,000 near-duplicate queries run through the production statement
as one set-based statement (as a batch does: 28,000 band probes, each band position's in
key order), timed; per item = time / 2,000. Candidates per item: the band entries sharing a
band with the query (compared by ``bit_count``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import iscc_core
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.booking import FEE, LICENSE, PRICE, SHARES, work_creators  # noqa: E402
from bench.common import (  # noqa: E402
    DEFAULT_BROKER, DEFAULT_SERVER, LICENSEE, end_to_end_or_report, jsonl, say,
    work_sha256,
)
from ledger import db as ledger_db  # noqa: E402
from ledger import migrate  # noqa: E402
from ledger.catalog.repository import BEGINNING  # noqa: E402
from ledger.catalog.service import ImportKind, import_file  # noqa: E402
from ledger.ingest.events import EVENT_TYPE  # noqa: E402
from ledger.matching import sql  # noqa: E402

DB = "royalty_bench_similarity"
TARGET_RATIO = 0.6
PASSES = {"exact": "exact identifiers only",
          "similar": "similarity (30% near-duplicate PDQ, 20% unregistered PDQ)"}


def _url(server_url: str, database: str = DB) -> str:
    return make_url(server_url).set(database=database, drivername="postgresql") \
        .render_as_string(hide_password=False)


def pdq_of(h: int) -> str:
    return hashlib.sha256(b"bench-pdq-%d" % h).hexdigest()


def iscc_of(h: int) -> str:
    body = hashlib.sha256(b"bench-iscc-%d" % h).digest()[:8]
    return "ISCC:" + iscc_core.encode_component(iscc_core.MT.CONTENT, iscc_core.ST_CC.IMAGE,
                                                iscc_core.VS.V0, 64, body)


def flip(value: str, rng: random.Random) -> str:
    number = int(value, 16)
    for bit in rng.sample(range(256), rng.randint(2, 12)):
        number ^= 1 << bit
    return format(number, "064x")


def fresh_database(server_url: str, works: int, hashes: int, isccs: int) -> str:
    with psycopg.connect(ledger_db.libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    url = _url(server_url)
    migrate.upgrade(url)
    engine = ledger_db.make_engine(url)
    try:
        import_file(engine, ImportKind.licensees, jsonl([
            {"licensee": LICENSEE, "name": "Bench AI Inc.", "email": "ap@bench.example"}]))
        creators = 5_000
        with psycopg.connect(ledger_db.libpq_url(url)) as conn:
            with conn.cursor().copy("COPY creator (id, key, name, currency) FROM STDIN") as copy:
                for c in range(1, creators + 1):
                    copy.write_row((c, f"bench-c{c:05d}", f"Creator {c}", "USD"))
            with conn.cursor().copy("COPY work (id, key, title, kind) FROM STDIN") as copy:
                for k in range(works):
                    copy.write_row((k + 1, f"bench-w{k:06d}", f"Bench work {k}", "image"))
            # the band indexes are built once after the load, as a bulk load would
            conn.execute("DROP INDEX work_identifier_bands")
            conn.execute("DROP INDEX fingerprint_band_band")
            with conn.cursor().copy(
                    "COPY work_identifier (kind, value, work_id) FROM STDIN") as copy:
                for k in range(works):
                    copy.write_row(("sha256", work_sha256(k), k + 1))
                for h in range(hashes):
                    copy.write_row(("pdq", pdq_of(h), h % works + 1))
                for h in range(isccs):
                    copy.write_row(("iscc", iscc_of(h), h % works + 1))
            with conn.cursor().copy(
                    "COPY split_version (id, work_id, effective_from) FROM STDIN") as copy:
                for k in range(works):
                    copy.write_row((k + 1, k + 1, BEGINNING))
            with conn.cursor().copy(
                    "COPY split_share (split_version_id, creator_id, share) FROM STDIN") as copy:
                for k in range(works):
                    ids = work_creators(k, creators)
                    for creator_id, share in zip(ids, SHARES[len(ids)], strict=True):
                        copy.write_row((k + 1, creator_id, share))
            conn.execute("CREATE INDEX work_identifier_bands ON work_identifier USING gin (bands) "
                         "WITH (fastupdate = off) WHERE bands IS NOT NULL")
            conn.execute("CREATE INDEX fingerprint_band_band ON fingerprint_band (band) "
                         "INCLUDE (work_id, bits, via)")
            for table in ("creator", "work", "split_version"):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))")
            conn.commit()
            conn.autocommit = True
            for table in ("creator", "work", "work_identifier", "split_version", "split_share",
                          "fingerprint_band"):
                conn.execute(f"VACUUM ANALYZE {table}")
        import_file(engine, ImportKind.licenses, jsonl([
            {"license": LICENSE, "licensee": LICENSEE, "scope": {"catalog": True},
             "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
             "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
             "rate": {"type": "per_unit", "unit": "uses", "price": str(PRICE)},
             "platform_fee": str(FEE)}]))
    finally:
        engine.dispose()
    with psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
        conn.execute("UPDATE catalog_change SET processed_at = now() WHERE processed_at IS NULL")
    return url


def make_events(n: int, works: int, hashes: int, *, exact_only: bool,
                seed: int) -> tuple[list[dict], dict[str, int]]:
    """The events, and for each near-duplicate event the work it copies."""
    rng = random.Random(seed)
    run_tag = uuid.uuid4().int >> 64
    base = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    events, copies = [], {}
    for i in range(n):
        event_id = str(uuid.UUID(int=(run_tag << 64) | i))
        share = i % 10
        if share < 3:  # a near-duplicate of a registered hash
            h = rng.randrange(hashes)
            work = h % works
            item = ({"sha256": work_sha256(work)} if exact_only
                    else {"pdq": flip(pdq_of(h), rng)})
            copies[event_id] = work + 1
        elif share < 5:  # unregistered
            item = ({"sha256": hashlib.sha256(b"unregistered-%d" % i).hexdigest()} if exact_only
                    else {"pdq": hashlib.sha256(b"unregistered-pdq-%d" % i).hexdigest()})
        else:
            item = {"sha256": work_sha256(rng.randrange(works))}
        events.append({
            "specversion": "1.0", "type": EVENT_TYPE, "source": f"urn:bench:similar:{i % 4}",
            "id": event_id,
            "time": (base + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "datacontenttype": "application/json",
            "data": {"licensee": LICENSEE, "purpose": "ai-train", "model": "bench-model",
                     "dataset": "bench-set", "item": item, "quantity": "1", "unit": "uses"}})
    return events, copies


# What a pass books (events, tallies, postings) is emptied before the next one, so that each
# starts from the same ledger: a growing tally makes every later pass's inserts dearer.
BOOKED = ("usage_event", "ingest_batch", "usage_tally", "usage_work_tally", "posting",
          "journal_entry")


def reset_booked(conn: psycopg.Connection) -> None:
    conn.execute("SET LOCAL royalty.maintenance = on")  # else the ledger refuses TRUNCATE
    conn.execute(f"TRUNCATE {', '.join(BOOKED)}")
    conn.commit()


def run_pass(url: str, broker_url: str, events: list[dict], copies: dict[str, int],
             batch_size: int, name: str) -> dict | None:
    say(f"{name}:")
    result = end_to_end_or_report(url, broker_url, events, batch_size,
                                  f"royalty-bench-similarity-{name.split()[0]}.log")
    if result is None:
        return None
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        outcomes = dict(conn.execute(
            "SELECT coalesce(match_method, outcome), count(*) FROM usage_event GROUP BY 1"))
        found = conn.execute(
            "SELECT count(*) FROM usage_event e JOIN unnest(%s::text[], %s::integer[]) "
            "AS c(event_id, work_id) ON c.event_id = e.event_id AND c.work_id = e.work_id",
            (list(copies), list(copies.values()))).fetchone()[0]
        reset_booked(conn)
    rate = len(events) / result["e2e_s"]
    say(f"  {len(events):,} events booked in {result['e2e_s']:.1f}s: {rate:,.0f} ev/s; "
        f"{result['batches']} batches; published in {result['publish_s']:.1f}s")
    cpu = result["cpu"]
    say("  CPU seconds: " + ", ".join(f"{part} {cpu[part]:.1f}" for part in cpu)
        + f"; machine busy {result['busy']:.0%}")
    say("  by method / outcome: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))
    say(f"  near-duplicates paid to the work they copy: {found:,} of {len(copies):,} "
        f"({found / max(len(copies), 1):.1%})")
    return {"rate": rate, "recall": found / max(len(copies), 1)}


def lookup_cost(server_url: str, sizes: list[int], queries: int = 2_000) -> None:
    """The production look-up (``sql.BAND_CANDIDATES``: 14 index ranges an item, one band
    position at a time) on band tables of growing size, partitioned as ``fingerprint_band``
    is; one statement for all queries, as a batch runs it."""
    if not sizes:
        return
    say("similarity lookup cost (one set-based statement for all queries):")
    rng = random.Random(7)
    url = _url(server_url)
    with psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
        # a fingerprint_band of the bench's own, found first by the production statement
        conn.execute("DROP SCHEMA IF EXISTS bench_lookup CASCADE")
        conn.execute("CREATE SCHEMA bench_lookup")
        conn.execute("CREATE TABLE bench_lookup.fingerprint_band "
                     "(LIKE public.fingerprint_band INCLUDING DEFAULTS) PARTITION BY RANGE (band)")
        parts = conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'public.fingerprint_band'::regclass").fetchall()
        for name, bound in parts:
            conn.execute(f"CREATE TABLE bench_lookup.{name} PARTITION OF "
                         f"bench_lookup.fingerprint_band {bound}")
        conn.execute("SET search_path TO bench_lookup, public")
        loaded = 0
        for size in sorted(sizes):
            t = time.perf_counter()
            conn.execute("DROP INDEX IF EXISTS bench_lookup.fingerprint_band_band")
            # the same hashes as pdq_of(h): sha256 of 'bench-pdq-<h>'
            conn.execute("""
                INSERT INTO fingerprint_band (band, bits, work_id)
                SELECT k.band, pdq_bits(v.hash), 0
                FROM (SELECT encode(sha256(convert_to('bench-pdq-' || h, 'UTF8')), 'hex') AS hash
                      FROM generate_series(%s, %s) AS h) AS v
                CROSS JOIN LATERAL unnest(pdq_keys(v.hash)) AS k(band)""", (loaded, size - 1))
            loaded = size
            conn.execute("CREATE INDEX fingerprint_band_band ON fingerprint_band (band) "
                         "INCLUDE (work_id, bits, via)")
            conn.execute("VACUUM ANALYZE fingerprint_band")
            built = time.perf_counter() - t
            probes = [flip(pdq_of(rng.randrange(size)), rng) for _ in range(queries)]
            statement = """
                WITH f AS MATERIALIZED (
                    SELECT row_number() OVER () AS n, 'pdq' AS kind, d.value, d.bits,
                           31 AS reach, pdq_keys(d.value) AS bands
                    FROM (SELECT value, """ + sql.PADDED_BITS["pdq"].format(value="value") + """
                                 AS bits FROM unnest(%s::text[]) AS value) AS d)
                SELECT c.n, min(c.distance)
                FROM (""" + sql.BAND_CANDIDATES.format(fingerprints="f") + """) AS c
                GROUP BY c.n"""
            conn.execute(statement, (probes[:100],)).fetchall()  # warm
            t = time.perf_counter()
            found = len(conn.execute(statement, (probes,)).fetchall())
            seconds = time.perf_counter() - t
            candidates = conn.execute(
                "SELECT avg(c) FROM (SELECT (SELECT count(*) FROM unnest(pdq_keys(q.value)) "
                "AS k(band) JOIN fingerprint_band b ON b.band = k.band) AS c "
                "FROM unnest(%s::text[]) AS q(value)) AS x", (probes[:200],)).fetchone()[0]
            say(f"  {size:>10,} registered hashes: {seconds / queries * 1e6:,.0f} µs per item "
                f"({found:,}/{queries:,} found; {float(candidates):,.1f} candidates compared "
                f"per item; band index built in {built:.0f}s)")
        conn.execute("DROP SCHEMA bench_lookup CASCADE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--works", type=int, default=200_000)
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--isccs", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000, help="events per message")
    parser.add_argument("--lookup-sizes", default="100000,1000000")
    parser.add_argument("--rounds", type=int, default=3,
                        help="pairs of passes; the ratio printed last is their median")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--reuse", action="store_true",
                        help="use the catalog a --keep run left (same sizes), and keep it")
    args = parser.parse_args(argv)
    server_url = os.environ.get("ROYALTY_DATABASE_URL") or DEFAULT_SERVER
    broker_url = os.environ.get("ROYALTY_BROKER_URL") or DEFAULT_BROKER
    say(f"similarity bench: {args.events:,} events (30% near-duplicate PDQ, 20% unregistered, "
        f"50% exact); {args.works:,} works, {args.hashes:,} PDQ hashes, {args.isccs:,} ISCCs; "
        f"{os.cpu_count()} CPUs")
    t = time.perf_counter()
    if args.reuse:
        url = _url(server_url)
        say("  reusing the kept catalog")
    else:
        url = fresh_database(server_url, args.works, args.hashes, args.isccs)
        say(f"  catalog ready in {time.perf_counter() - t:.0f}s (not timed)")
    try:
        with psycopg.connect(ledger_db.libpq_url(url)) as conn:
            reset_booked(conn)  # what an interrupted run left
        ratios, recalls = [], []
        for round_ in range(1, args.rounds + 1):
            # Alternate which pass runs first, so that neither always meets the colder cache.
            order = ("exact", "similar") if round_ % 2 else ("similar", "exact")
            say(f"round {round_} of {args.rounds}:")
            rates = {}
            for kind in order:
                events, copies = make_events(args.events, args.works, args.hashes,
                                             exact_only=kind == "exact", seed=round_)
                result = run_pass(url, broker_url, events, copies, args.batch_size,
                                  PASSES[kind])
                if result is None:
                    return 1
                rates[kind] = result["rate"]
                if kind == "similar":
                    recalls.append(result["recall"])
            ratios.append(rates["similar"] / rates["exact"])
            say(f"  ratio similarity / exact-only in round {round_}: {ratios[-1]:.2f}")
        ratio = statistics.median(ratios)
        say(f"ratio similarity / exact-only: {ratio:.2f}, median of "
            f"{', '.join(f'{r:.2f}' for r in ratios)} (target ≥ {TARGET_RATIO}: "
            f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}); near-duplicate recall "
            f"{min(recalls):.1%}")
        lookup_cost(server_url, [int(s) for s in args.lookup_sizes.split(",") if s])
        return 0 if ratio >= TARGET_RATIO else 1
    finally:
        if not (args.keep or args.reuse):
            with psycopg.connect(ledger_db.libpq_url(server_url), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
