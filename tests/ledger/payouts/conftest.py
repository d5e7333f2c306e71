"""Creators with balances to pay, and a ledger wired to the Stripe fake."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from ledger.bootstrap import Ledger
from ledger.config import Settings
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.payouts import accounts
from tests.builders import creator, jsonl, license, licensee, sha, work
from tests.fakes.stripe_api.pytest_plugin import stripe_fake  # noqa: F401
from tests.ingest_helpers import usage

PRICE = Decimal("1.000000007")  # per use, no fee: 11 uses owe 11.000000077


def fund(cli, ledger: Ledger, uses: dict[str, int]) -> None:
    """Register each creator with a work of its own and book ``uses`` of it."""
    assert cli("import", "creators", "-", input=jsonl([creator(c) for c in uses])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work(f"w-{c}", {c: "1"}) for c in uses])
               ).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license(
        "acme-cat", price=str(PRICE), fee="0", valid_until=None)])).code == 0
    events = [usage(f"{c}-{i}", item={"sha256": sha(f"w-{c}")}) for c, n in uses.items()
              for i in range(n)]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**8)
        conn.commit()


def stripe_paid(fake) -> dict[str, int]:
    """Net amount Stripe moved to each creator (by the metadata we send)."""
    paid: dict[str, int] = {}
    for t in fake.transfers:
        who = t["metadata"]["creator"]
        paid[who] = paid.get(who, 0) + t["amount"] - t["amount_reversed"]
    return paid


def ledger_paid(cli) -> dict[str, int]:
    return {c: int(Decimal(r["paid"]) * 100) for c, r in balances(cli).items()
            if Decimal(r["paid"])}


def payouts(cli) -> list[dict]:
    result = cli("payouts", "list", "--format", "json")
    assert result.code == 0, result.stdout
    return json.loads(result.stdout)


def balances(cli) -> dict[str, dict]:
    return {r["creator"]: r for r in json.loads(
        cli("report", "balances", "--format", "json").stdout)}


@pytest.fixture
def stripe_ledger(settings: Settings, stripe_fake, monkeypatch):  # noqa: F811
    """The test ledger, paying through the real SDK against the fake."""
    app = Ledger(settings=settings.model_copy(update={
        "stripe_api_key": "sk_test_royalty", "stripe_api_base": stripe_fake.url}))
    from ledger.payouts.stripe_provider import StripeProvider

    provider = StripeProvider("sk_test_royalty", stripe_fake.url, max_network_retries=1,
                              timeout=1.0)
    app.__dict__["payout_provider"] = provider
    yield app
    app.close()


@pytest.fixture
def stripe_cli(cli, stripe_ledger, monkeypatch):
    """``royalty …`` with the Stripe-backed ledger."""
    from ledger.cli import catalog, ingest, payouts, report

    for module in (catalog, ingest, payouts, report):
        monkeypatch.setattr(module, "get_ledger", lambda: stripe_ledger)
    return cli


def onboard_all(stripe_cli, stripe_ledger, stripe_fake, creators) -> None:  # noqa: F811
    for key in creators:
        result = stripe_cli("creators", "onboard", key)
        assert result.code == 0 and "onboarding link: http" in result.stdout
    with stripe_ledger.connect() as conn:
        for (account_id,) in conn.execute("SELECT stripe_account FROM creator").fetchall():
            stripe_fake.complete_onboarding(account_id)
            accounts.refresh(conn, stripe_ledger.payout_provider, account_id)
