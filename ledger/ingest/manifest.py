"""Dataset manifests → usage events with stable ids (contract §7 ``royalty emit``).

A manifest line names one item (its identifiers, optional ``quantity`` and ``unit``). The
event id is derived from the licensee, model, run, dataset, purpose, line number and the
line's content, and the event time is fixed per manifest, so emitting the same manifest
for the same run again produces the very same events: duplicates, with no effect.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from ledger.catalog.identifiers import IDENTIFIER_KINDS
from ledger.ingest.events import EVENT_TYPE

NAMESPACE = uuid.UUID("5d0b1c1e-3f7a-4c52-9a52-7f3c2b8e4a10")


@dataclass(frozen=True)
class ManifestContext:
    licensee: str
    purpose: str
    time: datetime
    model: str | None = None
    run: str | None = None
    dataset: str | None = None
    activity: str | None = None

    @property
    def source(self) -> str:
        return f"urn:royalty-ledger:manifest:{self.licensee}"


def event_for(line_number: int, item: dict, ctx: ManifestContext) -> dict:
    canonical = orjson.dumps(item, option=orjson.OPT_SORT_KEYS, default=str).decode()
    name = "\n".join([ctx.licensee, ctx.model or "", ctx.run or "", ctx.dataset or "",
                      ctx.purpose, str(line_number), canonical])
    data = {"licensee": ctx.licensee, "purpose": ctx.purpose,
            "item": {k: v for k, v in item.items() if k not in ("quantity", "unit", "time")}}
    for key in ("activity", "model", "run", "dataset"):
        if getattr(ctx, key) is not None:
            data[key] = getattr(ctx, key)
    if "quantity" in item:
        data["quantity"] = item["quantity"]
    if "unit" in item:
        data["unit"] = item["unit"]
    moment = item.get("time") or ctx.time.isoformat().replace("+00:00", "Z")
    return {"specversion": "1.0", "type": EVENT_TYPE, "source": ctx.source,
            "id": str(uuid.uuid5(NAMESPACE, name)), "time": moment,
            "datacontenttype": "application/json", "data": data}


def is_manifest_item(value: object) -> bool:
    return isinstance(value, dict) and any(k in IDENTIFIER_KINDS for k in value)


def events_from_manifest(lines: Iterator[tuple[int, object]], ctx: ManifestContext
                         ) -> Iterator[dict]:
    """Events for manifest lines; a line that is not an item still becomes an event, so the
    ingest side dead-letters it with its reason instead of it vanishing here."""
    for number, item in lines:
        if isinstance(item, dict):
            yield event_for(number, item, ctx)
        else:
            yield event_for(number, {"value": item}, ctx)
