"""Security probes of the webhook endpoint: whatever is posted, a 4xx or a recorded no-op,
never a 500, never a state change that a verified, known event did not ask for."""

from __future__ import annotations

import json
import time

import pytest
from starlette.testclient import TestClient

from ledger.payouts.webhooks import MAX_BODY_BYTES, create_app
from tests.fakes.stripe_api.server import StripeFake
from tests.ledger.payouts.conftest import fund

SECRET = "whsec_probe_royalty"


@pytest.fixture
def post(stripe_ledger):
    app = create_app(stripe_ledger.database_url, stripe_ledger.payout_provider, SECRET)
    with TestClient(app, raise_server_exceptions=False) as client:
        def send(payload: bytes, signature: str | None = "sign", **headers: str):
            if signature == "sign":
                # as the endpoint reads it: bytes that are not UTF-8 replaced
                signature = StripeFake.sign_payload(payload.decode("utf-8", "replace"), SECRET)
            if signature is not None:
                headers["Stripe-Signature"] = signature
            return client.post("/stripe/webhooks", content=payload,
                               headers={"Content-Type": "application/json", **headers})
        yield send


def _state(ledger) -> tuple:
    with ledger.connect() as conn:
        return (conn.execute("SELECT count(*) FROM webhook_event").fetchone()[0],
                conn.execute("SELECT array_agg((key, payouts_enabled, requirements_due) "
                             "ORDER BY key)::text FROM creator").fetchone()[0],
                conn.execute("SELECT count(*) FROM journal_entry").fetchone()[0])


def _event(event_id: str = "evt_probe", kind: str = "account.updated",
           obj: object = None) -> bytes:
    return json.dumps({"id": event_id, "type": kind,
                       "data": {"object": obj if obj is not None else {"id": "acct_nope"}}}
                      ).encode()


@pytest.fixture
def funded(stripe_cli, stripe_ledger):
    fund(stripe_cli, stripe_ledger, {"alice": 11})
    return stripe_ledger


def test_missing_malformed_wrong_and_expired_signatures_are_400(post, funded) -> None:
    before = _state(funded)
    payload = _event()
    old = StripeFake.sign_payload(payload, SECRET, int(time.time()) - 3600)
    for signature in (None, "", "garbage", "t=1,v1=00", StripeFake.sign_payload(
            payload, "whsec_wrong"), old):
        response = post(payload, signature)
        assert response.status_code == 400, signature
        assert SECRET not in response.text
    assert _state(funded) == before


def test_a_replayed_signature_over_another_body_is_400(post, funded) -> None:
    before = _state(funded)
    signature = StripeFake.sign_payload(_event("evt_a"), SECRET)
    assert post(_event("evt_b"), signature).status_code == 400
    assert _state(funded) == before


def test_a_replayed_event_is_recorded_once(post, funded) -> None:
    first = post(_event("evt_twice", "balance.available", {"id": "bal_1"}))
    again = post(_event("evt_twice", "balance.available", {"id": "bal_1"}))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["result"] == "duplicate"
    assert _state(funded)[0] == 1


def test_a_huge_body_is_refused_unread(post, funded) -> None:
    before = _state(funded)
    huge = b'{"id": "evt_huge", "type": "account.updated", "pad": "' + \
        b"x" * (MAX_BODY_BYTES + 10) + b'"}'
    response = post(huge)
    assert response.status_code == 413
    assert _state(funded) == before


@pytest.mark.parametrize("kind,obj", [("account.updated", {"id": "acct_nope"}),
                                      ("transfer.created", {"id": "tr_nope"}),
                                      ("transfer.reversed", {"id": "tr_nope"})])
def test_a_signed_event_for_an_unknown_object_is_a_recorded_no_op(post, funded, kind, obj
                                                                  ) -> None:
    before = _state(funded)
    response = post(_event("evt_unknown", kind, obj))
    assert response.status_code == 200
    assert response.json()["result"] == "ignored: unknown object"
    count, creators, entries = _state(funded)
    assert (count, creators, entries) == (before[0] + 1, before[1], before[2])
    assert post(_event("evt_unknown", kind, obj)).json()["result"] == "duplicate"


@pytest.mark.parametrize("payload", [
    b'{"id": 1, "type": "account.updated"}',
    b'{"id": "evt_1", "type": ["account.updated"]}',
    b'{"id": "evt_1"}',
    b'[]',
    b'{"id": "evt_1", "type": "account.updated", "data": "x"}',
    b'{"id": "evt_1", "type": "account.updated", "data": {"object": [1]}}',
    b'{"id": "evt_\\u0000", "type": "account.updated"}',
    b'{"id": "evt_2", "type": "account.updated", "note": "\\u0000"}',
    b'{"id": "' + b"e" * 5000 + b'", "type": "account.updated"}',
    b"\xff\xfe not json",
])
def test_signed_but_odd_payloads_never_get_a_500(post, funded, payload: bytes) -> None:
    before = _state(funded)
    response = post(payload)
    assert response.status_code in (200, 400), response.text
    count, creators, entries = _state(funded)
    assert (creators, entries) == before[1:]
