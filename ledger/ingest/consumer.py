"""The ingest consumer: takes messages off the ingest queue in batches, stores them, and
acknowledges them only after the transaction that stored them has committed.

Two threads share the work so that Python and PostgreSQL run at the same time: the
consumer thread takes messages from the broker and validates batch k+1 (pure Python)
while a writer thread stores batch k (COPY, evaluate, book, commit). Acknowledgements
stay on the consumer thread (a channel is not thread-safe), in order, after each commit.
"""

from __future__ import annotations

import gc
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from kombu.message import Message as KombuMessage

from ledger.db import HOT_PATH_OPTIONS
from ledger.ingest import store, topology
from ledger.ingest.topology import Topology

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    messages: list[store.Message]
    deliveries: list[KombuMessage]
    prepared: store.Prepared
    result: store.BatchResult | None = None
    error: BaseException | None = None


class _Writer:
    """Stores prepared batches, one at a time, in order, on its own connection."""

    def __init__(self, database_url: str, max_message_bytes: int) -> None:
        self.database_url = database_url
        self.max_message_bytes = max_message_bytes
        self.todo: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self.done: queue.Queue[_Batch] = queue.Queue()
        self.in_flight = 0
        self._db: psycopg.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="royalty-ingest-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, batch: _Batch) -> None:
        self.in_flight += 1
        self.todo.put(batch)

    def close(self) -> None:
        self.todo.put(None)
        self._thread.join(timeout=60)

    def _database(self) -> psycopg.Connection:
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.database_url, options=HOT_PATH_OPTIONS)
        return self._db

    def _run(self) -> None:
        while (batch := self.todo.get()) is not None:
            try:
                batch.result = self._store(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
                batch.error = exc
                if self._db is not None and not self._db.closed:
                    self._db.close()
            self.done.put(batch)

    def _commit(self, write: Callable[[psycopg.Connection], store.BatchResult]
                ) -> store.BatchResult:
        db = self._database()
        try:
            result = write(db)
            db.commit()
            return result
        except BaseException:
            if not db.closed:
                db.rollback()
            raise

    def _store(self, batch: _Batch) -> store.BatchResult:
        try:
            return self._commit(lambda db: store.write(db, batch.prepared))
        except psycopg.OperationalError:
            raise
        except Exception:
            # Not the database going away: something in this batch trips a bug. Store the
            # messages one by one so that only the culprit is set aside, as a dead letter.
            log.exception("ingest batch failed; storing its %d messages one by one",
                          len(batch.messages))
            total = store.BatchResult(messages=len(batch.messages))
            for message in batch.messages:
                try:
                    one = self._commit(lambda db, m=message: store.ingest(
                        db, [m], licensees=store.licensee_ids(db),
                        max_message_bytes=self.max_message_bytes))
                except psycopg.OperationalError:
                    raise
                except Exception as exc:  # noqa: BLE001 - kept as a dead letter with its reason
                    self._commit(lambda db, m=message, e=exc: store.set_aside(
                        db, m, f"{type(e).__name__}: {e}") or store.BatchResult())
                    continue
                total.accepted += one.accepted
            return total


class ConsumerBase:
    """What every ingest consumer shares: its settings, and a run loop that survives
    broker and database failures (unacknowledged messages stay queued; nothing is lost)."""

    def __init__(self, broker_url: str, database_url: str, *,
                 topology: Topology | None = None, max_messages: int = 1000,
                 flush_seconds: float = 0.2, max_message_bytes: int = 16 * 1024 * 1024,
                 after_commit: Callable[[store.BatchResult], None] | None = None) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.topology = topology or Topology()
        self.max_messages = max_messages
        self.flush_seconds = flush_seconds
        self.max_message_bytes = max_message_bytes
        self.after_commit = after_commit
        self.stopping = threading.Event()

    def _consume(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        """Consume until ``stopping`` is set, reconnecting with backoff after failures."""
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                self._consume()
                backoff = 0.5
            except (psycopg.OperationalError, OSError, KombuError, AMQPError) as exc:
                log.warning("ingest consumer: %s; retrying in %.1fs", exc, backoff)
            except Exception:
                # Not a passing fault: log it loudly and keep trying.
                log.exception("ingest consumer failed; retrying in %.1fs", backoff)
            else:
                continue
            self.stopping.wait(backoff)
            backoff = min(backoff * 2, 10)


class IngestConsumer(ConsumerBase):
    """One broker connection and a writer thread; nothing acknowledged before its commit."""

    def __init__(self, broker_url: str, database_url: str, *,
                 max_bytes: int = 8 * 1024 * 1024, **kwargs: object) -> None:
        super().__init__(broker_url, database_url, **kwargs)
        self.max_bytes = max_bytes
        self._buffer: list[KombuMessage] = []
        self._buffered_bytes = 0
        self._oldest = 0.0
        self._reader: psycopg.Connection | None = None
        self._writer: _Writer | None = None
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

    def _licensees(self) -> dict[str, int]:
        if self._reader is None or self._reader.closed:
            self._reader = psycopg.connect(self.database_url, autocommit=True)
        return store.licensee_ids(self._reader)

    def flush(self) -> None:
        """Validate the buffered messages and hand them to the writer."""
        if not self._buffer:
            return
        deliveries, self._buffer, self._buffered_bytes = self._buffer, [], 0
        messages = [store.Message(m.body, m.content_type, m.delivery_info.get("routing_key"))
                    for m in deliveries]
        gc.disable()  # a batch allocates many short-lived objects: collect after, not during
        try:
            prepared = store.prepare(messages, licensees=self._licensees(),
                                     max_message_bytes=self.max_message_bytes)
        finally:
            gc.enable()
        self._writer.submit(_Batch(messages, deliveries, prepared))
        self.acknowledge()

    def acknowledge(self, wait: bool = False) -> None:
        """Acknowledge every batch whose commit is done (all of them when ``wait``)."""
        while self._writer.in_flight:
            try:
                batch = self._writer.done.get(timeout=30) if wait else \
                    self._writer.done.get_nowait()
            except queue.Empty:
                return
            self._writer.in_flight -= 1
            if batch.error is not None:
                raise batch.error
            if self._multiple_ack:
                batch.deliveries[-1].ack(multiple=True)
            else:
                for delivery in batch.deliveries:
                    delivery.ack()
            if self.after_commit is not None:
                self.after_commit(batch.result)

    def _consume(self) -> None:
        self._writer = _Writer(self.database_url, self.max_message_bytes)
        try:
            self._take_from_broker()
        finally:
            self._buffer, self._buffered_bytes = [], 0
            self._writer.close()
            if self._reader is not None and not self._reader.closed:
                self._reader.close()

    def _take_from_broker(self) -> None:
        with topology.connection(self.broker_url) as conn:
            self.topology.declare(conn)
            self._multiple_ack = conn.transport.driver_type == "amqp"
            # Twice a batch in flight: the writer stores one while the next one arrives.
            with conn.Consumer(self.topology.queue, on_message=self._on_message,
                               prefetch_count=2 * self.max_messages, no_ack=False):
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=self.flush_seconds / 2)
                    except (socket.timeout, TimeoutError):
                        pass
                    if self._due():
                        self.flush()
                    self.acknowledge()
                self.flush()
                self.acknowledge(wait=True)
