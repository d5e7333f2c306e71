"""The whole flow, step by step, on whatever services are configured (embedded by default):
catalog → licenses → usage through the real producer, broker and worker → late
registrations (back-pay) → revenue reports and periods closed (pool and revenue-share
deals) → a sandbox payout run → reports."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ledger import migrate
from ledger.matching import reevaluation
from ledger.bootstrap import Ledger
from ledger.catalog.service import ImportKind, import_file
from ledger.demo.catalog import SampleCatalog, generate
from ledger.demo.usage import deal_usage, revenue_reports
from ledger.demo.usage import generate as generate_usage
from ledger.errors import LedgerError
from ledger.reports import ledger_reports, status
from ledger.ingest import store
from ledger.ingest.producer import UsageProducer
from ledger.payouts import accounts, service
from ledger.periods import revenue
from ledger.periods import service as periods

HELD_BACK = 40  # works registered only after their use: their royalties are back-paid


class NotTheDemosDatabase(LedgerError):
    """The database holds a catalog the demo did not make: it must not be mixed with demo
    data (a production database named by ROYALTY_DATABASE_URL, say)."""

    exit_code = 2


# Rows whose key the demo's catalog does not hold, per table; nothing when the schema is
# not there yet (an empty database).
FOREIGN_ROWS = """
SELECT 'creators', count(*) FROM creator WHERE NOT key = ANY(%(creators)s)
UNION ALL SELECT 'licensees', count(*) FROM licensee WHERE NOT key = ANY(%(licensees)s)
UNION ALL SELECT 'works', count(*) FROM work WHERE NOT key = ANY(%(works)s)
UNION ALL SELECT 'licenses', count(*) FROM license WHERE NOT key = ANY(%(licenses)s)
"""


def refuse_foreign_data(ledger: Ledger, catalog: SampleCatalog) -> None:
    """Run only on an empty database or one an earlier demo filled."""
    keys = {"creators": [r["creator"] for r in catalog.creators],
            "licensees": [r["licensee"] for r in catalog.licensees],
            "works": [r["work"] for r in catalog.works],
            "licenses": [r["license"] for r in catalog.licenses]}
    with ledger.connect() as conn:
        if conn.execute("SELECT to_regclass('public.license')").fetchone()[0] is None:
            return
        foreign = [(name, n) for name, n in conn.execute(FOREIGN_ROWS, keys).fetchall() if n]
    if foreign:
        where = "ROYALTY_DATABASE_URL" if not ledger.database_is_embedded else \
            f"the embedded PostgreSQL under {ledger.settings.home}"
        raise NotTheDemosDatabase(
            f"{where} holds data the demo did not make ("
            + ", ".join(f"{n} {name}" for name, n in foreign)
            + "): the demo runs only on an empty database or its own; unset "
            "ROYALTY_DATABASE_URL (or point it at an empty database) and run it again")


def late_works_registered(ledger: Ledger, catalog: SampleCatalog) -> bool:
    """An earlier demo registered the late works already: this run back-pays nothing."""
    keys = [r["work"] for r in catalog.works[-HELD_BACK:]]
    with ledger.connect() as conn:
        if conn.execute("SELECT to_regclass('public.work')").fetchone()[0] is None:
            return False
        found = conn.execute("SELECT count(*) FROM work WHERE key = ANY(%s)", (keys,)).fetchone()
    return found[0] == len(keys)


def import_rows(ledger: Ledger, kind: ImportKind, rows: list[dict]) -> str:
    stream = io.StringIO("".join(json.dumps(r) + "\n" for r in rows))
    result = import_file(ledger.engine, kind, stream)
    return (f"{kind.value:<10} {result.rows:>6} rows: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged")


def setup_catalog(ledger: Ledger, catalog: SampleCatalog, say: Callable[[str], None]) -> None:
    migrate.upgrade(ledger.database_url)
    say(f"schema at revision {migrate.current_revision(ledger.database_url)}")
    say(import_rows(ledger, ImportKind.creators, catalog.creators))
    say(import_rows(ledger, ImportKind.licensees, catalog.licensees))
    say(import_rows(ledger, ImportKind.works, catalog.works[:-HELD_BACK]))
    say(import_rows(ledger, ImportKind.licenses, catalog.licenses))


@contextmanager
def worker(ledger: Ledger, log: Path):
    """``royalty worker`` in the background, on the same settings, for the demo's length."""
    env = {**os.environ, "ROYALTY_HOME": str(ledger.settings.home)}
    if not ledger.database_is_embedded:
        env["ROYALTY_DATABASE_URL"] = ledger.database_url
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "ledger.cli.app", "worker", "--loglevel",
                                "WARNING"], env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def received(ledger: Ledger) -> int:
    with ledger.connect() as conn:
        return status.counts(conn)["events"]["received"]


def wait_until(predicate: Callable[[], bool], what: str, timeout: float,
               process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.poll() is not None:
            raise LedgerError(f"the worker stopped (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise LedgerError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def publish(ledger: Ledger, events: list[dict], advance: Callable[[int], None]) -> None:
    with UsageProducer(ledger.broker_url, topology=ledger.topology) as producer:
        producer.publish(events, progress=advance)


def register_late_works(ledger: Ledger, catalog: SampleCatalog) -> str:
    return import_rows(ledger, ImportKind.works, catalog.works[-HELD_BACK:])


def outbox_empty(ledger: Ledger) -> bool:
    with ledger.connect() as conn:
        return reevaluation.pending_changes(conn) == 0


def pay(ledger: Ledger) -> service.RunSummary:
    with ledger.connect() as conn:
        if ledger.payout_provider.sandbox:  # the demo's creators onboard in the sandbox
            accounts.open_sandbox_accounts(conn)
        return service.run(conn, ledger.payout_provider,
                           threshold=ledger.settings.payout_threshold,
                           account_max_age=ledger.settings.payout_account_max_age)


def summary(ledger: Ledger) -> dict:
    with ledger.connect() as conn:
        data = status.counts(conn)
        booked, paid = ledger_reports.creator_totals(conn)
        backpaid = ledger_reports.back_paid_events(conn)
    return {**data, "owed_to_creators": Decimal(booked), "paid_to_creators": Decimal(paid),
            "back_paid_events": backpaid}


def default_catalog() -> SampleCatalog:
    return generate()


def demo_usage(catalog: SampleCatalog, count: int) -> list[dict]:
    return [*generate_usage(catalog, count), *deal_usage(catalog)]


def close_periods(ledger: Ledger) -> list:
    """Record the revenue-share licensee's revenue (a re-run finds it recorded), then close
    every period that has ended: the deals' allocations are booked."""
    with ledger.connect() as conn:
        events = revenue_reports()
        reports, result = revenue.check(conn, events, store.licensee_ids(conn))
        revenue.store(conn, reports, result)
        conn.commit()
        return periods.close_due(conn, now=datetime.now(UTC), grace=timedelta(0))
