"""Webhook signing and delivery, as Stripe does it.

https://docs.stripe.com/webhooks#verify-manually: the ``Stripe-Signature``
header is ``t=<unix ts>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the
endpoint secret (the whole ``whsec_...`` string)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any, NamedTuple


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{t}.{payload}".encode(), hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def encode_event(event: dict[str, Any]) -> bytes:
    # Stripe sends events pretty-printed with two-space indentation.
    return json.dumps(event, indent=2).encode("utf-8")


class Delivery(NamedTuple):
    event_id: str
    status: int | None  # None when the endpoint could not be reached
    body: bytes
    error: str | None


def deliver(
    url: str, event: dict[str, Any], secret: str, timeout: float, timestamp: int | None
) -> Delivery:
    payload = encode_event(event)
    request = urllib.request.Request(
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign_payload(payload, secret, timestamp),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return Delivery(event["id"], resp.status, resp.read(), None)
    except urllib.error.HTTPError as exc:
        return Delivery(event["id"], exc.code, exc.read(), None)
    except OSError as exc:
        return Delivery(event["id"], None, b"", f"{type(exc).__name__}: {exc}")
