"""Small builders for catalog and license rows, and for writing them as JSON Lines."""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def flipped(value: str, bits) -> str:  # noqa: ANN001 - any iterable of bit positions
    """A hex fingerprint (PDQ hash, ISCC body) with ``bits`` flipped: a near-duplicate at
    that Hamming distance."""
    number = int(value, 16)
    for bit in bits:
        number ^= 1 << bit
    return format(number, f"0{len(value)}x")


def creator(key: str, **extra: Any) -> dict:
    return {"creator": key, "name": key.title(), "email": f"{key}@example.org",
            "currency": "USD", **extra}


def licensee(key: str, **extra: Any) -> dict:
    return {"licensee": key, "name": f"{key} Inc.", "email": f"ap@{key}.example", **extra}


def work(key: str, splits: dict[str, str] | None = None, **extra: Any) -> dict:
    splits = splits or {"alice": "1"}
    return {"work": key, "title": f"Title of {key}", "kind": "image",
            "identifiers": {"sha256": sha(key), "url": f"https://example.org/{key}.jpg"},
            "splits": [{"creator": c, "share": s} for c, s in splits.items()], **extra}


def license(key: str, licensee: str = "acme-ai", *, scope: dict | None = None,
            purposes: list[str] | None = None, valid_from: str = "2026-01-01T00:00:00Z",
            valid_until: str | None = "2027-01-01T00:00:00Z", price: str = "0.0023",
            unit: str = "uses", fee: str = "0.15", currency: str = "USD", **extra: Any) -> dict:
    row = {"license": key, "licensee": licensee, "scope": scope or {"catalog": True},
           "purposes": purposes or ["ai-train"], "valid_from": valid_from,
           "currency": currency, "rate": {"type": "per_unit", "unit": unit, "price": price},
           "platform_fee": fee, **extra}
    if valid_until is not None:
        row["valid_until"] = valid_until
    return row


def deal(key: str, rate: dict, licensee: str = "acme-ai", **extra: Any) -> dict:
    """A license row with a §9 rate (pool, revenue_share, or any rate with a minimum)."""
    row = license(key, licensee, **extra)
    row["rate"] = rate
    return row


def jsonl(rows: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(jsonl(rows), encoding="utf-8")
    return path


NANO = Decimal("0.000000001")


def expected_net(quantity: str, price: str, fee: str) -> Decimal:
    """Contract §5 per event, written out independently of the code under test."""
    gross = (Decimal(quantity) * Decimal(price)).quantize(NANO, rounding=ROUND_HALF_EVEN)
    return gross - (gross * Decimal(fee)).quantize(NANO, rounding=ROUND_HALF_EVEN)


def expected_parts(net: Decimal, shares: dict[str, str]) -> dict[str, Decimal]:
    """Floor each exact share at 9 dp; leftover units to the largest remainders, ties by key."""
    exact = {c: net * Decimal(s) for c, s in shares.items()}
    parts = {c: x.quantize(NANO, rounding=ROUND_FLOOR) for c, x in exact.items()}
    units = int((net - sum(parts.values())) / NANO)
    for c in sorted(shares, key=lambda c: (parts[c] - exact[c], c))[:units]:
        parts[c] += NANO
    return parts
