"""Pay N creators (default 10,000) through the real Stripe SDK against the local fake of
the Stripe API, and print how long the payout run takes (target: under 60 s).

    .venv/bin/python bench/payouts.py [--creators N]

Uses ROYALTY_DATABASE_URL's server (default: the local PostgreSQL) with a fresh database
``royalty_bench_payouts``; the fake runs in a separate process, as Stripe would.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import migrate  # noqa: E402
from ledger.payouts import service  # noqa: E402
from ledger.payouts.stripe_provider import StripeProvider  # noqa: E402

DATABASE = "royalty_bench_payouts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def setup(url: str, provider: StripeProvider, fake_url: str, creators: int) -> None:
    """Creators with Connect accounts that finished onboarding, each owed 12.345678901."""
    import urllib.request

    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO licensee (key, name) VALUES ('acme-ai', 'Acme AI')")
        for i in range(creators):
            account = provider.create_account(email=None, creator=f"c{i:05d}")
            link = provider.onboarding_link(account, refresh_url="https://x.invalid/r",
                                            return_url="https://x.invalid/done")
            # Opening the link completes onboarding at the fake; follow no redirect.
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(link.replace("https://", "http://"), timeout=10)
            except urllib.error.HTTPError:
                pass
            conn.execute("INSERT INTO creator (key, name, currency, stripe_account, "
                         "payouts_enabled) VALUES (%s, %s, 'USD', %s, true)",
                         (f"c{i:05d}", f"Creator {i}", account))
        entry = conn.execute("INSERT INTO journal_entry (kind, memo) VALUES ('accrual', "
                             "'bench balances') RETURNING id").fetchone()[0]
        conn.execute("""
            INSERT INTO posting (entry_id, account_id, amount)
            SELECT %s, ledger_account('creator_payable', id, 'USD'), -12.345678901 FROM creator
            UNION ALL
            SELECT %s, ledger_account('licensee_receivable', 1, 'USD'),
                   12.345678901 * (SELECT count(*) FROM creator)""", (entry, entry))
        conn.commit()


class NoRedirect(__import__("urllib.request").request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=10_000)
    args = parser.parse_args()
    server = os.environ.get("ROYALTY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = fresh_database(server)
    port = free_port()
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.stripe_api", "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        fake_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        provider = StripeProvider("sk_test_bench", fake_url, max_network_retries=2)
        started = time.perf_counter()
        setup(url, provider, fake_url, args.creators)
        print(f"setup: {args.creators:,} onboarded creators in "
              f"{time.perf_counter() - started:.1f}s (not timed below)")
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            summary = service.run(conn, provider, threshold=Decimal("10"))
            elapsed = time.perf_counter() - started
            paid = conn.execute("SELECT count(*), sum(amount) FROM payout WHERE status = 'paid'"
                                ).fetchone()
        transfers = len(provider.find_transfers(transfer_group=f"royalty-run-{summary.run_id}"))
        print(f"payout run: {len(summary.paid):,} creators paid ({paid[1]:f} USD), "
              f"{len(summary.failed)} failed, {len(summary.in_flight)} in flight, "
              f"{transfers:,} transfers at the fake")
        print(f"payouts: {args.creators:,} creators in {elapsed:.1f}s "
              f"({args.creators / elapsed:,.0f} payouts/s); target < 60 s")
        if transfers != args.creators or len(summary.paid) != args.creators:
            sys.exit(1)
    finally:
        fake.terminate()
        fake.wait()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(DATABASE)))


if __name__ == "__main__":
    main()
