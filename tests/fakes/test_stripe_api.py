"""The Stripe fake, exercised through the real ``stripe`` SDK.

Every client sets ``max_network_retries`` explicitly: the SDK retries 409s,
5xx answers and connection errors on its own when it is above 0.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import stripe

from .stripe_api import FAULTS, StripeFake

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_test_secret_abc123"


def onboarded_account(fake: StripeFake, client: stripe.StripeClient, **extra) -> str:
    acct = client.v1.accounts.create(
        {
            "type": "express",
            "country": "US",
            "capabilities": {"transfers": {"requested": True}},
            **extra,
        }
    )
    fake.complete_onboarding(acct.id)
    return acct.id


def transfer_params(dest: str, amount: int = 1000, **extra) -> dict:
    return {"amount": amount, "currency": "usd", "destination": dest, **extra}


def raw(
    fake: StripeFake, method: str, path: str, body: str | None = None, headers: dict | None = None
):
    req = urllib.request.Request(
        fake.url + path,
        data=body.encode() if body is not None else None,
        method=method,
        headers=headers or {},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


# --------------------------------------------------------------------- basics


def test_lifecycle_context_manager_and_url():
    fake = StripeFake()
    fake.start()
    assert fake.url.startswith("http://127.0.0.1:") and fake.port > 0
    assert fake.client().v1.balance.retrieve().object == "balance"
    fake.stop()
    fake.stop()  # idempotent
    with StripeFake() as again:
        assert again.client().v1.balance.retrieve().livemode is False


@pytest.mark.parametrize("key", ["pk_test_123", "not-a-key"])
def test_bad_api_key_is_authentication_error(stripe_fake, key):
    client = stripe_fake.client(api_key=key)
    with pytest.raises(stripe.AuthenticationError) as info:
        client.v1.balance.retrieve()
    assert info.value.http_status == 401
    assert info.value.error.type == "invalid_request_error"
    assert "Invalid API Key provided" in info.value.user_message
    assert key not in info.value.user_message or len(key) <= 12  # redacted


def test_missing_authorization_header(stripe_fake):
    status, _, body = raw(stripe_fake, "GET", "/v1/balance")
    assert status == 401
    assert "You did not provide an API key" in body["error"]["message"]
    # Basic auth as curl -u sk_test_...: sends it
    status, _, body = raw(
        stripe_fake, "GET", "/v1/balance", headers={"Authorization": "Basic c2tfdGVzdF94Og=="}
    )
    assert status == 200 and body["object"] == "balance"


def test_unknown_url_and_unknown_id(stripe_fake):
    status, _, body = raw(
        stripe_fake, "GET", "/v1/nope", headers={"Authorization": "Bearer sk_test_x"}
    )
    assert status == 404 and "Unrecognized request URL (GET: /v1/nope)" in body["error"]["message"]
    client = stripe_fake.client()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.retrieve("tr_missing")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing" and info.value.param == "id"
    assert info.value.user_message == "No such transfer: 'tr_missing'"


# ------------------------------------------------------------------- accounts


def test_create_retrieve_update_list_accounts(stripe_fake):
    client = stripe_fake.client()
    acct = client.v1.accounts.create(
        {
            "type": "express",
            "country": "DE",
            "email": "artist@example.com",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"artist_id": "42", "tier": "gold"},
        }
    )
    assert acct.id.startswith("acct_") and acct.object == "account"
    assert acct.type == "express" and acct.country == "DE" and acct.default_currency == "eur"
    assert acct.livemode is False and isinstance(acct.created, int)
    assert acct.capabilities.to_dict() == {"transfers": "inactive"}
    assert (
        acct.charges_enabled is False
        and acct.payouts_enabled is False
        and acct.details_submitted is False
    )
    assert "external_account" in acct.requirements.currently_due
    assert acct.requirements.disabled_reason == "requirements.past_due"
    assert acct.metadata.to_dict() == {"artist_id": "42", "tier": "gold"}

    assert client.v1.accounts.retrieve(acct.id).email == "artist@example.com"

    updated = client.v1.accounts.update(
        acct.id, {"metadata": {"tier": "", "label": "indie"}, "email": "new@example.com"}
    )
    assert updated.metadata.to_dict() == {"artist_id": "42", "label": "indie"}  # merged, "" removes
    assert updated.email == "new@example.com"
    [evt] = [e for e in stripe_fake.events if e["type"] == "account.updated"]
    assert evt["data"]["previous_attributes"]["email"] == "artist@example.com"

    more = [client.v1.accounts.create({"type": "custom"}).id for _ in range(3)]
    page = client.v1.accounts.list({"limit": 2})
    assert page.object == "list" and page.url == "/v1/accounts" and page.has_more is True
    assert [a.id for a in page.data] == more[::-1][:2]  # newest first
    assert [a.id for a in page.auto_paging_iter()] == [*more[::-1], acct.id]


def test_account_validation_errors(stripe_fake):
    client = stripe_fake.client()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.create({"type": "premium"})
    assert info.value.param == "type"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.create({"type": "express", "colour": "blue"})
    assert info.value.code == "parameter_unknown" and info.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.accounts.retrieve("acct_nope")
    assert info.value.code == "resource_missing"


def test_account_link_and_hosted_onboarding(stripe_fake):
    client = stripe_fake.client()
    acct = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    link = client.v1.account_links.create(
        {
            "account": acct.id,
            "refresh_url": "https://app.example/refresh",
            "return_url": "https://app.example/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link" and link.url.startswith("http")
    assert link.expires_at > link.created

    # Visiting the link plays the hosted onboarding: completes it and redirects.
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as info:
        opener.open(link.url, timeout=5)
    assert info.value.code == 302 and info.value.headers["Location"] == "https://app.example/return"
    with pytest.raises(urllib.error.HTTPError) as info:  # links are single-use
        opener.open(link.url, timeout=5)
    assert info.value.headers["Location"] == "https://app.example/refresh"

    acct = client.v1.accounts.retrieve(acct.id)
    assert acct.payouts_enabled is True and acct.details_submitted is True
    assert acct.capabilities.transfers == "active" and acct.requirements.currently_due == []

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.account_links.create(
            {"account": acct.id, "type": "account_onboarding", "return_url": "x"}
        )
    assert info.value.code == "parameter_missing" and info.value.param == "refresh_url"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.account_links.create(
            {
                "account": "acct_nope",
                "type": "account_onboarding",
                "return_url": "x",
                "refresh_url": "y",
            }
        )
    assert info.value.code == "resource_missing" and info.value.param == "account"


def test_complete_onboarding_records_account_updated(stripe_fake):
    client = stripe_fake.client()
    acct = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    stripe_fake.complete_onboarding(acct.id)
    events = client.v1.events.list({"type": "account.updated"})
    [evt] = events.data
    assert evt.data.object.id == acct.id and evt.data.object.payouts_enabled is True
    assert evt.data.object.capabilities.transfers == "active"
    assert evt.data.previous_attributes.payouts_enabled is False
    assert evt.api_version and evt.livemode is False

    stripe_fake.restrict_account(acct.id, "rejected.fraud")
    again = client.v1.accounts.retrieve(acct.id)
    assert again.payouts_enabled is False and again.requirements.disabled_reason == "rejected.fraud"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(transfer_params(acct.id))
    assert info.value.code == "insufficient_capabilities_for_transfer"


# ------------------------------------------------------------------ transfers


def test_transfer_create_shape_retrieve_update(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(
        transfer_params(
            dest,
            1234,
            transfer_group="payout_2024_06",
            description="June royalties",
            metadata={"statement_id": "st_1"},
        ),
        {"idempotency_key": "payout-st_1"},
    )
    assert tr.id.startswith("tr_") and tr.object == "transfer"
    assert (tr.amount, tr.currency, tr.destination, tr.transfer_group) == (
        1234,
        "usd",
        dest,
        "payout_2024_06",
    )
    assert tr.amount_reversed == 0 and tr.reversed is False and tr.livemode is False
    assert tr.balance_transaction.startswith("txn_") and tr.destination_payment.startswith("py_")
    assert (
        tr.reversals.object == "list" and tr.reversals.data == [] and tr.reversals.total_count == 0
    )
    assert tr.metadata.to_dict() == {"statement_id": "st_1"}
    assert stripe_fake.balance("usd") == 10**12 - 1234
    assert stripe_fake.connected_balance(dest, "usd") == 1234

    assert client.v1.transfers.retrieve(tr.id).description == "June royalties"
    upd = client.v1.transfers.update(tr.id, {"metadata": {"ledger_batch": "b9"}})
    assert upd.metadata.to_dict() == {"statement_id": "st_1", "ledger_batch": "b9"}

    types = [e["type"] for e in stripe_fake.events]
    assert types[-2:] == ["transfer.created", "transfer.updated"]
    created_evt = stripe_fake.events[-2]
    assert created_evt["data"]["object"]["id"] == tr.id
    assert created_evt["request"]["idempotency_key"] == "payout-st_1"
    assert stripe_fake.events[-1]["data"]["previous_attributes"] == {
        "metadata": {"ledger_batch": ""}
    }
    assert stripe_fake.transfer(tr.id)["metadata"]["ledger_batch"] == "b9"


def test_metadata_keys_that_look_like_indices(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(transfer_params(dest, metadata={"0": "zero", "7": "seven"}))
    assert tr.metadata.to_dict() == {"0": "zero", "7": "seven"}
    cleared = client.v1.transfers.update(tr.id, {"metadata": ""})  # "" clears all keys
    assert cleared.metadata.to_dict() == {}


def test_transfer_destination_errors(stripe_fake):
    client = stripe_fake.client()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(transfer_params("acct_nope"))
    assert info.value.http_status == 400
    assert info.value.code == "resource_missing" and info.value.param == "destination"

    pending = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(transfer_params(pending.id))
    assert info.value.code == "insufficient_capabilities_for_transfer"
    assert stripe_fake.transfers == []


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"currency": "usd", "destination": "acct_x"}, "parameter_missing", "amount"),
        (
            {"amount": "12.5", "currency": "usd", "destination": "acct_x"},
            "parameter_invalid_integer",
            "amount",
        ),
        (
            {"amount": 0, "currency": "usd", "destination": "acct_x"},
            "parameter_invalid_integer",
            "amount",
        ),
        ({"amount": 5, "currency": "xyz", "destination": "acct_x"}, None, "currency"),
        ({"amount": 5, "currency": "usd"}, "parameter_missing", "destination"),
        (
            {"amount": 5, "currency": "usd", "destination": "acct_x", "dest": "y"},
            "parameter_unknown",
            "dest",
        ),
    ],
)
def test_transfer_param_validation(stripe_fake, params, code, param):
    client = stripe_fake.client()
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(params)
    assert info.value.http_status == 400 and info.value.code == code and info.value.param == param
    assert info.value.error.type == "invalid_request_error"


def test_validation_errors_are_not_saved_for_the_key(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(
            {"currency": "usd", "destination": dest}, {"idempotency_key": "k-fix"}
        )
    # Validation failed before the endpoint ran, so the key is still free.
    tr = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "k-fix"})
    assert tr.amount == 1000


def test_list_filters_and_pagination(stripe_fake):
    client = stripe_fake.client()
    a = onboarded_account(stripe_fake, client)
    b = onboarded_account(stripe_fake, client)
    stripe_fake.freeze_time(1_700_000_000)
    made = []
    for i in range(12):
        dest, group = (a, "g1") if i % 2 == 0 else (b, "g2")
        made.append(
            client.v1.transfers.create(transfer_params(dest, 100 + i, transfer_group=group)).id
        )
        stripe_fake.advance_time(10)
    newest_first = made[::-1]

    page = client.v1.transfers.list({"limit": 5})
    assert page.object == "list" and page.url == "/v1/transfers" and page.has_more is True
    assert [t.id for t in page.data] == newest_first[:5]
    page2 = client.v1.transfers.list({"limit": 5, "starting_after": page.data[-1].id})
    assert [t.id for t in page2.data] == newest_first[5:10]
    last = client.v1.transfers.list({"limit": 5, "starting_after": page2.data[-1].id})
    assert [t.id for t in last.data] == newest_first[10:] and last.has_more is False
    back = client.v1.transfers.list({"limit": 3, "ending_before": page2.data[0].id})
    assert [t.id for t in back.data] == newest_first[2:5]
    assert [t.id for t in client.v1.transfers.list({"limit": 4}).auto_paging_iter()] == newest_first

    g1 = [t.id for t in client.v1.transfers.list({"transfer_group": "g1", "limit": 100}).data]
    assert g1 == [t for t in newest_first if made.index(t) % 2 == 0]
    to_b = client.v1.transfers.list({"destination": b, "limit": 100}).data
    assert {t.destination for t in to_b} == {b} and len(to_b) == 6
    window = client.v1.transfers.list(
        {"created": {"gte": 1_700_000_030, "lt": 1_700_000_060}, "limit": 100}
    )
    assert [t.id for t in window.data] == made[3:6][::-1]
    exact = client.v1.transfers.list({"created": 1_700_000_040})
    assert [t.id for t in exact.data] == [made[4]]
    both = client.v1.transfers.list(
        {"transfer_group": "g2", "destination": b, "created": {"lte": 1_700_000_050}}
    )
    assert [t.id for t in both.data] == [made[5], made[3], made[1]]

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.list({"limit": 101})
    assert info.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.list({"starting_after": "tr_unknown"})
    assert info.value.code == "resource_missing" and info.value.param == "starting_after"


# ------------------------------------------------------------ reversals, balance


def test_reversal_restores_balance(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.set_balance("usd", 5000)
    tr = client.v1.transfers.create(transfer_params(dest, 3000))
    assert client.v1.balance.retrieve().available[-1].amount == 2000  # currencies sorted: eur, usd

    partial = client.v1.transfers.reversals.create(
        tr.id, {"amount": 1000, "metadata": {"reason": "dispute"}}
    )
    assert (
        partial.object == "transfer_reversal"
        and partial.amount == 1000
        and partial.transfer == tr.id
    )
    assert stripe_fake.balance("usd") == 3000
    after = client.v1.transfers.retrieve(tr.id)
    assert after.amount_reversed == 1000 and after.reversed is False
    assert [r.id for r in after.reversals.data] == [partial.id]

    rest = client.v1.transfers.reversals.create(tr.id)  # no amount: the remainder
    assert rest.amount == 2000
    after = client.v1.transfers.retrieve(tr.id)
    assert after.amount_reversed == 3000 and after.reversed is True
    assert stripe_fake.balance("usd") == 5000 and stripe_fake.connected_balance(dest, "usd") == 0

    listed = client.v1.transfers.reversals.list(tr.id)
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    assert client.v1.transfers.reversals.retrieve(tr.id, partial.id).metadata.reason == "dispute"

    reversed_events = [e for e in stripe_fake.events if e["type"] == "transfer.reversed"]
    assert len(reversed_events) == 2
    assert reversed_events[-1]["data"]["object"]["reversed"] is True
    assert reversed_events[-1]["data"]["previous_attributes"] == {
        "amount_reversed": 1000,
        "reversed": False,
    }

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.reversals.create(tr.id, {"amount": 1})
    assert "already been fully reversed" in info.value.user_message


def test_reversal_cannot_exceed_remaining(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(transfer_params(dest, 500))
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.reversals.create(tr.id, {"amount": 501})
    assert info.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.reversals.create("tr_nope", {"amount": 1})
    assert info.value.http_status == 404


def test_balance_insufficient(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.set_balance("usd", 999)
    bal = client.v1.balance.retrieve()
    assert {(e.currency, e.amount) for e in bal.available} == {("usd", 999), ("eur", 10**12)}
    assert bal.object == "balance" and {e.currency for e in bal.pending} == {"usd", "eur"}

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(transfer_params(dest, 1000), {"idempotency_key": "short"})
    err = info.value
    assert err.http_status == 400 and err.code == "balance_insufficient"
    assert (
        err.error.type == "invalid_request_error"
        and "insufficient available funds" in err.user_message
    )
    assert stripe_fake.transfers == [] and stripe_fake.balance("usd") == 999

    # The error came from the running endpoint, so Stripe saved it for the key ...
    stripe_fake.set_balance("usd", 10_000)
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.transfers.create(transfer_params(dest, 1000), {"idempotency_key": "short"})
    assert again.value.headers.get("idempotent-replayed") == "true"
    # ... and a new key goes through.
    assert (
        client.v1.transfers.create(
            transfer_params(dest, 1000), {"idempotency_key": "short-2"}
        ).amount
        == 1000
    )
    # Balances are per currency.
    stripe_fake.set_balance("gbp", 0)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create({"amount": 1, "currency": "gbp", "destination": dest})
    assert info.value.code == "balance_insufficient"


# --------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_same_transfer(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    first = client.v1.transfers.create(
        transfer_params(dest, metadata={"a": "1", "b": "2"}), {"idempotency_key": "pay-1"}
    )
    assert "idempotent-replayed" not in first.last_response.headers
    # Same parameters (order on the wire does not matter) -> the saved answer.
    second = client.v1.transfers.create(
        {"metadata": {"b": "2", "a": "1"}, **transfer_params(dest)}, {"idempotency_key": "pay-1"}
    )
    assert second.id == first.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert second.last_response.headers["Original-Request"] == first.last_response.request_id
    assert len(stripe_fake.transfers) == 1 and stripe_fake.balance("usd") == 10**12 - 1000
    assert [e["type"] for e in stripe_fake.events].count("transfer.created") == 1
    assert stripe_fake.requests[-2:] == [
        ("POST", "/v1/transfers", "pay-1", 200),
        ("POST", "/v1/transfers", "pay-1", 200),
    ]
    assert [d.replayed for d in stripe_fake.request_details[-2:]] == [False, True]


def test_same_key_different_params_is_idempotency_error(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    client.v1.transfers.create(transfer_params(dest, 1000), {"idempotency_key": "pay-2"})
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.transfers.create(transfer_params(dest, 1001), {"idempotency_key": "pay-2"})
    assert info.value.http_status == 400 and info.value.error.type == "idempotency_error"
    assert "same parameters" in info.value.user_message
    with pytest.raises(stripe.IdempotencyError) as info:  # another endpoint
        client.v1.accounts.create({"type": "express"}, {"idempotency_key": "pay-2"})
    assert "same endpoint" in info.value.user_message
    assert len(stripe_fake.transfers) == 1


def test_keys_are_scoped_per_api_key(stripe_fake):
    one = stripe_fake.client(api_key="sk_test_one")
    two = stripe_fake.client(api_key="sk_test_two")
    dest = onboarded_account(stripe_fake, one)
    a = one.v1.transfers.create(transfer_params(dest), {"idempotency_key": "shared"})
    b = two.v1.transfers.create(transfer_params(dest), {"idempotency_key": "shared"})
    assert a.id != b.id and len(stripe_fake.transfers) == 2


def test_keys_expire_after_24_hours(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.freeze_time()
    a = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "old"})
    stripe_fake.advance_time(24 * 3600)
    b = client.v1.transfers.create(transfer_params(dest, 7), {"idempotency_key": "old"})
    assert a.id != b.id


def _create_in_thread(client, params, key, out):
    def run():
        try:
            out["result"] = client.v1.transfers.create(params, {"idempotency_key": key})
        except Exception as exc:  # noqa: BLE001
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_concurrent_request_with_same_key_gets_409(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "slow", delay=1.0)
    out: dict = {}
    thread = _create_in_thread(stripe_fake.client(), transfer_params(dest), "same", out)
    _wait_until(lambda: stripe_fake.in_progress_keys() == ["same"])  # the first is executing
    with pytest.raises(stripe.APIError) as info:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "same"})
    assert info.value.http_status == 409
    assert info.value.error.code == "idempotency_key_in_use"
    thread.join()
    assert "error" not in out
    # The 409 was not saved: once the first finishes, the key replays its result.
    replay = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "same"})
    assert replay.id == out["result"].id and len(stripe_fake.transfers) == 1


def test_sdk_retries_a_409_until_the_first_request_finishes(stripe_fake):
    client = stripe_fake.client(max_network_retries=4)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "slow", delay=0.8)
    out: dict = {}
    thread = _create_in_thread(stripe_fake.client(), transfer_params(dest), "same", out)
    _wait_until(lambda: stripe_fake.in_progress_keys() == ["same"])
    second = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "same"})
    thread.join()
    assert second.id == out["result"].id and len(stripe_fake.transfers) == 1
    statuses = [r.status for r in stripe_fake.requests if r.idempotency_key == "same"]
    assert 409 in statuses and statuses.count(200) == 2


# --------------------------------------------------------------------- faults


def test_inject_validates_names():
    fake = StripeFake()
    with pytest.raises(ValueError):
        fake.inject("POST", "/v1/transfers", "explode")
    assert {
        "error_500",
        "error_500_after_commit",
        "drop_connection",
        "drop_before",
        "timeout",
        "conflict_409",
        "rate_limit_429",
        "balance_insufficient",
    } <= set(FAULTS)


def test_error_500_executes_nothing(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "error_500")
    with pytest.raises(stripe.APIError) as info:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "k500"})
    assert info.value.http_status == 500 and info.value.error.type == "api_error"
    assert stripe_fake.transfers == []
    tr = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "k500"})
    assert "idempotent-replayed" not in tr.last_response.headers and len(stripe_fake.transfers) == 1


def test_sdk_retries_error_500_transparently(stripe_fake):
    client = stripe_fake.client(max_network_retries=2)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "error_500")
    tr = client.v1.transfers.create(transfer_params(dest))
    assert len(stripe_fake.transfers) == 1 and stripe_fake.transfers[0]["id"] == tr.id
    tries = [r for r in stripe_fake.requests if r.path == "/v1/transfers"]
    assert [r.status for r in tries] == [500, 200] and tries[0].idempotency_key == tries[
        1
    ].idempotency_key


@pytest.mark.parametrize(
    ("fault", "exc"),
    [
        ("error_500_after_commit", stripe.APIError),
        ("drop_connection", stripe.APIConnectionError),
    ],
)
def test_after_commit_faults_then_retry_with_same_key_returns_original(stripe_fake, fault, exc):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", fault)
    with pytest.raises(exc):
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "after-commit"})
    [created] = stripe_fake.transfers  # the money moved
    again = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "after-commit"})
    assert again.id == created["id"]
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_fake.transfers) == 1 and stripe_fake.balance("usd") == 10**12 - 1000
    assert stripe_fake.requests[-2].status == (500 if fault == "error_500_after_commit" else None)


@pytest.mark.parametrize("fault", ["error_500_after_commit", "drop_connection"])
def test_sdk_retry_recovers_after_commit_faults(stripe_fake, fault):
    client = stripe_fake.client(max_network_retries=2)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", fault)
    tr = client.v1.transfers.create(transfer_params(dest))
    assert tr.last_response.headers["Idempotent-Replayed"] == "true"
    assert [t["id"] for t in stripe_fake.transfers] == [tr.id]


def test_error_500_replayed_is_saved_like_stripe_documents(stripe_fake):
    client = stripe_fake.client(max_network_retries=3)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "error_500_replayed")
    with pytest.raises(stripe.APIError) as info:
        client.v1.transfers.create(
            transfer_params(dest, transfer_group="inv_9"), {"idempotency_key": "k"}
        )
    assert info.value.http_status == 500
    assert info.value.headers["stripe-should-retry"] == "false"  # so the SDK did not retry
    assert len([r for r in stripe_fake.requests if r.idempotency_key == "k"]) == 1
    with pytest.raises(stripe.APIError) as again:  # the 500 is what the key now replays
        client.v1.transfers.create(
            transfer_params(dest, transfer_group="inv_9"), {"idempotency_key": "k"}
        )
    assert again.value.headers["idempotent-replayed"] == "true"
    # The transfer exists; a client reconciles by listing.
    [found] = client.v1.transfers.list({"transfer_group": "inv_9"}).data
    assert len(stripe_fake.transfers) == 1 and found.id == stripe_fake.transfers[0]["id"]


def test_error_500_saved_before_creation_is_replayed_and_creates_nothing(stripe_fake):
    client = stripe_fake.client(max_network_retries=3)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "error_500_saved")
    params = transfer_params(dest, transfer_group="inv_7")
    with pytest.raises(stripe.APIError) as info:
        client.v1.transfers.create(params, {"idempotency_key": "k7"})
    assert info.value.http_status == 500
    assert info.value.headers["stripe-should-retry"] == "false"
    assert "idempotent-replayed" not in info.value.headers
    for _ in range(2):  # the saved 500 is what the key answers from now on
        with pytest.raises(stripe.APIError) as again:
            client.v1.transfers.create(params, {"idempotency_key": "k7"})
        assert again.value.http_status == 500
        assert again.value.headers["idempotent-replayed"] == "true"
    assert stripe_fake.transfers == []
    assert client.v1.transfers.list({"transfer_group": "inv_7"}).data == []
    # Once the key has expired the same key starts a new request.
    stripe_fake.advance_time(24 * 3600)
    tr = client.v1.transfers.create(params, {"idempotency_key": "k7"})
    assert [t["id"] for t in stripe_fake.transfers] == [tr.id]


def test_a_fault_every_few_requests(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    stripe_fake.inject("GET", "/v1/balance", "error_500", times=2, every=3)
    outcomes = []
    for _ in range(8):
        try:
            client.v1.balance.retrieve()
            outcomes.append("ok")
        except stripe.APIError:
            outcomes.append("500")
    assert outcomes == ["ok", "ok", "500", "ok", "ok", "500", "ok", "ok"]
    with pytest.raises(ValueError):
        stripe_fake.inject("GET", "/v1/balance", "error_500", every=0)


def test_drop_before_executes_nothing(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "drop_before")
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kd"})
    assert info.value.should_retry is True
    assert stripe_fake.transfers == [] and stripe_fake.requests[-1].status is None
    tr = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kd"})
    assert "idempotent-replayed" not in tr.last_response.headers


def test_timeout_then_retry_with_same_key(stripe_fake):
    client = stripe_fake.client(max_network_retries=0, timeout=0.3)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "timeout", delay=1.5)
    started = time.monotonic()
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kt"})
    assert time.monotonic() - started < 1.4 and "Timeout" in str(info.value)
    [created] = stripe_fake.transfers
    again = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kt"})
    assert (
        again.id == created["id"] and again.last_response.headers["Idempotent-Replayed"] == "true"
    )


def test_conflict_409_fault(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "conflict_409")
    with pytest.raises(stripe.APIError) as info:
        client.v1.transfers.create(transfer_params(dest))
    assert info.value.http_status == 409 and info.value.error.code == "idempotency_key_in_use"
    assert stripe_fake.transfers == []
    stripe_fake.inject("POST", "/v1/transfers", "conflict_409")
    tr = stripe_fake.client(max_network_retries=1).v1.transfers.create(transfer_params(dest))
    assert [t["id"] for t in stripe_fake.transfers] == [tr.id]


def test_rate_limit_429(stripe_fake):
    client = stripe_fake.client(max_network_retries=3)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "rate_limit_429")
    with pytest.raises(stripe.RateLimitError) as info:
        client.v1.transfers.create(transfer_params(dest))
    assert info.value.http_status == 429 and info.value.error.code == "rate_limit"
    # No Stripe-Should-Retry header: the SDK does not retry a 429 by itself.
    assert [r.status for r in stripe_fake.requests if r.path == "/v1/transfers"] == [429]
    assert stripe_fake.transfers == []

    stripe_fake.inject("POST", "/v1/transfers", "rate_limit_429", should_retry=True)
    tr = client.v1.transfers.create(transfer_params(dest))
    assert [r.status for r in stripe_fake.requests if r.path == "/v1/transfers"] == [429, 429, 200]
    assert stripe_fake.transfers[0]["id"] == tr.id


def test_lock_timeout_429_is_retried_by_the_sdk(stripe_fake):
    client = stripe_fake.client(max_network_retries=1)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "lock_timeout_429")
    tr = client.v1.transfers.create(transfer_params(dest))
    assert [t["id"] for t in stripe_fake.transfers] == [tr.id]
    stripe_fake.inject("POST", "/v1/transfers", "lock_timeout_429")
    with pytest.raises(stripe.RateLimitError) as info:
        stripe_fake.client(max_network_retries=0).v1.transfers.create(transfer_params(dest))
    assert info.value.error.code == "lock_timeout"


def test_balance_insufficient_fault(stripe_fake):
    client = stripe_fake.client(max_network_retries=2)
    dest = onboarded_account(stripe_fake, client)
    stripe_fake.inject("POST", "/v1/transfers", "balance_insufficient")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kb"})
    assert info.value.code == "balance_insufficient" and stripe_fake.transfers == []
    assert [r.status for r in stripe_fake.requests if r.path == "/v1/transfers"] == [
        400
    ]  # 4xx: no retry
    # Like the real error it is saved for the key; a new key goes through.
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kb"})
    assert again.value.headers["idempotent-replayed"] == "true"
    assert (
        client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "kb2"}).amount == 1000
    )


def test_faults_match_method_prefix_and_times(stripe_fake):
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(transfer_params(dest))
    fault = stripe_fake.inject("GET", "/v1/transfers", "error_500", times=2)
    client.v1.transfers.reversals.create(tr.id, {"amount": 1})  # POST: untouched
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.transfers.retrieve(tr.id)
    assert client.v1.transfers.retrieve(tr.id).id == tr.id
    assert fault.hits == 2 and stripe_fake.pending_faults == []

    stripe_fake.inject("*", "/v1/", "rate_limit_429", times=None)
    for call in (client.v1.balance.retrieve, lambda: client.v1.transfers.list()):
        with pytest.raises(stripe.RateLimitError):
            call()
    stripe_fake.clear_faults()
    assert client.v1.balance.retrieve().object == "balance"
    details = [d for d in stripe_fake.request_details if d.fault]
    assert [d.fault for d in details] == [
        "error_500",
        "error_500",
        "rate_limit_429",
        "rate_limit_429",
    ]


# --------------------------------------------------------------------- events


def test_events_list_and_retrieve(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(transfer_params(dest), {"idempotency_key": "ev"})
    client.v1.transfers.reversals.create(tr.id, {"amount": 10})
    events = client.v1.events.list()
    assert [e.type for e in events.data] == [
        "transfer.reversed",
        "transfer.created",
        "account.updated",
    ]
    created = client.v1.events.retrieve(events.data[1].id)
    assert created.id.startswith("evt_") and created.object == "event"
    assert created.data.object.id == tr.id and created.data.object.object == "transfer"
    assert created.request.idempotency_key == "ev" and isinstance(created.created, int)
    assert [e.type for e in client.v1.events.list({"type": "transfer.*"}).data] == [
        "transfer.reversed",
        "transfer.created",
    ]
    assert [e.type for e in client.v1.events.list({"types": ["account.updated"]}).data] == [
        "account.updated"
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve("evt_nope")


# ------------------------------------------------------------------- webhooks


def test_sign_payload_is_accepted_by_the_sdk():
    payload = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "transfer.created",
            "data": {"object": {"id": "tr_1", "object": "transfer"}},
        }
    ).encode()
    header = StripeFake.sign_payload(payload, SECRET)
    event = stripe.Webhook.construct_event(payload, header, SECRET)
    assert event.id == "evt_1" and event.type == "transfer.created"
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, SECRET)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, timestamp=int(header.split(",")[0][2:])
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload + b" ", header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):  # outside the default 300 s tolerance
        stripe.Webhook.construct_event(
            payload, StripeFake.sign_payload(payload, SECRET, timestamp=1), SECRET
        )


class _WebhookReceiver:
    """A webhook endpoint that verifies signatures with the SDK."""

    def __init__(self, secret: str) -> None:
        self.received: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers["Stripe-Signature"], secret
                    )
                except stripe.SignatureVerificationError:
                    self.send_response(400)
                else:
                    receiver.received.append(event.id)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/stripe"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_deliver_events_in_any_order_and_twice(stripe_fake):
    client = stripe_fake.client()
    dest = onboarded_account(stripe_fake, client)
    tr = client.v1.transfers.create(transfer_params(dest))
    client.v1.transfers.reversals.create(tr.id)
    ids = [e["id"] for e in stripe_fake.events]
    receiver = _WebhookReceiver(SECRET)
    try:
        results = stripe_fake.deliver_events(receiver.url, SECRET)
        assert [r.status for r in results] == [200, 200, 200] and receiver.received == ids
        order = [ids[2], ids[1], ids[2], ids[0]]
        results = stripe_fake.deliver_events(receiver.url, SECRET, event_ids=order)
        assert [r.event_id for r in results] == order and receiver.received[3:] == order
        bad = stripe_fake.deliver_events(receiver.url, "whsec_wrong", event_ids=ids[:1])
        assert bad[0].status == 400
    finally:
        receiver.close()
    down = stripe_fake.deliver_events(receiver.url, SECRET, event_ids=ids[:1], timeout=1)
    assert down[0].status is None and down[0].error


# ----------------------------------------------------------------- standalone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runs_standalone_as_module():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.stripe_api", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "listening on" in proc.stdout.readline()
        client = stripe.StripeClient(
            "sk_test_cli", base_addresses={"api": f"http://127.0.0.1:{port}"}, max_network_retries=0
        )
        assert client.v1.balance.retrieve().object == "balance"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_thousands_of_keys_each_make_one_transfer(stripe_fake):
    """Many idempotency keys in a row (a payout run's worth): each makes one transfer, and
    any of them sent again answers with its own transfer. How fast the fake answers is
    measured by ``bench/payouts.py``, not here."""
    client = stripe_fake.client(max_network_retries=0)
    dest = onboarded_account(stripe_fake, client)
    made = [client.v1.transfers.create(transfer_params(dest, 1, metadata={"i": str(i)}),
                                       {"idempotency_key": f"b{i}"}).id for i in range(2_000)]
    assert len(set(made)) == len(stripe_fake.transfers) == 2_000
    for i in (0, 999, 1_999):
        again = client.v1.transfers.create(transfer_params(dest, 1, metadata={"i": str(i)}),
                                           {"idempotency_key": f"b{i}"})
        assert again.id == made[i] and again.metadata["i"] == str(i)
    assert len(stripe_fake.transfers) == 2_000
