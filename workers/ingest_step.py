"""A worker bootstep that runs the ingest consumer on its own thread, with its own broker
and database connections, next to the Celery task consumer."""

from __future__ import annotations

import logging
import threading

from celery import bootsteps

from ledger.ingest.consumer import IngestConsumer
from ledger.ingest.sql_queue import SqlQueueConsumer

log = logging.getLogger(__name__)


class IngestStep(bootsteps.StartStopStep):
    """Consumes ``royalty.usage.ingest`` while the worker runs."""

    def __init__(self, worker, **kwargs) -> None:  # noqa: ANN001
        super().__init__(worker, **kwargs)
        self.consumer: IngestConsumer | None = None
        self.thread: threading.Thread | None = None

    def start(self, worker) -> None:  # noqa: ANN001
        ledger = worker.app.get_ledger()
        settings = ledger.settings
        consumer_class = SqlQueueConsumer if ledger.broker_url.startswith("sqla+") \
            else IngestConsumer
        options = {"writers": settings.ingest_writers} if consumer_class is IngestConsumer else {}
        self.consumer = consumer_class(
            ledger.broker_url, ledger.database_url, topology=ledger.topology,
            max_message_bytes=settings.max_message_bytes,
            flush_seconds=settings.ingest_flush_seconds,
            require_producer=settings.require_producer, **options)
        self.thread = threading.Thread(target=self.consumer.run, name="royalty-ingest",
                                       daemon=True)
        self.thread.start()
        log.info("ingest consumer started on %s", ledger.topology.queue_name)

    def stop(self, worker) -> None:  # noqa: ANN001
        if self.consumer is not None:
            self.consumer.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
