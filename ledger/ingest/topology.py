"""The AMQP binding of contract §3: exchange, queue and binding, declared by both sides."""

from __future__ import annotations

from kombu import Connection, Exchange, Queue

EXCHANGE = Exchange("royalty.usage", type="topic", durable=True)
INGEST_QUEUE = Queue("royalty.usage.ingest", exchange=EXCHANGE, routing_key="usage.#",
                     durable=True)


def routing_key(licensee: str) -> str:
    return f"usage.{licensee}"


def connection(broker_url: str) -> Connection:
    """A kombu connection; publisher confirms on for AMQP."""
    return Connection(broker_url, transport_options={"confirm_publish": True},
                      connect_timeout=10)


def declare(conn: Connection) -> None:
    channel = conn.default_channel
    EXCHANGE(channel).declare()
    INGEST_QUEUE(channel).declare()


def queue_depth(conn: Connection, queue: Queue = INGEST_QUEUE) -> int:
    """Messages ready in a queue (0 when it does not exist yet)."""
    try:
        _, count, _ = queue(conn.default_channel).queue_declare(passive=True)
    except conn.channel_errors:
        conn.release()
        return 0
    return int(count or 0)
