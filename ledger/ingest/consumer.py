"""The ingest consumer: takes messages off the ingest queue in batches, stores them, and
acknowledges them only after the transaction that stored them has committed.

Threads share the work so that Python and PostgreSQL run at the same time: the consumer
thread takes messages from the broker and validates the next batch (pure Python) while
writer threads (``writers``, three by default, each with its own connection) store earlier
batches (COPY, evaluate, book, commit) in parallel. Acknowledgements stay on the consumer
thread (a channel is not thread-safe), in submission order, each after its commit.
"""

from __future__ import annotations

import gc
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from collections import deque
from dataclasses import dataclass, field

import psycopg
from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from kombu.message import Message as KombuMessage

from ledger.db import HOT_PATH_OPTIONS
from ledger.ingest import producer_rules, store, topology
from ledger.ingest.topology import Topology

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    messages: list[store.Message]  # plain: decompressed where they could be
    deliveries: list[KombuMessage]
    prepared: store.Prepared
    result: store.BatchResult | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


# A batch that lost a deadlock (two writers storing the same events in different orders)
# or a serialization conflict is stored again, from the start, this many times at most.
ATTEMPTS = 5
UNFREEZE_EVERY = 50  # batches between full collections of what was frozen


class _Writers:
    """Store prepared batches on ``count`` threads, each with its own connection, so that
    PostgreSQL works on several batches at once. Batches may commit in any order; they are
    handed back (for acknowledgement) in the order they were submitted."""

    def __init__(self, database_url: str, max_message_bytes: int, count: int = 1,
                 require_producer: bool = False) -> None:
        self.database_url = database_url
        self.max_message_bytes = max_message_bytes
        self.require_producer = require_producer
        self.todo: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self.submitted: deque[_Batch] = deque()
        self._threads = [threading.Thread(target=self._run, name=f"royalty-ingest-writer-{i}",
                                          daemon=True) for i in range(max(1, count))]
        for thread in self._threads:
            thread.start()

    @property
    def in_flight(self) -> int:
        return len(self.submitted)

    def submit(self, batch: _Batch) -> None:
        self.submitted.append(batch)
        self.todo.put(batch)  # blocks while every writer is busy and one batch waits

    def next_done(self, wait: bool) -> _Batch | None:
        """The oldest submitted batch once it is stored (or failed), else None."""
        if not self.submitted or not self.submitted[0].done.wait(30 if wait else 0):
            return None
        return self.submitted.popleft()

    def close(self) -> None:
        for _ in self._threads:
            self.todo.put(None)
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        db: psycopg.Connection | None = None
        while (batch := self.todo.get()) is not None:
            try:
                if db is None or db.closed:
                    db = psycopg.connect(self.database_url, options=HOT_PATH_OPTIONS)
                batch.result = self._store(db, batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
                batch.error = exc
                if db is not None and not db.closed:
                    db.close()
            batch.done.set()
        if db is not None and not db.closed:
            db.close()

    @staticmethod
    def _commit(db: psycopg.Connection,
                write: Callable[[psycopg.Connection], store.BatchResult]) -> store.BatchResult:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                result = write(db)
                db.commit()
                return result
            except psycopg.errors.TransactionRollback:
                db.rollback()
                if attempt == ATTEMPTS:
                    raise
                log.info("ingest batch lost a lock conflict; storing it again (%d)", attempt)
            except BaseException:
                if not db.closed:
                    db.rollback()
                raise
        raise AssertionError("unreachable")

    def _store(self, db: psycopg.Connection, batch: _Batch) -> store.BatchResult:
        try:
            return self._commit(db, lambda db: store.write(db, batch.prepared))
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
                    one = self._commit(db, lambda db, m=message: store.ingest(
                        db, [m], licensees=store.licensee_ids(db),
                        max_message_bytes=self.max_message_bytes,
                        producers=producer_rules.load(db, self.require_producer)))
                except psycopg.OperationalError:
                    raise
                except Exception as exc:  # noqa: BLE001 - kept as a dead letter with its reason
                    self._commit(db, lambda db, m=message, e=exc: store.set_aside(
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
                 after_commit: Callable[[store.BatchResult], None] | None = None,
                 require_producer: bool = False) -> None:
        self.broker_url = broker_url
        self.database_url = database_url
        self.topology = topology or Topology()
        self.max_messages = max_messages
        self.flush_seconds = flush_seconds
        self.max_message_bytes = max_message_bytes
        self.after_commit = after_commit
        self.require_producer = require_producer
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


def _raw_body(message: KombuMessage) -> bytes:
    """The body as sent: py-amqp hands over text when the message names a content encoding."""
    body = message.body
    if isinstance(body, str):
        try:
            return body.encode(message.content_encoding or "utf-8")
        except (LookupError, UnicodeError):
            return body.encode("utf-8", "surrogatepass")
    return body


class IngestConsumer(ConsumerBase):
    """One broker connection and a writer thread; nothing acknowledged before its commit."""

    def __init__(self, broker_url: str, database_url: str, *,
                 max_bytes: int = 8 * 1024 * 1024, writers: int = 3, **kwargs: object) -> None:
        super().__init__(broker_url, database_url, **kwargs)
        self.max_bytes = max_bytes
        self.writers = writers
        # each delivery with its message, decompressed as it arrives: a batch is bounded
        # by what it holds, not by what the broker carried
        self._buffer: list[tuple[KombuMessage, store.Message]] = []
        self._buffered_bytes = 0
        self._oldest = 0.0
        self._reader: psycopg.Connection | None = None
        self._writer: _Writers | None = None
        self._multiple_ack = False
        self._frozen = 0

    def _on_message(self, message: KombuMessage) -> None:
        if not self._buffer:
            self._oldest = time.monotonic()
        plain = store.plain(store.Message(
            _raw_body(message), message.content_type, message.delivery_info.get("routing_key"),
            message.content_encoding, message.properties.get("user_id")),
            self.max_message_bytes)
        self._buffer.append((message, plain))
        self._buffered_bytes += len(plain.body)

    def _due(self) -> bool:
        return bool(self._buffer) and (
            len(self._buffer) >= self.max_messages or self._buffered_bytes >= self.max_bytes
            or time.monotonic() - self._oldest >= self.flush_seconds)

    def _reading(self) -> psycopg.Connection:
        """The consumer thread's own connection: it reads the licensees and lends its
        adapters to format the staged rows."""
        if self._reader is None or self._reader.closed:
            self._reader = psycopg.connect(self.database_url, autocommit=True)
        return self._reader

    def flush(self) -> None:
        """Validate the buffered messages and hand them to the writer."""
        if not self._buffer:
            return
        buffered, self._buffer, self._buffered_bytes = self._buffer, [], 0
        deliveries = [delivery for delivery, _ in buffered]
        messages = [message for _, message in buffered]
        gc.disable()  # a batch allocates many short-lived objects: collect after, not during
        try:
            reader = self._reading()
            prepared = store.prepare(reader, messages, licensees=store.licensee_ids(reader),
                                     max_message_bytes=self.max_message_bytes,
                                     producers=producer_rules.load(reader,
                                                                   self.require_producer))
        finally:
            # What a batch keeps until its commit (its messages and deliveries; its rows
            # are bytes) is then freed by reference counting; the collector need not walk
            # it. Now and then everything frozen is handed back to it and collected in
            # full, so that reference cycles (ours or the libraries') do not pile up.
            gc.freeze()
            gc.enable()
            self._frozen += 1
            if self._frozen >= UNFREEZE_EVERY:
                self._frozen = 0
                gc.unfreeze()
                gc.collect()
        self._writer.submit(_Batch(messages, deliveries, prepared))
        self.acknowledge()

    def acknowledge(self, wait: bool = False) -> None:
        """Acknowledge, in order, every batch whose commit is done (all when ``wait``)."""
        while (batch := self._writer.next_done(wait)) is not None:
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
        self._writer = _Writers(self.database_url, self.max_message_bytes, self.writers,
                                self.require_producer)
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
            if hasattr(conn.default_channel, "auto_decode"):
                # py-amqp would decode every body named utf-8 into text, for _raw_body to
                # encode it back: the store reads bytes
                conn.default_channel.auto_decode = False
            # A batch per writer in flight, one waiting, and the next one arriving.
            with conn.Consumer(self.topology.queue, on_message=self._on_message,
                               prefetch_count=(self.writers + 2) * self.max_messages,
                               no_ack=False):
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=self.flush_seconds / 2)
                        idle = False
                    except (socket.timeout, TimeoutError):
                        idle = True  # nothing came for a while: store what is here now
                    if (idle and self._buffer) or self._due():
                        self.flush()
                    self.acknowledge()
                self.flush()
                self.acknowledge(wait=True)
