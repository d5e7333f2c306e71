"""The ingest consumer for the embedded broker (kombu's SQL transport on the ledger's own
PostgreSQL). Messages are rows of ``kombu_message`` in the same database, so taking a
batch, storing its events and deleting its messages happen in ONE transaction: a crash at
any point leaves the messages in the queue and nothing stored — exactly-once by
construction. (kombu's own SQL consumer hides a message before it is acknowledged and
would lose it to a SIGKILL; this consumer never does that.)"""

from __future__ import annotations

import base64
import logging

import orjson
import psycopg

from ledger.db import HOT_PATH_OPTIONS
from ledger.ingest import sql, store, topology
from ledger.ingest.consumer import ConsumerBase

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 8 * 1024 * 1024


def decode(payload: str) -> store.Message:
    """A kombu virtual-transport envelope back to the body the producer sent (an envelope
    that cannot be read raises: the consumer sets it aside as ``unprocessable``)."""
    envelope = orjson.loads(payload)
    properties = envelope.get("properties") or {}
    body = envelope.get("body") or ""
    raw = base64.b64decode(body) if properties.get("body_encoding") == "base64" else (
        body.encode() if isinstance(body, str) else orjson.dumps(body))
    routing_key = (properties.get("delivery_info") or {}).get("routing_key")
    return store.Message(raw, envelope.get("content-type"), routing_key,
                         envelope.get("content-encoding"))


class SqlQueueConsumer(ConsumerBase):
    def _queue_id(self, db: psycopg.Connection) -> int:
        with topology.connection(self.broker_url) as conn:
            self.topology.declare(conn)  # creates kombu's tables and the queue row
        return db.execute(sql.QUEUE_ID,
                          (self.topology.queue_name,)).fetchone()[0]

    def take_batch(self, db: psycopg.Connection, queue_id: int) -> store.BatchResult | None:
        """One transaction: take up to ``max_messages``, store their events, delete them."""
        locked = db.execute(sql.QUEUE_LOCK_NEXT, (queue_id, self.max_messages)).fetchall()
        if not locked:
            db.rollback()
            return None
        chosen, size = [], 0
        for message_id, length in locked:
            if chosen and size + length > MAX_BATCH_BYTES:
                break
            chosen.append(message_id)
            size += length
        rows, messages, size = [], [], 0
        try:
            for message_id, payload in db.execute(sql.QUEUE_READ, (chosen,)):
                rows.append((message_id, payload))
                # compressed bodies are bounded by their plain size: the rest wait their turn
                message = store.plain(decode(payload), self.max_message_bytes)
                if messages and size + len(message.body) > MAX_BATCH_BYTES:
                    rows.pop()
                    break
                messages.append(message)
                size += len(message.body)
            result = store.ingest(db, messages,
                                  licensees=store.licensee_ids(db),
                                  max_message_bytes=self.max_message_bytes)
        except psycopg.OperationalError:
            raise
        except Exception:
            # Not the database going away: something in this batch trips a fault. Store
            # the messages one by one, so that only the culprit is set aside.
            log.exception("ingest batch failed; storing its %d messages one by one",
                          len(rows))
            db.rollback()
            result = self._one_by_one(db, [message_id for message_id, _ in rows])
        else:
            db.execute(sql.QUEUE_DELETE, ([r[0] for r in rows],))
            db.commit()
        if self.after_commit is not None:
            self.after_commit(result)
        return result

    def _one_by_one(self, db: psycopg.Connection, ids: list[int]) -> store.BatchResult:
        """Each message in a transaction of its own (taken, stored, deleted); one that still
        fails is kept as an ``unprocessable`` dead letter (body and reason) and deleted in
        another. A message another consumer has taken meanwhile is left to it."""
        total = store.BatchResult(messages=len(ids))
        for message_id in ids:
            if (row := db.execute(sql.QUEUE_TAKE_ONE, (message_id,)).fetchone()) is None:
                db.rollback()
                continue
            message = store.Message(row[0].encode(), None)  # its envelope, should it not read
            try:
                message = store.plain(decode(row[0]), self.max_message_bytes)
                one = store.ingest(db, [message], licensees=store.licensee_ids(db),
                                   max_message_bytes=self.max_message_bytes)
            except psycopg.OperationalError:
                raise
            except Exception as exc:  # noqa: BLE001 - kept as a dead letter with its reason
                db.rollback()
                if db.execute(sql.QUEUE_TAKE_ONE, (message_id,)).fetchone() is None:
                    db.rollback()
                    continue
                store.set_aside(db, message, f"{type(exc).__name__}: {exc}")
            else:
                total.received += one.received
                total.accepted += one.accepted
                total.duplicates += one.duplicates
            db.execute(sql.QUEUE_DELETE, ([message_id],))
            db.commit()
        return total

    def _consume(self) -> None:
        with psycopg.connect(self.database_url, options=HOT_PATH_OPTIONS) as db:
            queue_id = self._queue_id(db)
            db.commit()
            while not self.stopping.is_set():
                if self.take_batch(db, queue_id) is None:
                    self.stopping.wait(self.flush_seconds)
