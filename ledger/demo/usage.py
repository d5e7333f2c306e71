"""Generated usage, as three AI companies' pipelines would report it: training, retrieval
and search, with the mess real pipelines send — resent events, malformed ones, items
nobody registered, and a licensee nobody registered."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from ledger.demo.catalog import SampleCatalog, item_sha256, item_url
from ledger.ingest.events import EVENT_TYPE

NAMESPACE = uuid.UUID("0b6c3f0e-5d7e-4f7c-9a8e-1d2c3b4a5f60")
START = datetime(2026, 1, 5, tzinfo=UTC)

PIPELINES = [
    # licensee, purpose, activity, models, datasets, unit, quantity range, weight
    ("acme-ai", "ai-train", "pretrain", ["acme-video-2", "acme-image-1"],
     ["webvid-subset-3", "laion-slice-7"], "uses", (1, 3), 55),
    ("acme-ai", "ai-train", "finetune", ["acme-video-2"], ["studio-finetune-1"], "uses",
     (1, 1), 10),
    ("lumen-labs", "ai-input", "rag", ["lumen-chat-4"], ["news-archive"], "tokens",
     (200, 4000), 20),
    ("orbit-search", "search", "index", ["orbit-rank-9"], ["crawl-2026"], "uses", (1, 1), 15),
]


def _event(rng: random.Random, n: int, catalog: SampleCatalog, unknown_share: float) -> dict:
    weights = [p[-1] for p in PIPELINES]
    licensee, purpose, activity, models, datasets, unit, (lo, hi), _ = rng.choices(
        PIPELINES, weights)[0]
    if rng.random() < unknown_share:
        item = {"sha256": item_sha256(f"unregistered-{rng.randrange(400)}")}
    else:
        work = rng.choice(catalog.works)
        item = ({"sha256": item_sha256(work["work"])} if rng.random() < 0.8
                else {"url": item_url(work["work"], work["kind"]).replace("https://media",
                                                                          "HTTPS://MEDIA")})
    moment = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 320))
    return {
        "specversion": "1.0", "type": EVENT_TYPE,
        "source": f"urn:{licensee}:pipeline:{activity}", "id": str(uuid.uuid5(NAMESPACE, str(n))),
        "time": moment.isoformat().replace("+00:00", "Z"), "datacontenttype": "application/json",
        "data": {"licensee": licensee, "purpose": purpose, "activity": activity,
                 "model": rng.choice(models), "run": f"{activity}-{rng.randrange(1, 9):02d}",
                 "dataset": rng.choice(datasets), "item": item,
                 "quantity": str(rng.randint(lo, hi)), "unit": unit},
    }


def generate(catalog: SampleCatalog, count: int = 100_000, seed: int = 11,
             unknown_share: float = 0.05) -> Iterator[dict]:
    """``count`` distinct events plus about 2% resent duplicates, 0.1% malformed events and
    0.2% from a licensee that never registered. Deterministic for a seed."""
    rng = random.Random(seed)
    recent: list[dict] = []
    for n in range(count):
        event = _event(rng, n, catalog, unknown_share)
        roll = rng.random()
        if roll < 0.001:
            event = {**event, "time": "last tuesday"}  # malformed: dead-lettered
        elif roll < 0.003:
            event["data"] = {**event["data"], "licensee": "shadow-ai"}  # never registered
        yield event
        recent.append(event)
        if len(recent) > 500:
            recent.pop(0)
        if rng.random() < 0.02:
            yield rng.choice(recent)  # a pipeline retry: the same event again


# The deals' licensees (contract §9): pooled uses in the first half of 2026, and the
# revenue the revenue-share licensee reports for each month of its license.
DEAL_PIPELINES = [
    ("kestrel-ai", "ai-train", "pretrain", "kestrel-3", "open-images-2", 181),
    ("vista-chat", "ai-input", "rag", "vista-assist", "photo-desk", 90),
]
REVENUE = {"2026-01": "12000.00", "2026-02": "1800.00", "2026-03": "9000.00"}


def deal_usage(catalog: SampleCatalog, count: int = 3000, seed: int = 23) -> Iterator[dict]:
    """``count`` uses by the deals' licensees, within their licenses' periods."""
    rng = random.Random(seed)
    for n in range(count):
        licensee, purpose, activity, model, dataset, days = DEAL_PIPELINES[n % 2]
        work = rng.choice(catalog.works)
        moment = START + timedelta(minutes=rng.randrange(0, 60 * 24 * (days - 5)))
        yield {
            "specversion": "1.0", "type": EVENT_TYPE, "source": f"urn:{licensee}:pipeline",
            "id": str(uuid.uuid5(NAMESPACE, f"deal-{n}")),
            "time": moment.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": {"licensee": licensee, "purpose": purpose, "activity": activity,
                     "model": model, "dataset": dataset,
                     "item": {"sha256": item_sha256(work["work"])},
                     "quantity": str(rng.randint(1, 4)), "unit": "uses"},
        }


def revenue_reports() -> list[dict]:
    """What vista-chat reports: February's share (0.2 × 1,800 = 360) is below its 500
    minimum, so the minimum is allocated."""
    return [{"specversion": "1.0", "type": "io.royaltyledger.revenue.v1",
             "source": "urn:vista-chat:finance", "id": f"revenue-{period}",
             "time": "2026-04-02T00:00:00Z",
             "data": {"licensee": "vista-chat", "license": "vista-share-q1", "period": period,
                      "amount": amount, "currency": "USD"}}
            for period, amount in REVENUE.items()]
