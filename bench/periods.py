"""Period-close benchmark (contract §9): a quarter of N pooled uses across a catalog of K
works (one pool license) closed by the product, and, in the same run on the same rows, the
bare SQL of the same allocation. A measurement, not a test: it prints figures.

    python -m bench.periods [--events N ...] [--works K] [--creators C] [--keep]

``ROYALTY_DATABASE_URL`` names the *server* (default the local one); a fresh
``royalty_bench_periods`` database is created per size and dropped at the end.

Set-up (not timed): the catalog is COPYed as ``bench.booking`` does (200,000 works, up to 3
creators each); the licensee and one pool license (250,000.00 USD per quarter, fee 15%)
go through the real importer; the N uses are inserted into ``usage_event`` already
evaluated as ingest leaves a pooled use (accrued, work and split version set, no amount),
with quantities 1 to 5, in the first quarter of 2026; then VACUUM ANALYZE.

Timed:
- bare: one ``INSERT ... SELECT`` of the allocation (``ledger.periods.sql``'s select: the
  period's uses, their share of the pool by window functions, fee and net) into a plain
  table with no index; commit.
- close: ``ledger.periods.close.close`` as ``royalty periods close`` runs it (locks, the
  period's figures, the allocation into ``period_allocation``, the balanced entry with
  its aggregated postings to every creator, the period's row); commit.
Both are checked: the same amounts per event, summing to the pool; the journal balances.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from decimal import Decimal

import psycopg

from bench.booking import SHARES, work_creators
from bench.common import DEFAULT_SERVER, LICENSEE, jsonl, say, work_sha256
from ledger import db as ledger_db
from ledger import migrate
from ledger.catalog.service import ImportKind, import_file
from ledger.periods import close as closing
from ledger.periods import rules, sql

BENCH_DB = "royalty_bench_periods"
LICENSE = "bench-pool-2026"
POOL = Decimal("250000.00")
TARGET_RATIO = 2.0
QUARTER = rules.parse_label("2026-Q1")

# N pooled uses: work k = i mod K (each work used), quantity 1..5, spread over the quarter.
INSERT_USES = """
INSERT INTO usage_event (source, event_id, content_hash, time, licensee_id, purpose,
                         quantity, unit, outcome, work_id, split_version_id, license_id,
                         currency)
SELECT 'urn:bench:pipeline:' || (i %% 7), 'ev-' || i, '\\x00'::bytea,
       timestamptz '2026-01-01 00:00:00+00' + (i %% 7776000) * interval '1 second',
       %(licensee)s, 'ai-train', 1 + i %% 5, 'uses', 'accrued', 1 + i %% %(works)s,
       1 + i %% %(works)s, %(license)s, 'USD'
FROM generate_series(%(first)s, %(last)s) AS i
"""


def server_url() -> str:
    return os.environ.get("ROYALTY_DATABASE_URL") or DEFAULT_SERVER


def database_url(server: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=BENCH_DB, drivername="postgresql") \
        .render_as_string(hide_password=False)


def drop(server: str) -> None:
    with psycopg.connect(ledger_db.libpq_url(server), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def copy_catalog(url: str, works: int, creators: int) -> None:
    """The catalog of ``bench.booking``, COPYed with the triggers off: the split-share
    trigger that refreshes opt-outs looks each version up in an array of all of them
    (quadratic for a bulk load); no one opted out, so the opt-outs stay empty."""
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        conn.execute("SET session_replication_role = replica")
        rows = {
            "creator (id, key, name, currency)":
                ((c, f"bench-c{c:05d}", f"Creator {c}", "USD") for c in range(1, creators + 1)),
            "work (id, key, title, kind)":
                ((k + 1, f"bench-w{k:06d}", f"Bench work {k}", "video") for k in range(works)),
            "work_identifier (kind, value, work_id)":
                (("sha256", work_sha256(k), k + 1) for k in range(works)),
            "split_version (id, work_id, effective_from, creator_ids, shares)":
                ((k + 1, k + 1, "0001-01-01T00:00:00Z", sorted(work_creators(k, creators)),
                  [Decimal(x) for x in SHARES[len(work_creators(k, creators))]])
                 for k in range(works)),
            "split_share (split_version_id, creator_id, share)":
                ((k + 1, c, Decimal(x)) for k in range(works)
                 for c, x in zip(sorted(work_creators(k, creators)),
                                 SHARES[len(work_creators(k, creators))], strict=True)),
        }
        for table, values in rows.items():
            with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        for table in ("creator", "work", "split_version"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        for table in ("creator", "work", "work_identifier", "split_version", "split_share"):
            conn.execute(f"VACUUM ANALYZE {table}")


def set_up(server: str, events: int, works: int, creators: int) -> str:
    drop(server)
    with psycopg.connect(ledger_db.libpq_url(server), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    url = database_url(server)
    migrate.upgrade(url)
    engine = ledger_db.make_engine(url)
    try:
        import_file(engine, ImportKind.licensees, jsonl([
            {"licensee": LICENSEE, "name": "Bench AI Inc.", "email": "ap@bench.example"}]))
        copy_catalog(url, works, creators)
        import_file(engine, ImportKind.licenses, jsonl([
            {"license": LICENSE, "licensee": LICENSEE, "scope": {"catalog": True},
             "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
             "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
             "rate": {"type": "pool", "amount": str(POOL), "period": "quarter",
                      "unit": "uses"}, "platform_fee": "0.15"}]))
    finally:
        engine.dispose()
    t = time.perf_counter()
    with psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
        conn.execute("UPDATE catalog_change SET processed_at = now()")
        licensee = conn.execute("SELECT id FROM licensee").fetchone()[0]
        license_id = conn.execute("SELECT id FROM license").fetchone()[0]
        step = 1_000_000
        for first in range(0, events, step):
            conn.execute(INSERT_USES, {"licensee": licensee, "license": license_id,
                                       "works": works, "first": first,
                                       "last": min(first + step, events) - 1})
        conn.execute("VACUUM ANALYZE usage_event")
    say(f"  set-up: {events:,} pooled uses inserted and analyzed in "
        f"{time.perf_counter() - t:.1f} s")
    return url


def bare(url: str) -> float:
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        conn.execute("CREATE TABLE bare_allocation (event_id bigint, licensee_id integer, "
                     "work_id integer, split_version_id integer, quantity numeric, "
                     "gross numeric(38, 9), fee numeric(38, 9), net numeric(38, 9))")
        conn.commit()
        license_id = conn.execute("SELECT id FROM license").fetchone()[0]
        t = time.perf_counter()
        conn.execute(f"INSERT INTO bare_allocation {sql.BARE_SELECT_POOLED}", {
            "license": license_id, "starts": QUARTER.starts_at, "ends": QUARTER.ends_at,
            "units": int(POOL * 10**9), "fee": Decimal("0.15")})
        conn.commit()
        return time.perf_counter() - t


def close(url: str) -> tuple[float, closing.Run]:
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        [deal] = closing.deals(conn, LICENSE)
        conn.commit()
        t = time.perf_counter()
        run = closing.close(conn, deal, QUARTER)
        conn.commit()
        return time.perf_counter() - t, run


def check(url: str, events: int) -> None:
    with psycopg.connect(ledger_db.libpq_url(url)) as conn:
        allocated, rows = conn.execute(
            "SELECT sum(gross), count(*) FROM period_allocation").fetchone()
        differ = conn.execute(
            "SELECT count(*) FROM period_allocation a JOIN bare_allocation b "
            "USING (event_id) WHERE (a.gross, a.fee, a.net) <> (b.gross, b.fee, b.net)"
        ).fetchone()[0]
        unbalanced = conn.execute(
            "SELECT count(*) FROM (SELECT a.currency FROM posting p JOIN account a "
            "ON a.id = p.account_id GROUP BY a.currency HAVING sum(p.amount) <> 0) x"
        ).fetchone()[0]
        creators = conn.execute(
            "SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id "
            "WHERE a.kind = 'creator_payable'").fetchone()[0]
        nets = conn.execute("SELECT sum(net) FROM period_allocation").fetchone()[0]
    assert rows == events and allocated == POOL, (rows, allocated)
    assert differ == 0 and unbalanced == 0 and creators == nets, (differ, unbalanced)
    say(f"  checked: {rows:,} amounts summing to {allocated} USD, equal to the bare SQL's; "
        f"creators credited {creators} = Σ net; the journal balances")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--works", type=int, default=200_000)
    parser.add_argument("--creators", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="Keep the last database.")
    args = parser.parse_args(argv)
    server = server_url()
    say(f"period close: one pool license, {args.works:,} works, a quarter of pooled uses "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    results = []
    try:
        for events in args.events:
            say(f"{events:,} events:")
            url = set_up(server, events, args.works, args.creators)
            bare_seconds = bare(url)
            say(f"  bare SQL (one INSERT ... SELECT with window functions into a plain "
                f"table): {bare_seconds:.2f} s")
            close_seconds, run = close(url)
            say(f"  close (royalty periods close: allocation, balanced entry, period row): "
                f"{close_seconds:.2f} s; {run.events:,} events, pool {run.pool}")
            ratio = close_seconds / bare_seconds
            say(f"  ratio close / bare: {ratio:.2f} (target ≤ {TARGET_RATIO})")
            check(url, events)
            results.append((events, close_seconds, bare_seconds))
    finally:
        if not args.keep:
            drop(server)
    if len(results) > 1:
        (n0, c0, _), (n1, c1, _) = results[0], results[-1]
        say(f"growth: {n1 / n0:.0f}x the events took {c1 / c0:.1f}x the close time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
