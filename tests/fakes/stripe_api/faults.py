"""Fault injection: make the next matching request(s) fail in a chosen way."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

#: name -> what happens.  "Stored" means the idempotency layer saves the real
#: result, so a retry with the same Idempotency-Key replays it.
FAULTS: dict[str, str] = {
    "error_500": "answer 500 api_error; nothing executed, nothing stored (a retry executes)",
    "error_500_after_commit": "execute and store the real result, but answer 500 api_error "
    "(a retry with the same key replays the real result)",
    "error_500_replayed": "execute, and store a 500 api_error as the idempotent result, as "
    "Stripe's docs describe ('including 500 errors'): every retry with the same key gets the "
    "same 500 (Stripe-Should-Retry: false); the client must reconcile by listing",
    "error_500_saved": "fail with 500 api_error before anything is created, and save that 500 "
    "under the key as Stripe does once an endpoint has begun: every retry with the same key "
    "gets the same 500 (Idempotent-Replayed: true, Stripe-Should-Retry: false) until the key "
    "expires; listing shows no transfer",
    "drop_connection": "execute and store, then close the socket without answering",
    "drop_before": "close the socket without executing anything",
    "timeout": "execute and store, then hold the answer for `delay` seconds (default "
    "StripeFake.timeout_delay) so the client times out",
    "slow": "hold the key in progress for `delay` seconds, then execute and answer normally "
    "(a concurrent same-key request meanwhile gets 409 idempotency_key_in_use)",
    "conflict_409": "answer 409 idempotency_key_in_use; nothing executed or stored",
    "rate_limit_429": "answer 429 (code rate_limit); nothing executed or stored; no "
    "Stripe-Should-Retry header, so the SDK raises RateLimitError without retrying",
    "lock_timeout_429": "answer 429 (code lock_timeout) with Stripe-Should-Retry: true, "
    "which the SDK retries",
    "balance_insufficient": "answer 400 balance_insufficient as if the balance were short; "
    "stored like the real error",
}

#: faults whose 4xx/5xx answer is produced before the endpoint runs
PRE_EXECUTION = {"error_500", "drop_before", "conflict_409", "rate_limit_429", "lock_timeout_429"}


@dataclass
class Fault:
    method: str  # "POST", "GET", ... or "*"
    path_prefix: str
    name: str
    times: int | None  # None: every matching request
    options: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    every: int = 1  # applies to every n-th matching request only
    seen: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method == method) and path.startswith(self.path_prefix)


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        method: str,
        path_prefix: str,
        name: str,
        times: int | None,
        options: dict[str, Any],
        every: int = 1,
    ) -> Fault:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every request)")
        if every < 1:
            raise ValueError("every must be >= 1")
        unknown = set(options) - {"delay", "should_retry"}
        if unknown:
            raise ValueError(f"unknown fault options: {sorted(unknown)}")
        fault = Fault((method or "*").upper(), path_prefix, name, times, dict(options), every=every)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first live fault matching this request, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fault.matches(method, path):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]
