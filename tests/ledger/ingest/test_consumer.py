"""Through the real broker: publish, consume in batches, acknowledge after commit."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import orjson
import pytest

from ledger.bootstrap import Ledger
from ledger.ingest.events import SINGLE
from ledger.ingest.producer import UsageProducer
from tests.builders import creator, jsonl, license, licensee, sha, work
from tests.ingest_helpers import running_consumer, scalar, usage, wait_for


@pytest.fixture
def registered(cli, ledger):
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    with _broker(ledger) as conn:
        ledger.topology.purge(conn)
    return ledger


def stored(ledger: Ledger) -> int:
    return scalar(ledger, "SELECT count(*) FROM usage_event")


def publish(ledger: Ledger, events: list[dict], batch_size: int = 500) -> None:
    with UsageProducer(ledger.broker_url, batch_size=batch_size,
                       topology=ledger.topology) as producer:
        producer.publish(events)


def test_published_events_are_stored_once_and_counted(cli, registered) -> None:
    events = [usage(f"e{i}") for i in range(2500)]
    with running_consumer(registered):
        publish(registered, events)
        publish(registered, events[:700])  # at-least-once producers resend
        with UsageProducer(registered.broker_url, topology=registered.topology) as producer:
            producer.publish_body(orjson.dumps(usage("single-1")), routing_key="usage.acme-ai",
                                  content_type=SINGLE)
            producer.publish_body(b"{oops", routing_key="usage.acme-ai", content_type=SINGLE)
        wait_for(lambda: scalar(registered, "SELECT coalesce(sum(received), 0) FROM ingest_batch")
                 == 3202)
        result = cli("status", "--wait-idle", "--timeout", "30", "--format", "json")
    assert result.code == 0
    status = json.loads(result.stdout)
    assert status["events"] == {"received": 3202, "accepted": 2501, "duplicates": 700,
                                "dead_letters": 1, "pending": 0}
    assert stored(registered) == 2501


def test_a_message_is_acknowledged_only_after_its_commit(registered) -> None:
    """The consumer's database session dies mid-batch: nothing was acknowledged, so the
    broker redelivers, and every event ends up stored exactly once."""
    events = [usage(f"k{i}") for i in range(3000)]
    with registered.connect() as blocker, running_consumer(registered):
        blocker.execute("LOCK TABLE usage_event IN ACCESS EXCLUSIVE MODE")
        publish(registered, events)

        def consumer_waiting() -> bool:
            return scalar(registered, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                          "current_database() AND wait_event_type = 'Lock'") > 0
        wait_for(consumer_waiting)
        killed = scalar(registered, "SELECT count(pg_terminate_backend(pid)) FROM "
                        "pg_stat_activity WHERE datname = current_database() AND "
                        "wait_event_type = 'Lock'")
        assert killed >= 1
        blocker.rollback()  # releases the lock
        wait_for(lambda: stored(registered) == 3000, timeout=60)
        wait_for(lambda: registered.topology.depth(_broker(registered)) == 0)
    assert scalar(registered, "SELECT count(DISTINCT (source, event_id)) FROM usage_event") == 3000
    assert scalar(registered, "SELECT sum(accepted) FROM ingest_batch") == 3000


def test_a_nul_in_a_text_field_is_a_dead_letter_of_its_own(cli, registered) -> None:
    """A NUL in a text field is valid JSON, but no PostgreSQL text holds it: that event alone
    is dead-lettered ``invalid_event`` naming the field, and the rest of its message (and
    of the batch) is stored."""
    good = [usage(f"g{i}") for i in range(4)]
    events = [*good[:2], usage("n1", model="a\u0000b"), usage("n2"), *good[2:]]
    with running_consumer(registered, max_messages=10):
        publish(registered, events, batch_size=2)
        wait_for(lambda: stored(registered) == 5)
    [dead] = json.loads(cli("report", "dead-letters", "--format", "json").stdout)
    assert (dead["reason"], dead["field"], dead["event_id"]) == ("invalid_event", "data.model",
                                                                 "n1")
    assert "NUL" in dead["detail"]


def test_a_message_the_database_refuses_is_set_aside_and_the_rest_is_stored(registered,
                                                                             monkeypatch
                                                                             ) -> None:
    """Should PostgreSQL refuse a batch's rows in the COPY (a fault no validation foresaw),
    its messages are stored one by one, that message alone is kept as an ``unprocessable``
    dead letter (body and reason), and the queue drains."""
    import psycopg

    from ledger.ingest import store

    real_copy = store.copy_staged

    def refusing(conn, data: bytes) -> None:  # noqa: ANN001
        if b"refused-by-db" in data:
            raise psycopg.errors.CharacterNotInRepertoire("invalid byte sequence: 0x00")
        real_copy(conn, data)

    monkeypatch.setattr(store, "copy_staged", refusing)
    good = [usage(f"g{i}") for i in range(4)]
    refused = [usage("n1", model="refused-by-db"), usage("n2")]
    # one consumer batch: [g0, g1], [n1, n2], [g2, g3]
    ids, reason, detail, kept = _one_set_aside(registered, [*good[:2], *refused, *good[2:]])
    assert ids == {"g0", "g1", "g2", "g3"}
    assert reason == "unprocessable" and "0x00" in detail
    assert kept == ["n1", "n2"]


def _one_set_aside(ledger: Ledger, events: list[dict]) -> tuple[set, str, str, list]:
    """Publish ``events`` two a message, in one consumer batch, of which one message is set
    aside: the ids stored, and the dead letter's reason, detail and event ids."""
    with running_consumer(ledger, max_messages=10):
        publish(ledger, events, batch_size=2)
        wait_for(lambda: scalar(ledger, "SELECT count(*) FROM dead_letter") == 1)
        wait_for(lambda: stored(ledger) == len(events) - 2)
        wait_for(lambda: ledger.topology.depth(_broker(ledger)) == 0)
    with ledger.connect() as conn:
        ids = {r for r, in conn.execute("SELECT event_id FROM usage_event")}
        reason, detail, raw = conn.execute(
            "SELECT reason, detail, raw FROM dead_letter").fetchone()
    return ids, reason, detail, [e["id"] for e in orjson.loads(bytes(raw))]


def _broker(ledger: Ledger):  # noqa: ANN202
    from ledger.ingest import topology
    return topology.connection(ledger.broker_url)


def test_the_embedded_broker_needs_no_extra_service(registered, database_url) -> None:
    """kombu's SQL transport on the ledger's PostgreSQL routes the topic exchange."""
    from ledger.config import Settings
    from ledger.db import sqlalchemy_url

    embedded = Ledger(settings=Settings(**{
        **registered.settings.model_dump(), "broker_url": "sqla+" + sqlalchemy_url(database_url),
        "ingest_queue": registered.settings.ingest_queue + ".sqla"}))
    events = [usage(f"s{i}") for i in range(1200)]
    publish(embedded, events, batch_size=100)
    with embedded.connect() as conn:  # the messages, as rows of kombu's table: compressed
        encodings = [orjson.loads(payload)["content-encoding"] for payload, in conn.execute(
            "SELECT m.payload FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
            "WHERE q.name = %s", (embedded.settings.ingest_queue,))]
    assert encodings == ["zstd"] * 12
    with running_consumer(embedded):
        wait_for(lambda: stored(embedded) == 1200, timeout=60)
    assert scalar(embedded, "SELECT sum(accepted) FROM ingest_batch") == 1200


def test_an_envelope_the_embedded_consumer_cannot_read_is_set_aside(registered, database_url
                                                                   ) -> None:
    """A row of kombu's table that is not a kombu envelope: kept as an ``unprocessable``
    dead letter (its text), deleted from the queue, and the messages around it stored."""
    from ledger.config import Settings
    from ledger.db import sqlalchemy_url

    embedded = Ledger(settings=Settings(**{
        **registered.settings.model_dump(), "broker_url": "sqla+" + sqlalchemy_url(database_url),
        "ingest_queue": registered.settings.ingest_queue + ".sqla-bad"}))
    queue = embedded.settings.ingest_queue
    publish(embedded, [usage("before")])
    with embedded.connect() as conn:
        conn.execute("""INSERT INTO kombu_message (id, queue_id, visible, timestamp, payload,
                                                   version)
                        SELECT nextval('message_id_sequence'), id, true, now(),
                               '{not an envelope', 1 FROM kombu_queue WHERE name = %s""",
                     (queue,))
        conn.commit()
    publish(embedded, [usage("after")])
    left = ("SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
            "WHERE q.name = %s")
    assert scalar(embedded, left, queue) == 3
    with running_consumer(embedded):
        wait_for(lambda: stored(embedded) == 2, timeout=60)
        wait_for(lambda: scalar(embedded, "SELECT count(*) FROM dead_letter") == 1)
        wait_for(lambda: scalar(embedded, left, queue) == 0)
    with embedded.connect() as conn:
        reason, raw = conn.execute("SELECT reason, raw FROM dead_letter").fetchone()
    assert reason == "unprocessable" and bytes(raw) == b"{not an envelope"


def test_two_consumers_share_a_queue_without_doubling(cli, registered) -> None:
    """Two consumers over one backlog, with redeliveries: every use booked exactly once."""
    assert cli("import", "creators", "-", input=jsonl([creator("alice"), creator("bob")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work(f"w{i}", {"alice": "0.7", "bob": "0.3"}) for i in range(50)])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("acme-cat", "acme-ai")])).code == 0
    events = [usage(f"t{i}", item={"sha256": sha(f"w{i % 50}")}) for i in range(4000)]
    with running_consumer(registered), running_consumer(registered):
        threads = [threading.Thread(target=publish, args=(registered, events[i::2], 200))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        publish(registered, events[:1000], 200)
        wait_for(lambda: scalar(registered, "SELECT coalesce(sum(received), 0) FROM "
                                            "ingest_batch") == 5000, timeout=60)
    assert stored(registered) == 4000
    assert scalar(registered, "SELECT sum(duplicates) FROM ingest_batch") == 1000
    balances = {r["creator"]: Decimal(r["balance"]) for r in json.loads(
        cli("report", "balances", "--format", "json").stdout)}
    assert balances == {"alice": 4000 * Decimal("0.0013685"), "bob": 4000 * Decimal("0.0005865")}


def test_compressed_bodies_are_stored_and_bad_ones_kept_as_they_came(cli, registered) -> None:
    """zstd, gzip and plain bodies all go through; a body that does not decompress, and one
    that decompresses beyond the consumer's limit, are dead-lettered with the bytes and the
    content encoding they came with, so that a replay reads them the same way."""
    from ledger.ingest.encoding import compress

    big = [usage(f"big{i}") for i in range(3000)]
    big_body = compress(orjson.dumps(big), "zstd")
    assert len(orjson.dumps(big)) > 400_000 > len(big_body)
    corrupt = compress(orjson.dumps([usage("lost")]), "gzip")[:-8]
    with running_consumer(registered, max_message_bytes=400_000):
        for method, prefix in (("zstd", "z"), ("gzip", "g"), (None, "p")):
            with UsageProducer(registered.broker_url, batch_size=100, compression=method,
                               topology=registered.topology) as producer:
                producer.publish([usage(f"{prefix}{i}") for i in range(300)])
        with UsageProducer(registered.broker_url, topology=registered.topology) as producer:
            producer.publish_body(big_body, routing_key="usage.acme-ai", content_encoding="zstd")
            producer.publish_body(corrupt, routing_key="usage.acme-ai", content_encoding="gzip")
        wait_for(lambda: scalar(registered, "SELECT count(*) FROM dead_letter") == 2)
        wait_for(lambda: stored(registered) == 900)
    with registered.connect() as conn:
        letters = conn.execute("SELECT reason, content_encoding, raw, detail FROM dead_letter "
                               "ORDER BY reason").fetchall()
    (malformed, encoding_1, raw_1, detail_1), (too_large, encoding_2, raw_2, detail_2) = letters
    assert (malformed, encoding_1, bytes(raw_1)) == ("malformed_json", "gzip", corrupt)
    assert "not valid gzip data" in detail_1
    assert (too_large, encoding_2, bytes(raw_2)) == ("too_large", "zstd", big_body)
    assert "400000-byte limit" in detail_2
    # the limit is the default 16 MiB again: the kept zstd body is read and stored whole
    result = cli("dead-letters", "replay")
    assert result.code == 0, result.output
    assert stored(registered) == 3900
    assert scalar(registered, "SELECT count(*) FROM dead_letter WHERE resolved_at IS NULL") == 1


def test_a_message_that_trips_a_fault_of_ours_is_set_aside_by_the_consumer(registered,
                                                                           monkeypatch) -> None:
    """A batch in which one message trips a bug of ours is read again message by message:
    that one is kept as an ``unprocessable`` dead letter (its body as it came), the
    messages around it are stored, and the queue drains."""
    from ledger.ingest import store

    real_read = store.read

    def faulty(body: bytes, content_type: str | None):  # noqa: ANN202
        if b'"boom"' in body:
            raise RuntimeError("bug reached")
        return real_read(body, content_type)

    monkeypatch.setattr(store, "read", faulty)
    ids, reason, detail, kept = _one_set_aside(registered, [
        usage("a1"), usage("a2"), usage("boom"), usage("b1"), usage("c1"), usage("c2")])
    assert ids == {"a1", "a2", "c1", "c2"}
    assert reason == "unprocessable" and "RuntimeError: bug reached" in detail
    assert kept == ["boom", "b1"]
