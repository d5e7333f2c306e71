"""Builders for usage events, and a consumer running on a thread for broker tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from ledger.bootstrap import Ledger
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.ingest.consumer import IngestConsumer
from ledger.ingest.sql_queue import SqlQueueConsumer
from tests.builders import sha


def usage(event_id: str, *, licensee: str = "acme-ai", item: dict | None = None,
          time_: str = "2026-11-02T10:00:00Z", source: str = "urn:acme-ai:pipeline:test",
          **data: object) -> dict:
    return {"specversion": "1.0", "type": "io.royaltyledger.usage.v1", "source": source,
            "id": event_id, "time": time_, "datacontenttype": "application/json",
            "data": {"licensee": licensee, "purpose": "ai-train", "model": "acme-video-2",
                     "run": "pretrain-07", "dataset": "webvid-subset-3",
                     "item": item or {"sha256": sha(event_id)}, **data}}


def imported(cli, kind: str, rows: list[dict]) -> None:  # noqa: ANN001 - the cli fixture
    """Import rows in-process (set-up; the command's own tests run the console script)."""
    result = cli("import", kind, "-", input="".join(json.dumps(r) + "\n" for r in rows))
    assert result.code == 0, result.stderr


def ingested(ledger: Ledger, events: list[dict]) -> store.BatchResult:
    """Store one batch message of ``events`` as the worker does (``store.ingest``)."""
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(events), BATCH, "usage.acme-ai")],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    return result


def scalar(ledger: Ledger, sql: str, *params: object) -> object:
    with ledger.connect() as conn:
        return conn.execute(sql, params).fetchone()[0]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@contextmanager
def running_consumer(ledger: Ledger, **kwargs: object) -> Iterator[IngestConsumer]:
    kind = SqlQueueConsumer if ledger.broker_url.startswith("sqla+") else IngestConsumer
    consumer = kind(ledger.broker_url, ledger.database_url, topology=ledger.topology,
                    flush_seconds=0.1, **kwargs)
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stopping.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "consumer did not stop"


def stop_worker(process: subprocess.Popen, grace: float = 20) -> None:
    """A warm shutdown, as an operator would do; a kill if it does not come in time."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def worker_process(log: Path) -> subprocess.Popen:
    """``royalty worker`` as a user runs it; the session's environment names the test
    database, broker and queues. Tasks that earlier tests queued are purged first."""
    from workers import app

    app.control.purge()
    royalty = str(Path(sys.executable).with_name("royalty"))
    return subprocess.Popen([royalty, "worker", "--loglevel", "INFO"], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)
