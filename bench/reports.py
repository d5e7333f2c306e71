"""Load N booked usage events (default 10,000,000) and time every report as a user calls it
(target: each under 2 s).

    .venv/bin/python bench/reports.py [--events N] [--keep] [--reuse]

Uses ROYALTY_DATABASE_URL's server (default: the local PostgreSQL) with a fresh database
``royalty_bench_reports``, migrated to head. The load is set-based SQL (untimed, but its
duration is printed): 200 creators, 200,000 works with 1–3-creator splits, 3 licensees,
4 licenses, events over 12 months (≈90 % accrued, the rest unmatched / unlicensed /
opted_out / unpriced) with consistent evaluation columns and their usage tally, one accrual journal entry per
(booking month, licensee) whose creator credits are ``split_parts`` of the accrued events,
payout runs with their ledger entries, dead letters and ingest batches. Before the
timings the database settles: the kernel's write-back, a checkpoint, and autovacuum done with
the new rows. The reports run twice, in the same order: the first pass is the one the
target counts; the second shows them with the database's caches warm.

```--keep`` keeps the database afterwards; ``--reuse`` times an existing (kept) database
after migrating it to head (so a new migration's index build time is printed too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import migrate  # noqa: E402
from ledger.ingest import deadletters  # noqa: E402
from ledger.reports import status as ingest_status  # noqa: E402
from ledger.matching import tally, thresholds  # noqa: E402
from ledger.accounting import statement_lines  # noqa: E402
from ledger.reports import ledger_reports, statement, usage_reports  # noqa: E402

DATABASE = "royalty_bench_reports"
CREATORS = 200
WORKS = 200_000
TARGET = 2.0
MONTHS = 12
START = "2025-01-01 00:00:00+00"
# The payouts listing exactly as ``royalty payouts list`` / ``report payouts`` runs it.
PAYOUTS = """
    SELECT o.id AS payout, o.run_id AS run, c.key AS creator, o.currency, o.amount,
           o.status, o.transfer_id AS transfer, o.created_at AS created, o.failure
    FROM payout o JOIN creator c ON c.id = o.creator_id
    WHERE %(run)s::bigint IS NULL OR o.run_id = %(run)s ORDER BY o.id"""


def server_url() -> str:
    return os.environ.get("ROYALTY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(server: str) -> str:
    return make_url(server).set(database=DATABASE).render_as_string(hide_password=False)


def fresh_database(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = database_url(server)
    migrate.upgrade(url)
    return url


def drop_database(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DATABASE)))


CATALOG = f"""
INSERT INTO creator (key, name, email, currency)
SELECT format('c%s', lpad(g::text, 4, '0')), format('Creator %s', g),
       format('c%s@example.org', g), 'USD'
FROM generate_series(1, {CREATORS}) AS g;

INSERT INTO licensee (key, name) VALUES
    ('acme-ai', 'Acme AI'), ('beta-labs', 'Beta Labs'), ('gamma-ml', 'Gamma ML');

INSERT INTO work (key, title, kind)
SELECT format('w%s', lpad(g::text, 6, '0')), format('Work %s', g), 'text'
FROM generate_series(1, {WORKS}) AS g;

INSERT INTO work_identifier (kind, value, work_id)
SELECT 'sha256', encode(sha256(('work-' || g)::bytea), 'hex'), g
FROM generate_series(1, {WORKS}) AS g;

INSERT INTO split_version (id, work_id, effective_from, created_at)
SELECT g, g, '2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00'
FROM generate_series(1, {WORKS}) AS g;
SELECT setval(pg_get_serial_sequence('split_version', 'id'), {WORKS});

-- 1, 2 or 3 creators per work; shares 1 | 0.6 0.4 | 0.5 0.3 0.2 (sum exactly 1). Creator 1
-- (c0001) is also on every 10th work, so it is the busiest.
INSERT INTO split_share (split_version_id, creator_id, share)
SELECT w, creator, share FROM (
    SELECT w, k, n,
           CASE WHEN k = 0 AND w % 10 = 0 THEN 1
                ELSE 2 + (w * 7 + k * 67) % {CREATORS - 1} END AS creator,
           (ARRAY[ARRAY[1, 0, 0], ARRAY[0.6, 0.4, 0], ARRAY[0.5, 0.3, 0.2]]::numeric[])
               [n][k + 1] AS share
    FROM (SELECT w, 1 + w % 3 AS n FROM generate_series(1, {WORKS}) AS w) AS ws
    CROSS JOIN LATERAL generate_series(0, n - 1) AS k
) AS s;

INSERT INTO license (id, key, licensee_id, scope_kind, purposes, valid_from, currency,
                     rate_type, rate_unit, price, platform_fee, rate)
VALUES
 (1, 'acme-catalog', 1, 'catalog', '{{ai-all}}', '2024-01-01+00', 'USD', 'per_use', 'item',
  0.0125, 0.2, '{{"type": "per_use", "unit": "item", "price": "0.0125"}}'),
 (2, 'beta-catalog', 2, 'catalog', '{{ai-training,ai-inference}}', '2024-01-01+00', 'USD',
  'per_use', 'item', 0.003, 0.15, '{{"type": "per_use", "unit": "item", "price": "0.003"}}'),
 (3, 'gamma-catalog', 3, 'catalog', '{{ai-all}}', '2024-01-01+00', 'USD', 'per_use', 'item',
  0.02, 0.25, '{{"type": "per_use", "unit": "item", "price": "0.02"}}'),
 (4, 'gamma-old', 3, 'catalog', '{{ai-training}}', '2023-01-01+00', 'USD', 'per_use', 'item',
  0.01, 0.25, '{{"type": "per_use", "unit": "item", "price": "0.01"}}');
SELECT setval(pg_get_serial_sequence('license', 'id'), 4);
"""

# One chunk of events [lo, hi]. Outcome by a hash of the id: 90 % accrued, 5 % unmatched,
# 3 % unlicensed, 1 % opted_out, 1 % unpriced. Times are spread evenly over 12 months in
# id order (as they would arrive); the booking entry is (month, licensee).
EVENTS = f"""
INSERT INTO usage_event (id, source, event_id, content_hash, time, licensee_id, purpose,
    model, run, dataset, quantity, unit, sha256, received_at, outcome, work_id,
    split_version_id, license_id, currency, gross, fee, net, entry_id)
SELECT g, 'bench', 'e' || g, decode(md5(g::text), 'hex'), t, lic, purpose,
       format('model-%%s-%%s', lic, (g / 7) %% 3), format('run-%%s', (g / 100000) %% 20),
       CASE WHEN g %% 4 = 0 THEN NULL ELSE format('ds-%%s', g %% 6) END,
       q, 'item',
       CASE WHEN outcome = 'unmatched' THEN encode(sha256(('unknown-' || g %% 40000)::bytea), 'hex')
            ELSE encode(sha256(('work-' || w)::bytea), 'hex') END,
       t + interval '1 minute', outcome,
       CASE WHEN outcome <> 'unmatched' THEN w END,
       CASE WHEN outcome <> 'unmatched' THEN w END,
       CASE WHEN outcome IN ('accrued', 'unpriced') THEN lic END,
       CASE WHEN outcome = 'accrued' THEN 'USD' END,
       gross, fee, gross - fee,
       CASE WHEN outcome = 'accrued' THEN month * 3 + lic END
FROM (
    SELECT g, t, lic, purpose, q, w, outcome, month,
           CASE WHEN outcome = 'accrued' THEN q * price END AS gross,
           CASE WHEN outcome = 'accrued' THEN round_half_even(q * price * rate, 9) END AS fee
    FROM (
        SELECT g, t, lic, q, w, month,
               CASE WHEN h < 5 THEN 'ai-inference' WHEN h < 8 THEN 'ai-finetune'
                    ELSE 'ai-training' END AS purpose,
               CASE WHEN h < 90 THEN 'accrued' WHEN h < 95 THEN 'unmatched'
                    WHEN h < 98 THEN 'unlicensed' WHEN h < 99 THEN 'opted_out'
                    ELSE 'unpriced' END AS outcome,
               (ARRAY[0.0125, 0.003, 0.02])[lic] AS price,
               (ARRAY[0.2, 0.15, 0.25])[lic] AS rate
        FROM (
            SELECT g, 1 + g %% 3 AS lic, (g * 7919 + g / 3) %% 100 AS h,
                   CASE WHEN g %% 10 = 0 THEN 2 ELSE 1 END AS q,
                   1 + (g * 2654435761) %% {WORKS} AS w,
                   timestamptz '{START}' + (g - 1) * %(span)s * interval '1 second' AS t
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
        ) AS a
        CROSS JOIN LATERAL (SELECT CAST(
            (extract(year FROM t AT TIME ZONE 'UTC') - 2025) * 12
            + extract(month FROM t AT TIME ZONE 'UTC') - 1 AS integer) AS month) AS m
    ) AS b
) AS c
"""

LEDGER = f"""
SET LOCAL work_mem = '256MB';
INSERT INTO journal_entry (id, kind, memo, created_at)
SELECT month * 3 + lic, 'accrual', format('bench accrual %s/%s', month, lic),
       timestamptz '{START}' + month * interval '1 month' + interval '27 days 12 hours'
FROM generate_series(0, {MONTHS - 1}) AS month, generate_series(1, 3) AS lic;

CREATE TEMP TABLE bench_groups ON COMMIT DROP AS
SELECT entry_id, licensee_id, currency, split_version_id, net, count(*) AS events,
       sum(gross) AS gross, sum(fee) AS fee
FROM usage_event WHERE outcome = 'accrued'
GROUP BY entry_id, licensee_id, currency, split_version_id, net;

CREATE TEMP TABLE bench_parts ON COMMIT DROP AS
SELECT d.split_version_id, d.net, p.creator_id, p.amount
FROM (SELECT DISTINCT split_version_id, net FROM bench_groups) AS d
CROSS JOIN LATERAL split_parts(d.net, d.split_version_id) AS p;

INSERT INTO posting (entry_id, account_id, amount)
SELECT entry_id, ledger_account(kind, owner_id, currency), amount FROM (
    SELECT entry_id, 'licensee_receivable' AS kind, licensee_id AS owner_id, currency,
           sum(gross) AS amount
    FROM bench_groups GROUP BY entry_id, licensee_id, currency
    UNION ALL
    SELECT entry_id, 'platform_revenue', 0, currency, -sum(fee)
    FROM bench_groups GROUP BY entry_id, currency
    UNION ALL
    SELECT g.entry_id, 'creator_payable', p.creator_id, g.currency, -sum(p.amount * g.events)
    FROM bench_groups g JOIN bench_parts p
      ON p.split_version_id = g.split_version_id AND p.net = g.net
    GROUP BY g.entry_id, p.creator_id, g.currency
) AS postings ORDER BY entry_id, kind, owner_id;
SELECT setval(pg_get_serial_sequence('journal_entry', 'id'), 1000);
"""

# Two payout runs (months 3 and 9) paying each creator a tenth of what it had accrued by
# then, plus a failed payout each; the ledger gets payout_hold + payout_post entries.
PAYOUT_RUNS = f"""
SET LOCAL work_mem = '256MB';
INSERT INTO payout_run (id, provider, transfer_group, started_at, finished_at)
VALUES (1, 'sandbox', 'bench-run-1', timestamptz '{START}' + interval '3 months 2 days',
        timestamptz '{START}' + interval '3 months 2 days 1 hour'),
       (2, 'sandbox', 'bench-run-2', timestamptz '{START}' + interval '9 months 2 days',
        timestamptz '{START}' + interval '9 months 2 days 1 hour');
SELECT setval(pg_get_serial_sequence('payout_run', 'id'), 2);

CREATE TEMP TABLE bench_payouts ON COMMIT DROP AS
SELECT r.id AS run_id, a.owner_id AS creator_id, a.currency,
       round(-sum(p.amount) / 10, 2) AS amount, r.started_at
FROM payout_run r
JOIN journal_entry j ON j.kind = 'accrual' AND j.created_at < r.started_at
JOIN posting p ON p.entry_id = j.id
JOIN account a ON a.id = p.account_id AND a.kind = 'creator_payable'
GROUP BY r.id, a.owner_id, a.currency, r.started_at;

INSERT INTO payout (run_id, creator_id, currency, amount, amount_minor, destination, status,
                    idempotency_key, transfer_id, created_at, updated_at)
SELECT run_id, creator_id, currency, amount, (amount * 100)::bigint,
       'acct_bench_' || creator_id, 'paid', format('bench-%s-%s', run_id, creator_id),
       format('tr_bench_%s_%s', run_id, creator_id), started_at, started_at
FROM bench_payouts ORDER BY run_id, creator_id;
INSERT INTO payout (run_id, creator_id, currency, amount, amount_minor, destination, status,
                    idempotency_key, failure, created_at, updated_at)
SELECT 2, g, 'USD', 1.00, 100, 'acct_bench_' || g, 'failed', format('bench-failed-%s', g),
       'account_closed', timestamptz '{START}' + interval '9 months 2 days',
       timestamptz '{START}' + interval '9 months 2 days'
FROM generate_series(1, 50) AS g;

INSERT INTO journal_entry (id, kind, memo, created_at)
SELECT 100 + run_id * 2 + step, kind, format('bench run %s', run_id), started_at
FROM (SELECT DISTINCT run_id, started_at FROM bench_payouts) AS r,
     (VALUES (0, 'payout_hold'), (1, 'payout_post')) AS k(step, kind);

INSERT INTO posting (entry_id, account_id, amount)
SELECT 100 + run_id * 2, ledger_account('creator_payable', creator_id, currency), amount
FROM bench_payouts
UNION ALL
SELECT 100 + run_id * 2, ledger_account('payout_clearing', 0, currency), -sum(amount)
FROM bench_payouts GROUP BY run_id, currency
UNION ALL
SELECT 100 + run_id * 2 + 1, ledger_account('payout_clearing', 0, currency), sum(amount)
FROM bench_payouts GROUP BY run_id, currency
UNION ALL
SELECT 100 + run_id * 2 + 1, ledger_account('payout_cash', 0, currency), -sum(amount)
FROM bench_payouts GROUP BY run_id, currency;
"""

DEAD_LETTERS = f"""
INSERT INTO dead_letter (reason, field, detail, source, event_id, content_type, routing_key,
                         raw, received_at, attempts, resolved_at, resolution)
SELECT (ARRAY['invalid_json', 'schema', 'unknown_licensee', 'too_large'])[1 + g % 4],
       CASE WHEN g % 4 = 1 THEN 'data.quantity' END, 'bench dead letter ' || g,
       'bench', 'dl' || g, 'application/cloudevents+json', 'usage.acme-ai',
       convert_to(format('{{"id": "dl%s", "broken": true}}', g), 'UTF8'),
       timestamptz '{START}' + g * interval '17 hours', 1 + g % 3,
       CASE WHEN g % 3 = 0 THEN timestamptz '{START}' + g * interval '17 hours' + interval '1 day' END,
       CASE WHEN g % 3 = 0 THEN 'replayed' END
FROM generate_series(1, 450) AS g;

-- The batch log behind ``royalty status`` (1,000 events a batch).
INSERT INTO ingest_batch (committed_at, messages, received, accepted, duplicates,
                          dead_lettered)
SELECT timestamptz '{START}' + b * interval '1 minute', n, n + 1, n, 1, 0
FROM (SELECT b, least(1000, %(events)s - b * 1000) AS n
      FROM generate_series(0, (%(events)s - 1) / 1000) AS b) AS batches;
"""


def load(url: str, events: int, chunk: int = 1_000_000) -> None:
    span = 365 * 86400 / events
    with psycopg.connect(url) as conn:
        step = time.perf_counter()
        conn.execute(CATALOG)
        conn.commit()
        print(f"  catalog: {time.perf_counter() - step:.1f} s", flush=True)
        step = time.perf_counter()
        conn.execute("SET synchronous_commit = off")
        for lo in range(1, events + 1, chunk):
            hi = min(events, lo + chunk - 1)
            conn.execute(EVENTS, {"lo": lo, "hi": hi, "span": span})
            conn.commit()
            print(f"  events {hi:,}: {time.perf_counter() - step:.1f} s", flush=True)
        conn.execute("SELECT setval(pg_get_serial_sequence('usage_event', 'id'), %s)",
                     (events,))
        conn.commit()
        step = time.perf_counter()
        tally.rebuild(conn)
        print(f"  usage tallies: {time.perf_counter() - step:.1f} s", flush=True)
        step = time.perf_counter()
        conn.execute(LEDGER)
        conn.commit()
        print(f"  accrual entries: {time.perf_counter() - step:.1f} s", flush=True)
        step = time.perf_counter()
        conn.execute(PAYOUT_RUNS)
        conn.execute(DEAD_LETTERS.replace("%(events)s", str(events)))
        conn.commit()
        print(f"  payouts, dead letters, batches: {time.perf_counter() - step:.1f} s",
              flush=True)
    step = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  vacuum analyze: {time.perf_counter() - step:.1f} s", flush=True)
    fold(url)  # by the beat job, on a database autovacuum has analysed
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE statement_line")


def fold(url: str) -> None:
    """Fold the booking entries into the statement's lines, as the beat job does."""
    step = time.perf_counter()
    with psycopg.connect(url) as conn:
        entries = statement_lines.fold(conn, entries_per_commit=1)
        lines = conn.execute("SELECT count(*) FROM statement_line").fetchone()[0]
    print(f"  statement lines: {entries:,} booking entries folded into {lines:,} lines: "
          f"{time.perf_counter() - step:.1f} s", flush=True)


def settle(url: str, timeout: float = 600.0) -> None:
    """Let the database settle before the timings, as it would between a bulk load and the
    first reader: the kernel writes the load's files back, a checkpoint writes the dirty
    buffers out (else the first reports would evict them, writing, to make room) and
    autovacuum finishes with the new rows. The wait is printed."""
    step = time.perf_counter()
    os.sync()  # the load's files, written back by the kernel now rather than during a report
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        while busy := conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
                "AND datname = current_database()").fetchone()[0]:
            if time.perf_counter() - step > timeout:
                print(f"  settle: autovacuum still busy after {timeout:.0f} s; timing anyway")
                break
            time.sleep(1)
        conn.execute("CHECKPOINT")
    print(f"  settle (sync, checkpoint, autovacuum done): {time.perf_counter() - step:.1f} s",
          flush=True)


def check(url: str) -> None:
    """The load is consistent: every entry balances, accruals equal the accrued nets."""
    with psycopg.connect(url) as conn:
        ledger_net, events_net = conn.execute("""
            SELECT (SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
                    JOIN journal_entry j ON j.id = p.entry_id
                    WHERE a.kind = 'creator_payable' AND j.kind = 'accrual'),
                   (SELECT sum(net) FROM usage_event WHERE outcome = 'accrued')""").fetchone()
        assert ledger_net == events_net, (ledger_net, events_net)
        totals = ledger_reports.currency_totals(ledger_reports.trial_balance(conn))
        assert all(v == 0 for v in totals.values()), totals


def busiest(conn: psycopg.Connection) -> tuple[str, str]:
    key = conn.execute("""
        SELECT c.key FROM account a JOIN creator c ON c.id = a.owner_id
        JOIN posting p ON p.account_id = a.id
        WHERE a.kind = 'creator_payable' GROUP BY c.key ORDER BY sum(p.amount) LIMIT 1
    """).fetchone()[0]
    period = conn.execute("SELECT to_char(max(created_at) AT TIME ZONE 'UTC', 'YYYY-MM') "
                          "FROM journal_entry WHERE kind = 'accrual'").fetchone()[0]
    return key, period


def timed(url: str) -> list[tuple[str, float, str]]:
    results: list[tuple[str, float, str]] = []
    with psycopg.connect(url) as conn:
        creator, period = busiest(conn)
        conn.rollback()

    def run(name: str, call: Callable[[psycopg.Connection], object]) -> None:
        # A fresh connection per report, as each CLI call opens its own.
        with psycopg.connect(url) as conn:
            began = time.perf_counter()
            result = call(conn)
            elapsed = time.perf_counter() - began
        if isinstance(result, dict):
            size = f"{len(result.get('lines', result))} keys/lines"
        else:
            size = f"{len(result)} rows"
        results.append((name, elapsed, size))
        print(f"  {name:<44} {elapsed:8.3f} s  {'OVER 2 s' if elapsed > TARGET else ''}",
              flush=True)

    run(f"statement {creator} (all time)", lambda c: statement.statement(c, creator, None))
    run(f"statement {creator} --period {period}",
        lambda c: statement.statement(c, creator, period))
    run("statement c0100 (typical creator, all time)",
        lambda c: statement.statement(c, "c0100", None))
    run("statement c0100 --period " + period,
        lambda c: statement.statement(c, "c0100", period))
    run("transparency acme-ai", lambda c: usage_reports.transparency(c, "acme-ai"))
    run("transparency acme-ai --model model-1-1",
        lambda c: usage_reports.transparency(c, "acme-ai", "model-1-1"))
    run("suspense", lambda c: usage_reports.suspense(c, thresholds.params()))
    run("unlicensed", usage_reports.unlicensed)
    run("balances", ledger_reports.balances)
    run("trial-balance", ledger_reports.trial_balance)
    run("payouts (list / report payouts)",
        lambda c: c.cursor(row_factory=dict_row).execute(PAYOUTS, {"run": None}).fetchall())
    run("dead-letters", deadletters.list_dead_letters)
    run("status", ingest_status.counts)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="time the kept database (migrated to head) instead of loading")
    args = parser.parse_args()
    server = server_url()
    if args.reuse:
        url = database_url(server)
        began = time.perf_counter()
        migrate.upgrade(url)
        print(f"reusing {DATABASE}; migrate to head: {time.perf_counter() - began:.1f} s")
        fold(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        settle(url)
    else:
        began = time.perf_counter()
        url = fresh_database(server)
        print(f"loading {args.events:,} events into {DATABASE} …", flush=True)
        load(url, args.events)
        check(url)
        settle(url)
        print(f"setup (untimed): {time.perf_counter() - began:.1f} s", flush=True)
    try:
        with psycopg.connect(url) as conn:
            n = conn.execute("SELECT count(*) FROM usage_event").fetchone()[0]
        slow: list[str] = []
        for number in (1, 2):
            print(f"\nreport timings on {n:,} events, pass {number} of 2 (target < "
                  f"{TARGET:.0f} s each):")
            results = timed(url)
            over = [name for name, elapsed, _ in results if elapsed > TARGET]
            print(f"\npass {number}: {len(results) - len(over)}/{len(results)} reports under "
                  f"{TARGET:.0f} s" + (f"; over: {', '.join(over)}" if over else ""))
            if number == 1:  # the target counts the first pass
                slow = over
    finally:
        if not args.keep and not args.reuse:
            drop_database(server)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
