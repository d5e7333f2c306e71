"""Contract §11 on the real RabbitMQ: who may report usage for a licensee.

Two broker users are made for each test through ``royalty licensees grant-producer``
(RabbitMQ's management API) and deleted afterwards."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson
import pytest
from kombu import Connection

from ledger.bootstrap import Ledger
from ledger.ingest.broker_admin import BrokerAdmin
from ledger.ingest.events import BATCH
from ledger.ingest.producer import UsageProducer
from tests.builders import jsonl, licensee
from tests.ingest_helpers import running_consumer, scalar, usage, wait_for

ADMIN_URL = os.environ.get("ROYALTY_BROKER_ADMIN_URL", "http://guest:guest@127.0.0.1:15672")
_TAG = uuid.uuid4().hex[:8]
USER_A = f"producer-a-{_TAG}"
USER_B = f"producer-b-{_TAG}"

pytestmark = pytest.mark.skipif(
    not (os.environ.get("ROYALTY_BROKER_URL") or "").startswith("amqp"),
    reason="RabbitMQ only: the embedded broker has no users, so no user_id to check")


def _as_user(broker_url: str, user: str, password: str) -> str:
    parts = urlsplit(broker_url)
    return f"amqp://{user}:{password}@{parts.hostname}:{parts.port or 5672}{parts.path or '/'}"


@pytest.fixture
def users(cli, ledger: Ledger) -> Iterator[dict[str, str]]:
    """Licensees ``acme-ai`` (producer A) and ``beta`` (producer B); each user's broker URL."""
    ledger.settings.broker_admin_url = ADMIN_URL
    admin = BrokerAdmin.from_urls(ADMIN_URL, ledger.broker_url)
    assert cli("import", "licensees", "-",
               input=jsonl([licensee("acme-ai"), licensee("beta")])).code == 0
    with Connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    urls = {}
    try:
        for user, key in ((USER_A, "acme-ai"), (USER_B, "beta")):
            granted = cli("licensees", "grant-producer", key, user)
            assert granted.code == 0, granted.stderr
            assert "shown this once" in granted.stdout
            password = granted.stdout.strip().splitlines()[-1]
            urls[user] = _as_user(ledger.broker_url, user, password)
        yield urls
    finally:
        for user in (USER_A, USER_B):
            admin.delete_user(user)
        ledger.settings.broker_admin_url = None


def _publish(url: str, ledger: Ledger, events: list[dict]) -> None:
    with UsageProducer(url, topology=ledger.topology) as producer:
        producer.publish(events)


def _dead_letters(cli) -> list[dict]:
    result = cli("report", "dead-letters", "--format", "json")
    assert result.code == 0
    return json.loads(result.stdout)


def test_user_a_reporting_for_licensee_b_is_dead_lettered_and_the_rest_goes_through(
        cli, ledger, users) -> None:
    batch = [usage("a-1"), usage("a-2"), usage("forged-for-beta", licensee="beta")]
    with running_consumer(ledger):
        with UsageProducer(users[USER_A], topology=ledger.topology, batch_size=10) as producer:
            # one message, routed as acme-ai's (A may publish there), one event in it for beta
            producer.publish_body(orjson.dumps(batch), routing_key="usage.acme-ai",
                                  content_type=BATCH)
        wait_for(lambda: scalar(ledger, "SELECT coalesce(sum(received), 0) FROM ingest_batch")
                 == 3)
    assert scalar(ledger, "SELECT count(*) FROM usage_event") == 2
    [dead] = _dead_letters(cli)
    assert (dead["reason"], dead["event_id"], dead["user_id"], dead["field"]) == (
        "unauthorized_producer", "forged-for-beta", USER_A, "user_id")
    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["events"]["dead_letters"] == 1
    assert status["producers"]["refused_by_user"] == {USER_A: 1}
    transparency = json.loads(cli("report", "transparency", "--licensee", "beta",
                                  "--format", "json").stdout)
    assert transparency["refused_by_user"] == {USER_A: 1}
    assert transparency["events"] == 0

    # replay keeps A's user_id: still refused, until A is made a producer of beta too
    assert "1 still bad" in cli("dead-letters", "replay").stdout
    assert _dead_letters(cli)[0]["user_id"] == USER_A
    assert cli("licensees", "grant-producer", "beta", USER_A).code == 0
    assert "1 events accepted" in cli("dead-letters", "replay").stdout
    assert scalar(ledger, "SELECT count(*) FROM usage_event") == 3


def test_user_a_reporting_for_licensee_a_goes_through(cli, ledger, users) -> None:
    with running_consumer(ledger):
        _publish(users[USER_A], ledger, [usage(f"ok-{i}") for i in range(5)])
        wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event") == 5)
    assert _dead_letters(cli) == []
    assert scalar(ledger, "SELECT array_agg(DISTINCT user_id) FROM dead_letter") is None


def _publish_raw(url: str, ledger: Ledger, event: dict, routing_key: str, **properties: str
                 ) -> None:
    """One single-mode message, confirmed, with exactly the properties given."""
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        conn.Producer(exchange=ledger.topology.exchange, auto_declare=False).publish(
            orjson.dumps(event), routing_key=routing_key, delivery_mode=2,
            content_type="application/cloudevents+json", **properties)


def _refused(url: str, ledger: Ledger, event: dict, routing_key: str, user_id: str) -> str:
    """What the broker said when it closed the channel over this publish."""
    with pytest.raises(Connection(url).channel_errors) as refused:
        _publish_raw(url, ledger, event, routing_key, user_id=user_id)
    print(f"broker said: {refused.value!r}")
    return str(refused.value)


def test_a_forged_user_id_is_refused_by_the_broker(ledger, users) -> None:
    said = _refused(users[USER_A], ledger, usage("forged", licensee="beta"), "usage.acme-ai",
                    user_id=USER_B)
    assert "PRECONDITION_FAILED" in said
    assert f"user_id property set to '{USER_B}'" in said


def test_a_message_without_user_id_is_refused_when_producers_are_required(
        cli, ledger, users) -> None:
    ledger.settings.require_producer = True
    try:
        with running_consumer(ledger, require_producer=True):
            _publish_raw(users[USER_A], ledger, usage("anonymous"), "usage.acme-ai")
            _publish(users[USER_A], ledger, [usage("signed")])
            wait_for(lambda: scalar(ledger, "SELECT coalesce(sum(received), 0) "
                                            "FROM ingest_batch") == 2)
        [dead] = _dead_letters(cli)
        assert (dead["reason"], dead["event_id"], dead["user_id"]) == (
            "unauthorized_producer", "anonymous", None)
        assert "no user_id" in dead["detail"]
        status = json.loads(cli("status", "--format", "json").stdout)
        assert status["producers"]["refused_by_user"] == {"(no user_id)": 1}
        assert status["producers"]["binding"].startswith("on: every licensee")
    finally:
        ledger.settings.require_producer = False


def test_publishing_with_another_licensees_routing_key_is_refused_by_the_broker(
        ledger, users) -> None:
    said = _refused(users[USER_A], ledger, usage("b-key", licensee="beta"), "usage.beta",
                    user_id=USER_A)
    assert "ACCESS_REFUSED" in said
    assert "usage.beta" in said


def test_revoking_the_last_licensee_deletes_the_broker_user(cli, ledger, users) -> None:
    revoked = cli("licensees", "revoke-producer", "acme-ai", USER_A)
    assert revoked.code == 0
    assert f"broker user {USER_A} deleted" in revoked.stdout
    listed = json.loads(cli("licensees", "list", "--format", "json").stdout)
    assert {r["licensee"]: r["producers"] for r in listed} == {"acme-ai": [], "beta": [USER_B]}
    with pytest.raises(Exception, match="ACCESS_REFUSED"):
        with Connection(users[USER_A], connect_timeout=5) as conn:
            conn.connect()
