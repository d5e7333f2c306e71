"""The webhook endpoint: signatures, redeliveries, out-of-order events, reversals."""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from ledger.payouts.webhooks import create_app
from tests.ledger.payouts.conftest import balances, fund, onboard_all

SECRET = "whsec_test_royalty"


@pytest.fixture
def endpoint(stripe_ledger):
    app = create_app(stripe_ledger.database_url, stripe_ledger.payout_provider, SECRET)
    with TestClient(app) as client:
        def post(event: dict, *, secret: str = SECRET, timestamp: int | None = None):
            from tests.fakes.stripe_api.server import StripeFake

            payload = json.dumps(event).encode()
            signature = StripeFake.sign_payload(payload, secret, timestamp)
            return client.post("/stripe/webhooks", content=payload,
                               headers={"Stripe-Signature": signature,
                                        "Content-Type": "application/json"})
        yield post


def count(ledger, table: str) -> int:
    with ledger.connect() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_bad_signatures_get_400_and_change_nothing(endpoint, stripe_ledger, stripe_fake,
                                                   stripe_cli) -> None:
    fund(stripe_cli, stripe_ledger, {"alice": 11})
    stripe_cli("creators", "onboard", "alice")
    [event] = [e for e in stripe_fake.events if e["type"] == "account.updated"] or [
        {"id": "evt_x", "type": "account.updated", "data": {"object": {"id": "acct_x"}}}]
    assert endpoint(event, secret="whsec_wrong").status_code == 400
    assert endpoint(event, timestamp=int(time.time()) - 3600).status_code == 400  # too old
    assert count(stripe_ledger, "webhook_event") == 0


def test_account_updated_keeps_the_creator_current(endpoint, stripe_ledger, stripe_fake,
                                                   stripe_cli) -> None:
    fund(stripe_cli, stripe_ledger, {"alice": 11})
    stripe_cli("creators", "onboard", "alice")
    listed = json.loads(stripe_cli("creators", "list", "--format", "json").stdout)
    account_id = listed[0]["stripe_account"]
    assert listed[0]["payouts_enabled"] is False
    stripe_fake.complete_onboarding(account_id)
    [event] = [e for e in stripe_fake.events if e["type"] == "account.updated"]
    response = endpoint(event)
    assert response.status_code == 200 and response.json()["result"] == "applied"
    assert endpoint(event).json()["result"] == "duplicate"  # redelivery: recorded once
    listed = json.loads(stripe_cli("creators", "list", "--format", "json").stdout)
    assert listed[0]["payouts_enabled"] is True and listed[0]["requirements_due"] == []


def test_a_reversal_gives_the_money_back_once_whatever_the_order(
        endpoint, stripe_ledger, stripe_fake, stripe_cli) -> None:
    fund(stripe_cli, stripe_ledger, {"alice": 11})
    onboard_all(stripe_cli, stripe_ledger, stripe_fake, ["alice"])
    stripe_cli("payouts", "run")
    assert balances(stripe_cli)["alice"]["paid"] == "11.000000000"
    [transfer] = stripe_fake.transfers
    stripe_fake.client().v1.transfers.reversals.create(transfer["id"])
    events = {e["type"]: e for e in stripe_fake.events}
    # Out of order and twice: the reversal first, then the creation, then both again.
    for event in (events["transfer.reversed"], events["transfer.created"],
                  events["transfer.reversed"], events["transfer.created"]):
        assert endpoint(event).status_code == 200
    after = balances(stripe_cli)["alice"]
    assert after["paid"] == "0.000000000" and after["balance"] == "11.000000077"
    listed = json.loads(stripe_cli("payouts", "list", "--format", "json").stdout)
    assert listed[0]["status"] == "reversed"
    assert stripe_cli("payouts", "reconcile").code == 0
    # The reversed balance is paid again on the next run, under a new payout.
    stripe_cli("payouts", "run")
    assert balances(stripe_cli)["alice"]["paid"] == "11.000000000"
