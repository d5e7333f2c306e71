"""Stripe's v1 idempotency layer, as documented.

https://docs.stripe.com/api/idempotent_requests:

* "Stripe's idempotency works by saving the resulting status code and body of
  the first request made for any given idempotency key, regardless of whether it
  succeeds or fails. Subsequent requests with the same key return the same
  result, including 500 errors."
* "The idempotency layer compares incoming parameters to those of the original
  request and errors if they're not the same to prevent accidental misuse."
  (400, type ``idempotency_error``; also when the endpoint differs.)
* "We save results only after the execution of an endpoint begins. If incoming
  parameters fail validation, or the request conflicts with another request
  that's executing concurrently, we don't save the idempotent result because no
  API endpoint initiates the execution. You can retry these requests."
  (A concurrent request with a key still in progress gets 409
  ``idempotency_key_in_use``.)
* "You can remove keys from the system automatically after they're at least 24
  hours old. We generate a new request if a key is reused after the original is
  pruned."
* Replayed responses carry ``Idempotent-Replayed: true`` (and
  ``Original-Request: <request id of the first request>``).
* Only POST requests use keys: "Don't send idempotency keys in GET and DELETE
  requests because it has no effect."

Keys are scoped per API key (each secret key is a separate namespace here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    idempotency_endpoint_mismatch,
    idempotency_key_in_use,
    idempotency_params_mismatch,
    invalid_request,
)

KEY_TTL = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass
class Entry:
    key: str
    endpoint: str  # "POST /v1/transfers"
    fingerprint: Any
    created: int
    request_id: str
    done: bool = False
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyLayer:
    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}

    def begin(
        self, scope: str, key: str, endpoint: str, fingerprint: Any, request_id: str
    ) -> tuple[bool, Entry]:
        """Returns ``(replay, entry)``.  ``replay`` is True when ``entry`` holds a
        saved response to send back; otherwise ``entry`` is now in progress and
        the caller must call :meth:`finish` or :meth:`abandon`."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_request(
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                param="Idempotency-Key",
            )
        now = self._clock()
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is not None and entry.done and now - entry.created >= KEY_TTL:
                entry = None  # pruned: the key starts a new request
            if entry is None:
                entry = Entry(key, endpoint, fingerprint, now, request_id)
                self._entries[(scope, key)] = entry
                return False, entry
            if not entry.done:
                raise idempotency_key_in_use(key)
            if entry.endpoint != endpoint:
                raise idempotency_endpoint_mismatch(
                    key, entry.endpoint.split(" ", 1)[1], endpoint.split(" ", 1)[1]
                )
            if entry.fingerprint != fingerprint:
                raise idempotency_params_mismatch(key)
            return True, entry

    def finish(
        self, scope: str, entry: Entry, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        with self._lock:
            entry.status, entry.body, entry.headers = status, body, dict(headers)
            entry.done = True

    def abandon(self, scope: str, entry: Entry) -> None:
        """Forget an in-progress key whose request never began executing."""
        with self._lock:
            if self._entries.get((scope, entry.key)) is entry:
                del self._entries[(scope, entry.key)]

    def in_progress(self) -> list[str]:
        with self._lock:
            return [e.key for e in self._entries.values() if not e.done]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
