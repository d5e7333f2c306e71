"""Payouts through the real ``stripe`` SDK against the local fake of the Stripe API,
with the faults a real network has: whatever happens, nobody is paid twice, no cent is
lost, and after reconcile the ledger and Stripe agree."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from ledger.payouts import service
from tests.ledger.payouts.conftest import (
    balances, fund, ledger_paid, onboard_all, stripe_paid,
)

CREATORS = {"alice": 11, "bob": 25, "carol": 40}
EXPECTED_MINOR = {"alice": 1100, "bob": 2500, "carol": 4000}


@pytest.fixture
def ready(stripe_cli, stripe_ledger, stripe_fake):
    fund(stripe_cli, stripe_ledger, CREATORS)
    onboard_all(stripe_cli, stripe_ledger, stripe_fake, CREATORS)
    return stripe_cli


def settle_and_check(cli, fake) -> None:
    """A later run and a reconcile settle everything; then both sides agree exactly."""
    cli("payouts", "run")
    result = cli("payouts", "reconcile")
    assert result.code == 0, result.stdout
    assert stripe_paid(fake) == EXPECTED_MINOR
    assert ledger_paid(cli) == EXPECTED_MINOR
    transfers_per_payout = [t["metadata"]["payout_id"] for t in fake.transfers]
    assert len(transfers_per_payout) == len(set(transfers_per_payout))
    for creator in CREATORS:  # the sub-cent remainder is still owed, nothing else
        assert Decimal(balances(cli)[creator]["balance"]) < Decimal("0.01")
    trial = json.loads(cli("report", "trial-balance", "--format", "json").stdout)
    assert sum(Decimal(r["balance"]) for r in trial) == 0


def test_onboarding_and_a_clean_run(ready, stripe_fake) -> None:
    listed = json.loads(ready("creators", "list", "--format", "json").stdout)
    assert all(c["stripe_account"].startswith("acct_") for c in listed)
    result = ready("payouts", "run")
    assert result.code == 0 and "paid 3" in result.stdout and "SANDBOX" not in result.stdout
    posts = [r for r in stripe_fake.request_details if r.record.path == "/v1/transfers"
             and r.record.method == "POST"]
    assert len(posts) == 3
    assert all(r.record.idempotency_key.startswith("royalty-payout-") for r in posts)
    assert {t["transfer_group"] for t in stripe_fake.transfers} == {"royalty-run-1"}
    assert stripe_paid(stripe_fake) == EXPECTED_MINOR
    settle_and_check(ready, stripe_fake)


def test_creators_who_cannot_receive_payouts_are_not_paid(stripe_cli, stripe_ledger,
                                                          stripe_fake) -> None:
    fund(stripe_cli, stripe_ledger, {"dora": 20})
    stripe_cli("creators", "onboard", "dora")  # onboarding not completed
    result = stripe_cli("payouts", "run")
    assert "paid 0" in result.stdout and stripe_fake.transfers == []


@pytest.mark.parametrize("fault", [
    "error_500_after_commit", "error_500_replayed", "error_500_saved", "error_500",
    "drop_connection",
    "drop_before", "timeout", "conflict_409", "rate_limit_429", "balance_insufficient",
])
def test_faults_never_pay_twice_and_lose_nothing(ready, stripe_fake, fault) -> None:
    stripe_fake.inject("POST", "/v1/transfers", fault, times=2, delay=2.5)
    first = ready("payouts", "run")
    assert first.code == 0
    assert len(stripe_fake.transfers) <= 3
    settle_and_check(ready, stripe_fake)


def test_a_failed_payout_is_retried_later_under_a_new_key(ready, stripe_fake) -> None:
    stripe_fake.inject("POST", "/v1/transfers", "balance_insufficient", times=3)
    assert "failed 3" in ready("payouts", "run").stdout
    assert stripe_fake.transfers == []
    assert ledger_paid(ready) == {}
    ready("payouts", "run")
    keys = [r.idempotency_key for r in stripe_fake.requests
            if r.method == "POST" and r.path == "/v1/transfers"]
    assert len(keys) == 6 and len(set(keys)) == 6  # a new key per attempt
    settle_and_check(ready, stripe_fake)


def test_killed_between_the_stripe_call_and_the_commit(ready, stripe_fake, stripe_ledger,
                                                       monkeypatch) -> None:
    real = service._apply

    def die(*args, **kwargs):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(service, "_apply", die)
    with stripe_ledger.connect() as conn, pytest.raises(KeyboardInterrupt):
        service.run(conn, stripe_ledger.payout_provider, threshold=Decimal(10))
    monkeypatch.setattr(service, "_apply", real)
    # Stripe moved the money; the ledger only knows the payouts are in flight (and held).
    assert stripe_paid(stripe_fake) == EXPECTED_MINOR
    listed = json.loads(ready("payouts", "list", "--format", "json").stdout)
    assert [p["status"] for p in listed] == ["submitted"] * 3
    assert all(Decimal(r["balance"]) < 1 for r in balances(ready).values())
    settle_and_check(ready, stripe_fake)


def test_two_runs_started_at_once(ready, stripe_fake, stripe_ledger) -> None:
    stripe_fake.inject("POST", "/v1/transfers", "slow", times=1, delay=1.0)
    outcomes: list[object] = []

    def run() -> None:
        with stripe_ledger.connect() as conn:
            try:
                outcomes.append(service.run(conn, stripe_ledger.payout_provider,
                                            threshold=Decimal(10)))
            except Exception as exc:  # noqa: BLE001 - the refusal is the expected outcome
                outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and "another payout run is in progress" in str(refused[0])
    settle_and_check(ready, stripe_fake)
