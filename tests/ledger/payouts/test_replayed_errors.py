"""Issue 24: a transfer request answered with a 500 that Stripe saved under the
idempotency key (and replays, ``Idempotent-Replayed: true``, for a day). Whether money
moved is decided by Stripe's list: a transfer listed for the payout settles it; none
listed after a replay means none was made, and the creator is paid under a new payout."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.ledger.payouts.conftest import (
    balances, fund, ledger_paid, onboard_all, payouts, stripe_paid,
)

CREATORS = {"alice": 11, "bob": 25, "carol": 40}
EXPECTED_MINOR = {"alice": 1100, "bob": 2500, "carol": 4000}


@pytest.fixture
def ready(stripe_cli, stripe_ledger, stripe_fake):
    fund(stripe_cli, stripe_ledger, CREATORS)
    onboard_all(stripe_cli, stripe_ledger, stripe_fake, CREATORS)
    return stripe_cli


def transfer_posts(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/transfers"]


def one_transfer_each(fake) -> None:
    per_payout = [t["metadata"]["payout_id"] for t in fake.transfers]
    per_creator = [t["metadata"]["creator"] for t in fake.transfers]
    assert len(per_payout) == len(set(per_payout)) and len(per_creator) == len(set(per_creator))


def test_a_500_saved_before_the_transfer_is_paid_once_by_the_next_run(ready, stripe_fake):
    stripe_fake.inject("POST", "/v1/transfers", "error_500_saved")
    first = ready("payouts", "run")
    assert first.code == 0 and "paid 2, failed 0, in flight 1" in first.stdout
    assert "next payout run" in first.stdout
    [waiting] = [p for p in payouts(ready) if p["status"] == "submitted"]
    assert "500" in waiting["in_flight"] and "next payout run" in waiting["retry"]
    assert all(p["retry"] is None for p in payouts(ready) if p["status"] == "paid")
    unpaid = waiting["creator"]
    assert unpaid not in stripe_paid(stripe_fake)

    second = ready("payouts", "run")
    assert second.code == 0 and "paid 1, failed 1, in flight 0" in second.stdout
    assert "no transfer made" in second.stdout
    assert stripe_paid(stripe_fake) == EXPECTED_MINOR
    one_transfer_each(stripe_fake)
    theirs = [p for p in payouts(ready) if p["creator"] == unpaid]
    assert [p["status"] for p in theirs] == ["failed", "paid"]
    keys = [r.idempotency_key for r in transfer_posts(stripe_fake)]
    assert keys.count(f"royalty-payout-{theirs[0]['payout']}") == 2  # asked, then replayed
    assert keys.count(f"royalty-payout-{theirs[1]['payout']}") == 1  # a new key

    assert "paid 0, failed 0, in flight 0" in ready("payouts", "run").stdout
    assert ledger_paid(ready) == EXPECTED_MINOR
    result = ready("payouts", "reconcile")
    assert result.code == 0 and "0 disagreements" in result.stdout
    trial = json.loads(ready("report", "trial-balance", "--format", "json").stdout)
    assert sum(Decimal(r["balance"]) for r in trial) == 0


def test_a_500_saved_after_the_transfer_is_settled_from_the_list(ready, stripe_fake):
    # should_retry makes the SDK ask again at once, so the run itself sees the replay.
    stripe_fake.inject("POST", "/v1/transfers", "error_500_replayed", should_retry=True)
    first = ready("payouts", "run")
    assert first.code == 0 and "paid 3, failed 0, in flight 0" in first.stdout
    assert any(d.replayed and d.record.status == 500 for d in stripe_fake.request_details)
    assert stripe_paid(stripe_fake) == EXPECTED_MINOR
    assert sorted(p["transfer"] for p in payouts(ready)) == sorted(
        t["id"] for t in stripe_fake.transfers)
    assert "paid 0" in ready("payouts", "run").stdout
    one_transfer_each(stripe_fake)
    assert ledger_paid(ready) == EXPECTED_MINOR
    assert ready("payouts", "reconcile").code == 0


def test_a_replayed_500_while_the_list_fails_stays_in_flight(ready, stripe_fake):
    stripe_fake.inject("POST", "/v1/transfers", "error_500_replayed", should_retry=True)
    stripe_fake.inject("GET", "/v1/transfers", "error_500", times=None)
    first = ready("payouts", "run")
    assert first.code == 0 and "paid 2, failed 0, in flight 1" in first.stdout
    [waiting] = [p for p in payouts(ready) if p["status"] == "submitted"]
    assert "replayed" in waiting["in_flight"] and "could not be listed" in waiting["in_flight"]

    posts_before = len(transfer_posts(stripe_fake))
    second = ready("payouts", "run")  # the list is still down: nothing is sent again
    assert second.code == 0 and "paid 0, failed 0, in flight 1" in second.stdout
    assert len(transfer_posts(stripe_fake)) == posts_before
    [still] = [p for p in payouts(ready) if p["status"] == "submitted"]
    assert still["payout"] == waiting["payout"] and "could not be listed" in still["in_flight"]
    assert len(stripe_fake.transfers) == 3

    stripe_fake.clear_faults()
    third = ready("payouts", "run")
    assert third.code == 0 and "paid 1, failed 0, in flight 0" in third.stdout
    assert len(stripe_fake.transfers) == 3
    one_transfer_each(stripe_fake)
    assert stripe_paid(stripe_fake) == ledger_paid(ready) == EXPECTED_MINOR
    assert ready("payouts", "reconcile").code == 0


MANY = {f"c{i:02d}": 5 + (i * 7) % 36 for i in range(30)}  # 5 to 40 uses: some not due


def test_three_runs_with_faults_every_few_requests(stripe_cli, stripe_ledger, stripe_fake):
    fund(stripe_cli, stripe_ledger, MANY)
    onboard_all(stripe_cli, stripe_ledger, stripe_fake, MANY)
    payable = {c: n * 100 for c, n in MANY.items() if n >= 10}  # floor(n × 1.000000007)
    assert 5 < len(payable) < len(MANY)
    for fault, every, times, options in [
        ("error_500_saved", 4, 3, {}),
        ("error_500_replayed", 5, 2, {"should_retry": True}),
        ("error_500_after_commit", 3, 2, {}),
        ("drop_connection", 4, 1, {}),
        ("timeout", 5, 1, {"delay": 1.5}),
        ("conflict_409", 3, 1, {}),
        ("error_500", 2, 2, {}),
    ]:
        stripe_fake.inject("POST", "/v1/transfers", fault, times=times, every=every, **options)
    stripe_fake.inject("GET", "/v1/transfers", "error_500", times=3, every=2)

    outputs = [stripe_cli("payouts", "run") for _ in range(2)]
    # A fault left for the last run could rightly leave a payout in flight after it.
    hit = {f.name for f in stripe_fake._faults._faults if f.hits}
    stripe_fake.clear_faults()
    outputs.append(stripe_cli("payouts", "run"))
    assert all(o.code == 0 for o in outputs), [o.stdout for o in outputs]
    assert {"error_500_saved", "error_500_replayed"} <= hit

    assert stripe_paid(stripe_fake) == payable
    one_transfer_each(stripe_fake)
    assert ledger_paid(stripe_cli) == payable
    assert not [p for p in payouts(stripe_cli) if p["status"] == "submitted"]
    for creator, row in balances(stripe_cli).items():
        owed = Decimal(MANY[creator]) * Decimal("1.000000007") - Decimal(payable.get(
            creator, 0)) / 100
        assert Decimal(row["balance"]) == owed
    result = stripe_cli("payouts", "reconcile")
    assert result.code == 0 and "0 disagreements" in result.stdout, result.stdout
