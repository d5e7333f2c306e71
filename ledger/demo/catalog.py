"""A realistic, deterministic sample catalog: creators, works, licensees and licenses."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

KINDS = {"image": "jpg", "video": "mp4", "audio": "flac", "text": "txt"}
SPLITS = [["1"], ["0.7", "0.3"], ["0.5", "0.5"], ["0.5", "0.3", "0.2"], ["0.4", "0.35", "0.25"]]


def item_sha256(work_key: str) -> str:
    """The sha256 a pipeline would report for the bytes of a demo work."""
    return hashlib.sha256(f"royalty-demo:{work_key}".encode()).hexdigest()


def item_url(work_key: str, kind: str) -> str:
    return f"https://media.example.org/{kind}/{work_key}.{KINDS[kind]}"


@dataclass(frozen=True)
class SampleCatalog:
    creators: list[dict]
    works: list[dict]
    licensees: list[dict]
    licenses: list[dict]

    def write(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in ("creators", "licensees", "works", "licenses"):
            path = folder / f"{name}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in getattr(self, name)))
            paths[name] = path
        return paths


def generate(n_creators: int = 200, n_works: int = 1000, seed: int = 7) -> SampleCatalog:
    rng = random.Random(seed)
    creators = []
    for i in range(1, n_creators + 1):
        opt_out = rng.choices([[], ["ai-train"], ["ai-all"], ["all"]], [95, 2, 2, 1])[0]
        creators.append({"creator": f"c-{i:04d}", "name": f"Creator {i:04d}",
                         "email": f"creator{i:04d}@example.org",
                         "currency": "USD", "opt_out": opt_out})
    works = []
    for i in range(1, n_works + 1):
        key = f"w-{i:06d}"
        kind = rng.choice(list(KINDS))
        shares = rng.choice(SPLITS)
        owners = rng.sample(creators, len(shares))
        works.append({
            "work": key, "title": f"{kind.title()} work {i}", "kind": kind,
            "identifiers": {"sha256": item_sha256(key), "url": item_url(key, kind)},
            "splits": [{"creator": c["creator"], "share": s} for c, s in zip(owners, shares)],
            "opt_out": ["ai-train"] if rng.random() < 0.02 else [],
        })
    licensees = [
        {"licensee": "acme-ai", "name": "Acme AI Inc.", "email": "ap@acme.example"},
        {"licensee": "lumen-labs", "name": "Lumen Labs", "email": "finance@lumen.example"},
        {"licensee": "orbit-search", "name": "Orbit Search", "email": "billing@orbit.example"},
        {"licensee": "kestrel-ai", "name": "Kestrel AI", "email": "ap@kestrel.example"},
        {"licensee": "vista-chat", "name": "Vista Chat", "email": "finance@vista.example"},
    ]
    favoured = sorted(c["creator"] for c in creators[:20])
    licenses = [
        {"license": "acme-train-2026", "licensee": "acme-ai", "scope": {"catalog": True},
         "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
         "valid_until": "2027-01-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "per_unit", "unit": "uses", "price": "0.04"}, "platform_fee": "0.15"},
        {"license": "acme-video-premium", "licensee": "acme-ai",
         "scope": {"works": [w["work"] for w in works if w["kind"] == "video"][:50]},
         "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "per_unit", "unit": "uses", "price": "0.25"}, "platform_fee": "0.10"},
        {"license": "lumen-rag-creators", "licensee": "lumen-labs",
         "scope": {"creators": favoured}, "purposes": ["ai-all"],
         "valid_from": "2026-01-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "per_unit", "unit": "tokens", "price": "0.000004"},
         "platform_fee": "0.2"},
        {"license": "orbit-search-h1", "licensee": "orbit-search", "scope": {"catalog": True},
         "purposes": ["search", "ai-index"], "valid_from": "2026-01-01T00:00:00Z",
         "valid_until": "2026-07-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "per_unit", "unit": "uses", "price": "0.009"}, "platform_fee": "0.15"},
        # contract §9 deals: a lump sum per quarter shared by use, and a revenue share with a
        # monthly minimum
        {"license": "kestrel-pool-2026", "licensee": "kestrel-ai", "scope": {"catalog": True},
         "purposes": ["ai-train"], "valid_from": "2026-01-01T00:00:00Z",
         "valid_until": "2026-07-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "pool", "amount": "30000.00", "period": "quarter", "unit": "uses"},
         "platform_fee": "0.15"},
        {"license": "vista-share-q1", "licensee": "vista-chat", "scope": {"catalog": True},
         "purposes": ["ai-input"], "valid_from": "2026-01-01T00:00:00Z",
         "valid_until": "2026-04-01T00:00:00Z", "currency": "USD",
         "rate": {"type": "revenue_share", "share": "0.2", "period": "month", "unit": "uses",
                  "minimum": {"amount": "500.00", "period": "month"}},
         "platform_fee": "0.1"},
    ]
    return SampleCatalog(creators, works, licensees, licenses)
