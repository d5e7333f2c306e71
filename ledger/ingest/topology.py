"""The AMQP binding of contract §3: exchange, queue and binding, declared by both sides.

The names are the contract's; settings may change them (``ROYALTY_USAGE_EXCHANGE``,
``ROYALTY_INGEST_QUEUE``) so that test sessions can share a broker without sharing queues.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from kombu import Connection, Exchange, Queue, binding

EXCHANGE_NAME = "royalty.usage"
QUEUE_NAME = "royalty.usage.ingest"
ROUTING_KEYS = ("usage.#", "revenue.#")


@dataclass(frozen=True)
class Topology:
    exchange_name: str = EXCHANGE_NAME
    queue_name: str = QUEUE_NAME

    @cached_property
    def exchange(self) -> Exchange:
        return Exchange(self.exchange_name, type="topic", durable=True)

    @cached_property
    def queue(self) -> Queue:
        # usage events and, through the same worker, revenue reports (contract §9)
        return Queue(self.queue_name, durable=True, bindings=[
            binding(self.exchange, routing_key=key) for key in ROUTING_KEYS])

    def declare(self, conn: Connection) -> None:
        channel = conn.default_channel
        self.exchange(channel).declare()
        self.queue(channel).declare()

    def declare_for_producer(self, conn: Connection) -> None:
        """Declare both, as a producer may before any worker ran; a producer granted only
        write permission (``royalty licensees grant-producer``) may not declare, and
        checks that the exchange exists instead."""
        try:
            self.declare(conn)
        except conn.channel_errors as exc:
            if getattr(exc, "reply_code", None) != 403:  # ACCESS_REFUSED
                raise
            conn.release()
            self.exchange(conn.default_channel).declare(passive=True)

    def depth(self, conn: Connection) -> int:
        """Messages ready in the ingest queue (0 when it does not exist yet)."""
        try:
            _, count, _ = self.queue(conn.default_channel).queue_declare(passive=True)
        except conn.channel_errors:
            conn.release()
            return 0
        return int(count or 0)

    def purge(self, conn: Connection) -> int:
        self.declare(conn)
        return self.queue(conn.default_channel).purge() or 0


def routing_key(licensee: str) -> str:
    return f"usage.{licensee}"


def user_id(conn: Connection) -> str | None:
    """The broker user of an AMQP connection (None for the embedded broker: no users)."""
    return conn.userid if conn.transport.driver_type == "amqp" and conn.userid else None


def transport_options(broker_url: str) -> dict:
    """Publisher confirms for AMQP; the SQL transport takes engine options instead."""
    return {"confirm_publish": True} if broker_url.split(":", 1)[0] in ("amqp", "pyamqp") else {}


def connection(broker_url: str) -> Connection:
    return Connection(broker_url, transport_options=transport_options(broker_url),
                      connect_timeout=10)
