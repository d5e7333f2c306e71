"""The Celery app. Configured lazily (``on_configure``), so importing it connects to
nothing: the broker URL comes from the composition root the first time it is needed."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from kombu import Exchange, Queue

from ledger.bootstrap import Ledger
from ledger.ingest.topology import transport_options



def task_queues(name: str) -> tuple[Queue, ...]:
    """Every queue the tasks use, declared explicitly (one: the task queue)."""
    return (Queue(name, Exchange(name, type="direct", durable=True), routing_key=name,
                  durable=True),)


BEAT_SCHEDULE = {
    # The outbox is drained right after each import too; this is the safety net.
    "drain-catalog-changes": {"task": "royalty.reevaluate", "schedule": 30.0},
    # Fold the usage tally's deltas (one row per key and batch) into one row per key.
    "compact-usage-tally": {"task": "royalty.tally.compact", "schedule": 300.0},
    # Fold booked accruals into the all-time statement's lines (read until then from the
    # events themselves).
    "fold-statement-lines": {"task": "royalty.statement.fold", "schedule": 120.0},
    # Re-allocate touched closed periods, close those past their grace (contract §9).
    "close-periods": {"task": "royalty.periods.close", "schedule": 300.0},
    # Propose near-duplicates in suspense for review (contract §8), so that review finds them
    # ready; each fingerprint is looked up once.
    "propose-candidates": {"task": "royalty.matches.propose", "schedule": 300.0},
}


class RoyaltyCelery(Celery):
    ledger: Ledger | None = None

    def get_ledger(self) -> Ledger:
        if self.ledger is None:
            self.ledger = Ledger()
        return self.ledger

    def on_configure(self) -> None:
        ledger = self.get_ledger()
        self.conf.broker_url = ledger.broker_url
        self.conf.broker_transport_options = transport_options(ledger.broker_url)
        queue = ledger.settings.task_queue
        self.conf.task_queues = task_queues(queue)
        self.conf.task_default_queue = queue
        self.conf.task_default_exchange = queue
        self.conf.task_default_routing_key = queue
        minute, hour, day_of_month, month, day_of_week = ledger.settings.payout_schedule.split()
        self.conf.beat_schedule = {
            **BEAT_SCHEDULE,
            "payout-run": {"task": "royalty.payouts.run", "schedule": crontab(
                minute, hour, day_of_week, day_of_month, month)},
        }


app = RoyaltyCelery("royalty", include=["workers.tasks"])
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
)

from workers.ingest_step import IngestStep  # noqa: E402  (the step needs the app's module)

app.steps["worker"].add(IngestStep)
