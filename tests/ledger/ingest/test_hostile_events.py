"""Event fields at their limits, through the real broker and consumer: each hostile event
is a dead letter with a clear reason (or, where the contract allows it, accepted as the
value it means), the good events beside it are stored, and the worker keeps going."""

from __future__ import annotations

import json

import orjson
import pytest

from ledger.ingest.events import BATCH, SINGLE
from ledger.ingest.producer import UsageProducer
from tests.builders import jsonl, licensee
from tests.ingest_helpers import running_consumer, scalar, usage, wait_for

MB = "m" * (1024 * 1024)


def _deep(depth: int) -> bytes:
    return b'{"specversion": "1.0", "x": ' + b"[" * depth + b"]" * depth + b"}"


# (id, event) where the event is a dict, or raw bytes sent alone in single mode
HOSTILE = [
    ("q-1e999999", usage("q-1e999999", quantity="1e999999")),
    ("q-huge", usage("q-huge", quantity="9" * 5000)),
    ("q-nan", usage("q-nan", quantity="NaN")),
    ("q-inf", usage("q-inf", quantity="Infinity")),
    ("q-negative", usage("q-negative", quantity="-1")),
    ("nul-model", usage("nul-model", model="gpt\u0000x")),
    ("nul-extension", {**usage("nul-extension"), "note": "a\u0000b"}),
    ("deep-extension", {**usage("deep-extension"), "x": json.loads("[" * 40 + "]" * 40)}),
    ("mb-model", usage("mb-model", model=MB)),
    ("mb-source", usage("mb-source", source="s" * (1024 * 1024))),
]
RAW = [
    ("number-1e999999", b'{"specversion": "1.0", "id": "n", "data": {"quantity": 1e999999}}'),
    ("deep", _deep(100_000)),
    ("deep-1000", _deep(1000)),  # within the parser's limit, beyond what is stored
    ("nan-literal", b'{"specversion": "1.0", "id": "nan", "data": {"quantity": NaN}}'),
]


@pytest.fixture
def registered(cli, ledger):
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    return ledger


def test_hostile_events_are_dead_letters_and_the_rest_goes_through(cli, registered) -> None:
    good = [usage(f"good-{i}") for i in range(3)]
    batch = good[:1] + [event for _, event in HOSTILE] + good[1:]
    with running_consumer(registered):
        with UsageProducer(registered.broker_url, topology=registered.topology) as producer:
            producer.publish_body(orjson.dumps(batch), routing_key="usage.acme-ai",
                                  content_type=BATCH)
            for _, body in RAW:
                producer.publish_body(body, routing_key="usage.acme-ai", content_type=SINGLE)
            producer.publish_body(orjson.dumps(usage("after")), routing_key="usage.acme-ai",
                                  content_type=SINGLE)
        wait_for(lambda: scalar(registered, "SELECT count(*) FROM usage_event "
                                            "WHERE event_id = 'after'") == 1, timeout=60)
        wait_for(lambda: scalar(registered, "SELECT coalesce(sum(received), 0) "
                                            "FROM ingest_batch") == len(batch) + len(RAW) + 1)
    stored = {r for r, in _rows(registered, "SELECT event_id FROM usage_event")}
    assert {"good-0", "good-1", "good-2", "after"} <= stored
    dead = json.loads(cli("report", "dead-letters", "--format", "json").stdout)
    reasons = {(d["event_id"] or "")[:40]: (d["reason"], d["field"]) for d in dead}
    print(json.dumps(reasons, indent=1))
    for name in ("q-1e999999", "q-huge", "q-nan", "q-inf", "q-negative"):
        assert reasons[name] == ("invalid_event", "data.quantity"), name
    for name in ("nul-model", "nul-extension", "deep-extension"):
        assert reasons[name][0] == "invalid_event", name
    # a 1 MB model name or id is not a name: refused, not stored
    assert "mb-model" not in stored and reasons["mb-model"][0] == "invalid_event"
    assert not any(len(e) > 1000 for e in stored)
    # the raw bodies: each a dead letter of its own, whole
    by_reason = sorted((d["reason"], d["field"] or "", d["detail"][:60]) for d in dead
                       if d["event_id"] in (None, "n", "nan"))
    print(by_reason)
    assert len(by_reason) == len(RAW)
    assert [r for r, _, _ in by_reason].count("malformed_json") == 3
    # none of them tripped a fault of ours
    assert not [d for d in dead if d["reason"] == "unprocessable"]
    assert reasons["mb-source"] == ("invalid_event", "source")
    status = json.loads(cli("status", "--format", "json").stdout)["events"]
    assert status["received"] == status["accepted"] + status["duplicates"] + \
        status["dead_letters"]


def _rows(ledger, sql: str) -> list:
    with ledger.connect() as conn:
        return conn.execute(sql).fetchall()
