"""Advisory lock keys: one place, each distinct, and unrelated jobs never wait on each
other."""

from __future__ import annotations

import psycopg

from ledger import locks
from ledger.matching import tally
from tests.ledger.payouts.conftest import balances, fund


def test_every_lock_key_is_distinct() -> None:
    keys = list(locks.ALL.values())
    assert len(keys) == len(set(keys)), locks.ALL
    named = {name: value for name, value in vars(locks).items()
             if name.endswith("_LOCK") and isinstance(value, int)}
    assert named == locks.ALL  # no key defined beside the list the check reads


def test_a_payout_run_goes_ahead_while_the_tally_is_compacted(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11})
    assert cli("creators", "onboard", "alice").code == 0  # a sandbox account
    with ledger.connect() as compacting:
        locks.hold(compacting, locks.TALLY_COMPACT_LOCK)  # a compaction in its transaction
        result = cli("payouts", "run")
        compacting.rollback()
    assert result.code == 0, result.stdout + result.stderr
    assert any(line.startswith("paid 1,") for line in result.stdout.splitlines()), result.stdout
    assert balances(cli)["alice"]["paid"] == "11.000000000"


def test_the_tally_is_compacted_while_a_payout_run_holds_its_lock(ledger) -> None:
    with ledger.connect() as paying, ledger.connect() as conn:
        assert locks.try_acquire(paying, locks.PAYOUT_RUN_LOCK)
        paying.commit()
        conn.execute("SET lock_timeout = '5s'")
        try:
            before, after = tally.compact(conn)
        except psycopg.errors.LockNotAvailable:  # the old shared key: compaction waited
            before = after = None
        locks.release(paying, locks.PAYOUT_RUN_LOCK)
        paying.commit()
    assert (before, after) == (0, 0)
