"""Issue 20: creators imported with a Stripe account are paid when Stripe says the
account can receive payouts; every creator not paid is listed with the reason."""

from __future__ import annotations

import json

import pytest

from tests.builders import creator, jsonl
from tests.ledger.payouts.conftest import fund, ledger_paid, stripe_paid

USES = {"alice": 11, "bob": 25, "carol": 40, "dora": 5}


def open_account(fake, key: str, *, enabled: bool = True) -> str:
    account = fake.client().v1.accounts.create({
        "type": "express", "capabilities": {"transfers": {"requested": True}},
        "metadata": {"creator": key}}).id
    if enabled:
        fake.complete_onboarding(account)
    else:
        fake.restrict_account(account, currently_due=["external_account",
                                                       "individual.verification.document"])
    return account


@pytest.fixture
def imported(stripe_cli, stripe_ledger, stripe_fake):
    """Creators onboarded elsewhere, imported with their accounts: carol's cannot receive
    payouts yet, dora's balance is below the threshold."""
    fund(stripe_cli, stripe_ledger, USES)
    accounts = {key: open_account(stripe_fake, key, enabled=key != "carol") for key in USES}
    rows = [creator(key, stripe_account=account) for key, account in accounts.items()]
    assert stripe_cli("import", "creators", "-", input=jsonl(rows)).code == 0
    return accounts


def listed(cli) -> dict[str, dict]:
    return {c["creator"]: c for c in json.loads(
        cli("creators", "list", "--format", "json").stdout)}


def run_json(cli, *args: str) -> dict:
    result = cli("payouts", "run", *args, "--format", "json")
    assert result.code == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_imported_accounts_are_checked_and_paid_on_the_first_run(imported, stripe_cli,
                                                                 stripe_fake) -> None:
    before = listed(stripe_cli)
    assert all(before[k]["account_checked_at"] is None for k in USES)  # not yet checked
    dry = run_json(stripe_cli, "--dry-run")
    assert sorted(c["creator"] for c in dry["would_pay"]) == ["alice", "bob"]
    assert stripe_fake.transfers == []

    result = stripe_cli("payouts", "run")
    assert result.code == 0 and "paid 2, failed 0, in flight 0, not paid 2" in result.stdout
    assert "below threshold 1" in result.stdout and "cannot receive payouts 1" in result.stdout
    assert stripe_paid(stripe_fake) == {"alice": 1100, "bob": 2500}
    assert ledger_paid(stripe_cli) == {"alice": 1100, "bob": 2500}
    after = listed(stripe_cli)
    assert after["carol"]["payouts_enabled"] is False
    assert after["carol"]["requirements_due"] == ["external_account",
                                                  "individual.verification.document"]
    assert after["alice"]["account_checked_at"] and after["carol"]["account_checked_at"]


def test_every_creator_not_paid_is_listed_with_the_reason(imported, stripe_cli) -> None:
    run = run_json(stripe_cli)
    why = {r["creator"]: r for r in run["not_paid"]}
    assert set(why) == {"carol", "dora"}
    assert why["carol"]["reason"] == "cannot_receive"
    assert "individual.verification.document" in why["carol"]["detail"]
    assert why["dora"]["reason"] == "below_threshold"
    assert "5.00 of 10.00 USD" in why["dora"]["detail"]
    assert run["counts"]["not_paid"] == {"below_threshold": 1, "cannot_receive": 1}
    # A creator paid is no longer "not paid": the next run says why they are not paid now.
    again = {r["creator"]: r["reason"] for r in run_json(stripe_cli)["not_paid"]}
    assert again == {"alice": "below_threshold", "bob": "below_threshold",
                     "carol": "cannot_receive", "dora": "below_threshold"}


def test_an_account_enabled_later_is_paid_after_a_refresh(imported, stripe_cli,
                                                          stripe_fake) -> None:
    stripe_cli("payouts", "run")
    stripe_fake.complete_onboarding(imported["carol"])
    # Checked moments ago: the run trusts that state until it is older than the setting.
    assert "carol" not in stripe_paid(stripe_fake)
    assert "paid 0" in stripe_cli("payouts", "run").stdout
    refreshed = stripe_cli("creators", "refresh", "carol", "--format", "json")
    assert refreshed.code == 0
    assert json.loads(refreshed.stdout) == [{"creator": "carol", "account": imported["carol"],
                                             "payouts": "enabled", "note": None}]
    assert "paid 1" in stripe_cli("payouts", "run").stdout
    assert stripe_paid(stripe_fake) == {"alice": 1100, "bob": 2500, "carol": 4000}


def test_a_state_older_than_the_setting_is_fetched_again(imported, stripe_cli, stripe_ledger,
                                                         stripe_fake) -> None:
    stripe_cli("payouts", "run")
    stripe_fake.complete_onboarding(imported["carol"])
    stripe_ledger.settings.payout_account_max_age = 0
    assert "paid 1" in stripe_cli("payouts", "run").stdout
    assert stripe_paid(stripe_fake)["carol"] == 4000


@pytest.mark.parametrize(("fault", "seen"), [("error_500", "500"), ("timeout", "Timeout")])
def test_an_account_that_cannot_be_fetched_leaves_only_its_creator_unpaid(
        imported, stripe_cli, stripe_fake, fault, seen) -> None:
    stripe_fake.inject("GET", f"/v1/accounts/{imported['bob']}", fault, times=None, delay=2.5)
    run = run_json(stripe_cli)
    assert [p["creator"] for p in run["payouts"]] == ["alice"]
    why = {r["creator"]: r for r in run["not_paid"]}
    assert why["bob"]["reason"] == "account_unavailable" and seen in why["bob"]["detail"]
    assert stripe_paid(stripe_fake) == {"alice": 1100}
    refresh = stripe_cli("creators", "refresh")
    assert refresh.code == 1 and "could not be fetched: bob" in refresh.stderr
    stripe_fake.clear_faults()
    assert stripe_cli("creators", "refresh").code == 0
    assert "paid 1" in stripe_cli("payouts", "run").stdout
    assert stripe_paid(stripe_fake) == {"alice": 1100, "bob": 2500}


def test_refresh_names_every_unknown_creator(imported, stripe_cli) -> None:
    result = stripe_cli("creators", "refresh", "alice", "zed", "yan")
    assert result.code == 2 and "'zed'" in result.stderr and "'yan'" in result.stderr


def test_a_new_account_on_import_is_not_yet_checked(imported, stripe_cli, stripe_fake,
                                                    monkeypatch) -> None:
    stripe_cli("payouts", "run")
    other = open_account(stripe_fake, "alice", enabled=False)
    assert stripe_cli("import", "creators", "-", input=jsonl(
        [creator("alice", stripe_account=other)])).code == 0
    alice = listed(stripe_cli)["alice"]
    assert alice["payouts_enabled"] is False and alice["account_checked_at"] is None
    monkeypatch.setenv("COLUMNS", "160")  # one line per creator
    table = stripe_cli("creators", "list").stdout
    assert "not checked" in table and "never" in table


def test_a_sandbox_account_is_never_paid_by_stripe(stripe_cli, stripe_ledger,
                                                   stripe_fake) -> None:
    fund(stripe_cli, stripe_ledger, {"bob": 20})
    with stripe_ledger.connect() as conn:  # as a sandbox `creators onboard bob` leaves it
        conn.execute("UPDATE creator SET stripe_account = 'acct_sandbox_bob', "
                     "payouts_enabled = true, account_updated_at = now()")
        conn.commit()
    dry = run_json(stripe_cli, "--dry-run")
    assert dry["would_pay"] == []
    [bob] = dry["not_paid"]
    assert bob["reason"] == "other_provider" and "made by the sandbox" in bob["detail"]
    assert "paid 0" in stripe_cli("payouts", "run").stdout and stripe_fake.transfers == []
    # Onboarding with Stripe replaces it with a real account.
    onboarded = stripe_cli("creators", "onboard", "bob")
    assert onboarded.code == 0 and "acct_sandbox" not in onboarded.stdout
    account = listed(stripe_cli)["bob"]["stripe_account"]
    stripe_fake.complete_onboarding(account)
    stripe_cli("creators", "refresh")
    assert "paid 1" in stripe_cli("payouts", "run").stdout
    assert stripe_paid(stripe_fake) == {"bob": 2000}


def test_a_balance_in_another_currency_is_held_and_listed(imported, stripe_cli,
                                                          stripe_fake) -> None:
    assert stripe_cli("import", "creators", "-", input=jsonl([creator(
        "bob", currency="EUR", stripe_account=imported["bob"])])).code == 0
    run = run_json(stripe_cli)
    why = {r["creator"]: r for r in run["not_paid"]}
    assert why["bob"]["reason"] == "other_currency" and "paid in EUR" in why["bob"]["detail"]
    assert why["bob"]["balance"] == "25.000000175"
    assert "bob" not in stripe_paid(stripe_fake)
