"""The ingest consumer: takes messages off ``royalty.usage.ingest`` in batches, stores them
in one transaction, and acknowledges them only after that transaction commits."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

import psycopg
from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from kombu.message import Message as KombuMessage

from ledger.ingest import store, topology
from ledger.ingest.topology import Topology

log = logging.getLogger(__name__)


class IngestConsumer:
    """One connection to the broker, one to PostgreSQL, one batch at a time."""

    def __init__(self, broker_url: str, database_url: str, *,
                 topology: topology.Topology | None = None, max_messages: int = 1000,
                 max_bytes: int = 8 * 1024 * 1024, flush_seconds: float = 0.2,
                 max_message_bytes: int = 16 * 1024 * 1024,
                 after_commit: Callable[[store.BatchResult], None] | None = None) -> None:
        self.broker_url = broker_url
        self.topology = topology or Topology()
        self.database_url = database_url
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.flush_seconds = flush_seconds
        self.max_message_bytes = max_message_bytes
        self.after_commit = after_commit
        self.stopping = threading.Event()
        self._buffer: list[KombuMessage] = []
        self._buffered_bytes = 0
        self._oldest = 0.0
        self._db: psycopg.Connection | None = None
        self._multiple_ack = False

    def _on_message(self, message: KombuMessage) -> None:
        if not self._buffer:
            self._oldest = time.monotonic()
        self._buffer.append(message)
        self._buffered_bytes += len(message.body or b"")

    def _due(self) -> bool:
        return bool(self._buffer) and (
            len(self._buffer) >= self.max_messages or self._buffered_bytes >= self.max_bytes
            or time.monotonic() - self._oldest >= self.flush_seconds)

    def _database(self) -> psycopg.Connection:
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.database_url)
        return self._db

    def flush(self) -> store.BatchResult | None:
        """Store the buffered messages, commit, then acknowledge them."""
        if not self._buffer:
            return None
        batch = [store.Message(m.body, m.content_type, m.delivery_info.get("routing_key"))
                 for m in self._buffer]
        db = self._database()
        try:
            result = self._store(db, batch)
        except psycopg.OperationalError:
            raise
        except Exception:
            # Not the database going away: something in this batch trips a bug. Store the
            # messages one by one so that only the culprit is set aside, as a dead letter.
            log.exception("ingest batch failed; storing its %d messages one by one", len(batch))
            result = store.BatchResult()
            for message in batch:
                try:
                    one = self._store(db, [message])
                except psycopg.OperationalError:
                    raise
                except Exception as exc:  # noqa: BLE001 - kept as a dead letter with its reason
                    store.set_aside(db, message, f"{type(exc).__name__}: {exc}")
                    db.commit()
                    continue
                result.accepted += one.accepted
        if self._multiple_ack:
            self._buffer[-1].ack(multiple=True)
        else:
            for message in self._buffer:
                message.ack()
        self._buffer.clear()
        self._buffered_bytes = 0
        if self.after_commit is not None:
            self.after_commit(result)
        return result

    def _store(self, db: psycopg.Connection, batch: list[store.Message]) -> store.BatchResult:
        try:
            result = store.ingest(db, batch, licensees=store.licensee_ids(db),
                                  max_message_bytes=self.max_message_bytes)
            db.commit()
            return result
        except BaseException:
            if not db.closed:
                db.rollback()
            raise

    def run(self) -> None:
        """Consume until ``stopping`` is set; reconnect after broker or database failures.
        Unacknowledged messages go back to the queue and are stored once, later."""
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                self._consume()
                backoff = 0.5
            except (psycopg.OperationalError, OSError, KombuError, AMQPError) as exc:
                log.warning("ingest consumer: %s; retrying in %.1fs", exc, backoff)
                self._reset()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10)
            except Exception:
                # Not a passing fault; log it loudly and keep trying: unacknowledged messages
                # stay in the queue, nothing is lost.
                log.exception("ingest consumer failed; retrying in %.1fs", backoff)
                self._reset()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 10)
        self._reset()

    def _reset(self) -> None:
        self._buffer.clear()
        self._buffered_bytes = 0
        if self._db is not None and not self._db.closed:
            self._db.close()
        self._db = None

    def _consume(self) -> None:
        with topology.connection(self.broker_url) as conn:
            self.topology.declare(conn)
            self._multiple_ack = conn.transport.driver_type == "amqp"
            with conn.Consumer(self.topology.queue, on_message=self._on_message,
                               prefetch_count=self.max_messages, no_ack=False):
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=self.flush_seconds / 2)
                    except (socket.timeout, TimeoutError):
                        pass
                    if self._due():
                        self.flush()
                if self._buffer:
                    self.flush()
