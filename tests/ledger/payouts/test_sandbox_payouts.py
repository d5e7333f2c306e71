"""Payout runs on the sandbox provider (no Stripe key): the rule of contract §5, and the
sandbox behaving like Stripe where it matters (no account, someone else's account)."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.ledger.payouts.conftest import balances, fund


def onboard(cli, *creators: str) -> None:
    for key in creators:
        result = cli("creators", "onboard", key)
        assert result.code == 0 and f"acct_sandbox_{key}" in result.stdout


def test_pays_the_floor_and_keeps_the_remainder(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11, "bob": 9, "carol": 30})
    onboard(cli, "alice", "bob", "carol")
    dry = cli("payouts", "run", "--dry-run")
    assert dry.code == 0 and "SANDBOX" in dry.stdout and "nothing was sent" in dry.stdout
    assert "would pay 2, not paid 1 (below threshold 1)" in dry.stdout
    assert json.loads(cli("payouts", "list", "--format", "json").stdout) == []
    result = cli("payouts", "run")
    assert result.code == 0 and "SANDBOX" in result.stdout and "paid 2" in result.stdout
    after = balances(cli)
    assert after["alice"]["paid"] == "11.000000000"
    assert after["alice"]["balance"] == "0.000000077"          # the sub-cent remainder stays
    assert after["bob"]["paid"] == "0.000000000"                # below the 10.00 threshold
    assert Decimal(after["carol"]["paid"]) == Decimal("30.00")
    assert cli("report", "trial-balance", "--format", "json").code == 0
    # A second run finds nothing more to pay.
    assert "paid 0" in cli("payouts", "run").stdout
    listed = json.loads(cli("report", "payouts", "--format", "json").stdout)
    assert sorted((p["creator"], p["amount"], p["status"]) for p in listed) == [
        ("alice", "11.000000000", "paid"), ("carol", "30.000000000", "paid")]
    reconcile = cli("payouts", "reconcile")
    assert reconcile.code == 0 and "0 disagreements" in reconcile.stdout


def test_per_creator_threshold(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11, "bob": 9})
    onboard(cli, "alice", "bob")
    assert cli("import", "creators", "-", input=json.dumps(
        {"creator": "bob", "name": "Bob", "email": "bob@example.org", "currency": "USD",
         "payout_threshold": "5", "stripe_account": "acct_sandbox_bob"}) + "\n").code == 0
    assert cli("import", "creators", "-", input=json.dumps(
        {"creator": "alice", "name": "Alice", "email": "alice@example.org", "currency": "USD",
         "payout_threshold": "50", "stripe_account": "acct_sandbox_alice"}) + "\n").code == 0
    cli("payouts", "run")
    after = balances(cli)
    assert after["bob"]["paid"] == "9.000000000" and after["alice"]["paid"] == "0.000000000"


def test_the_sandbox_pays_no_one_without_an_account_of_its_own(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11, "bob": 20, "carol": 30})
    onboard(cli, "carol")
    assert cli("import", "creators", "-", input=json.dumps(
        {"creator": "bob", "name": "Bob", "email": "bob@example.org", "currency": "USD",
         "stripe_account": "acct_1RealStripe"}) + "\n").code == 0
    run = json.loads(cli("payouts", "run", "--format", "json").stdout)
    assert [p["creator"] for p in run["payouts"]] == ["carol"]
    why = {r["creator"]: r for r in run["not_paid"]}
    assert why["alice"]["reason"] == "no_account"
    assert why["bob"]["reason"] == "other_provider"
    assert "Stripe account" in why["bob"]["detail"]
    assert run["counts"]["not_paid"] == {"no_account": 1, "other_provider": 1}
    # Onboarding in the sandbox never replaces a real Stripe account.
    refused = cli("creators", "onboard", "bob")
    assert refused.code == 1 and "ROYALTY_STRIPE_API_KEY" in refused.stderr
    listed = {c["creator"]: c for c in json.loads(
        cli("creators", "list", "--format", "json").stdout)}
    assert listed["bob"]["stripe_account"] == "acct_1RealStripe"
