"""HTTP front of the fake: routing, auth, idempotency, faults, and ``StripeFake``."""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, Self
from urllib.parse import unquote

from . import errors as E
from .faults import FAULTS, PRE_EXECUTION, Fault, FaultRegistry
from .forms import decode, fingerprint
from .idempotency import IdempotencyLayer
from .store import Ctx, Store
from .webhooks import Delivery, deliver, sign_payload

# Echoed in events when the client sends no Stripe-Version (the SDK always does).
DEFAULT_API_VERSION = "2024-06-20"

_ROUTES: list[tuple[str, str, str]] = [
    ("POST", "/v1/accounts", "create_account"),
    ("GET", "/v1/accounts", "list_accounts"),
    ("GET", "/v1/accounts/{id}", "retrieve_account"),
    ("POST", "/v1/accounts/{id}", "update_account"),
    ("POST", "/v1/account_links", "create_account_link"),
    ("GET", "/v1/balance", "get_balance"),
    ("POST", "/v1/transfers", "create_transfer"),
    ("GET", "/v1/transfers", "list_transfers"),
    ("GET", "/v1/transfers/{id}", "retrieve_transfer"),
    ("POST", "/v1/transfers/{id}", "update_transfer"),
    ("POST", "/v1/transfers/{id}/reversals", "create_reversal"),
    ("GET", "/v1/transfers/{id}/reversals", "list_reversals"),
    ("GET", "/v1/transfers/{transfer}/reversals/{id}", "retrieve_reversal"),
    ("POST", "/v1/transfers/{transfer}/reversals/{id}", "update_reversal"),
    ("GET", "/v1/events", "list_events"),
    ("GET", "/v1/events/{id}", "retrieve_event"),
]
_COMPILED = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"), name)
    for method, pattern, name in _ROUTES
]
_ONBOARDING = re.compile(r"^/_fake/connect/setup/(?P<account>[^/]+)/(?P<token>[^/]+)$")


class RequestRecord(NamedTuple):
    """One request as the fake saw it (``status`` is None when no answer was sent)."""

    method: str
    path: str
    idempotency_key: str | None
    status: int | None


@dataclass
class RequestDetail:
    record: RequestRecord
    request_id: str
    params: dict[str, Any]
    fault: str | None
    replayed: bool


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0
    raw: bytes | None = None  # non-JSON answers (redirects, text)


def _error_reply(err: E.StripeError, request_id: str) -> Reply:
    return Reply(err.status, err.body(request_id), dict(err.headers))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], fake: StripeFake) -> None:
        self.fake = fake
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's requests.Session reuses it
    server_version = "stripe-fake/1"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.live_lock:
            self.server.live.add(self.connection)

    def finish(self) -> None:
        with self.server.live_lock:
            self.server.live.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write("stripe-fake: " + (format % args) + "\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.fake._serve(method, self.path, self.headers, body)
        self.log_message('"%s %s" %s', method, self.path, "dropped" if reply.drop else reply.status)
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.delay and self.server.fake._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.raw is not None:
            payload = reply.raw
        else:
            payload = (json.dumps(reply.body, indent=2) + "\n").encode("utf-8")
            reply.headers.setdefault("Content-Type", "application/json")
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = ""
        head = [f"HTTP/1.1 {reply.status} {phrase}", f"Server: {self.server_version}"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        head.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            head.append("Connection: close")
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
        except OSError:  # the client gave up (e.g. after a "timeout" fault)
            self.close_connection = True


class StripeFake:
    """A local stand-in for ``https://api.stripe.com`` (v1, Connect transfers).

    >>> with StripeFake() as fake:
    ...     client = fake.client(max_network_retries=0)
    ...     acct = client.v1.accounts.create({"type": "express"})

    Point your own client at it with
    ``stripe.StripeClient(key, base_addresses={"api": fake.url}, max_network_retries=N)``
    (any ``sk_...`` key).  Test helpers: ``inject``/``clear_faults``/``pending_faults``
    (see ``FAULTS``), ``requests``/``request_details``/``in_progress_keys``,
    ``set_balance``/``balance``/``connected_balance``, ``complete_onboarding``/
    ``restrict_account``, ``accounts``/``account``/``transfers``/``transfer``/
    ``reversals``/``events``/``event``, ``sign_payload``/``deliver_events``,
    ``freeze_time``/``advance_time``/``unfreeze_time``, ``reset``.
    """

    api_key = "sk_test_fake_1234567890"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_version: str = DEFAULT_API_VERSION,
        timeout_delay: float = 2.0,
        seed: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.host, self._port = host, port
        self.api_version = api_version
        self.timeout_delay = timeout_delay  # default hold for the "timeout" fault
        self.verbose = verbose
        self._seed = seed
        self._frozen: int | None = None
        self._offset = 0.0
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._init_state()

    def _init_state(self) -> None:
        self.store = Store(self.now, self.api_version, self._seed)
        self._idem = IdempotencyLayer(self.now)
        self._faults = FaultRegistry()
        self._log: list[RequestDetail] = []

    # -------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self.host, self._port), self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"stripe-fake:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with httpd.live_lock:
            for conn in list(httpd.live):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def reset(self) -> None:
        """Forget all objects, events, idempotency keys, faults and the request log."""
        self._init_state()

    def client(
        self, *, max_network_retries: int = 0, timeout: float = 10.0, api_key: str | None = None
    ) -> Any:
        """A real ``stripe.StripeClient`` pointed at this fake."""
        import stripe

        return stripe.StripeClient(
            api_key or self.api_key,
            base_addresses={"api": self.url},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    # ------------------------------------------------------------------ clock
    def now(self) -> int:
        return int(self._frozen if self._frozen is not None else time.time() + self._offset)

    def freeze_time(self, timestamp: int | None = None) -> None:
        self._frozen = self.now() if timestamp is None else int(timestamp)

    def advance_time(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += int(seconds)
        else:
            self._offset += seconds

    def unfreeze_time(self) -> None:
        if self._frozen is not None:
            self._offset = self._frozen - time.time()
            self._frozen = None

    # ----------------------------------------------------------------- faults
    def inject(
        self,
        method: str,
        path_prefix: str,
        fault: str,
        times: int | None = 1,
        *,
        delay: float | None = None,
        should_retry: bool | None = None,
        every: int = 1,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method`` ("*" for any) and
        ``path_prefix`` fail as ``fault`` (see ``FAULTS``).  ``delay`` sets the hold
        of "timeout"/"slow"; ``should_retry`` adds ``Stripe-Should-Retry``; ``every``
        spreads the fault out: only each ``every``-th matching request gets it."""
        options: dict[str, Any] = {}
        if delay is not None:
            options["delay"] = delay
        if should_retry is not None:
            options["should_retry"] = should_retry
        return self._faults.add(method, path_prefix, fault, times, options, every)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        return self._faults.pending()

    def in_progress_keys(self) -> list[str]:
        """Idempotency keys whose first request is still executing."""
        return self._idem.in_progress()

    # ------------------------------------------------------------ request log
    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return [d.record for d in self._log]

    @property
    def request_details(self) -> list[RequestDetail]:
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    # ------------------------------------------------------------ state helpers
    def _copy(self, obj: Any) -> Any:
        return json.loads(json.dumps(obj))

    def set_balance(self, currency: str, amount_minor: int) -> None:
        with self.store.lock:
            self.store.available[currency.lower()] = int(amount_minor)
            self.store.pending.setdefault(currency.lower(), 0)

    def balance(self, currency: str) -> int:
        with self.store.lock:
            return self.store.available.get(currency.lower(), 0)

    def connected_balance(self, account_id: str, currency: str) -> int:
        with self.store.lock:
            return self.store.connected_balances.get(account_id, {}).get(currency.lower(), 0)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """Finish Connect onboarding: payouts enabled, transfers capability active."""
        return self.store.complete_onboarding(account_id)

    def restrict_account(
        self,
        account_id: str,
        disabled_reason: str = "requirements.past_due",
        currently_due: Iterable[str] = ("external_account",),
    ) -> dict[str, Any]:
        """The opposite: capabilities inactive, payouts disabled (``account.updated``)."""
        return self.store.restrict_account(account_id, disabled_reason, list(currently_due))

    @property
    def accounts(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [self.store.render_account(a) for a in self.store.accounts.values()]

    def account(self, account_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.render_account(self.store.accounts[account_id])

    @property
    def transfers(self) -> list[dict[str, Any]]:
        """All transfers, oldest first, in API shape."""
        with self.store.lock:
            return [self.store.render_transfer(t) for t in self.store.transfers.values()]

    def transfer(self, transfer_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.render_transfer(self.store.transfers[transfer_id])

    def reversals(self, transfer_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            return [
                self.store.render_reversal(r)
                for r in self.store.reversals.values()
                if transfer_id is None or r["transfer"] == transfer_id
            ]

    @property
    def events(self) -> list[dict[str, Any]]:
        """All events, oldest first."""
        with self.store.lock:
            return self._copy(list(self.store.events.values()))

    def event(self, event_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self._copy(self.store.events[event_id])

    # --------------------------------------------------------------- webhooks
    @staticmethod
    def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
        """The ``Stripe-Signature`` header value for ``payload``."""
        return sign_payload(payload, secret, timestamp)

    def deliver_events(
        self,
        endpoint_url: str,
        secret: str,
        event_ids: Iterable[str] | None = None,
        *,
        timeout: float = 10.0,
        timestamp: int | None = None,
    ) -> list[Delivery]:
        """POST recorded events to a webhook endpoint, signed with ``secret``.

        ``event_ids`` gives the order (repeats allowed: Stripe delivers at least
        once, in no guaranteed order); default: every event, oldest first."""
        with self.store.lock:
            if event_ids is None:
                chosen = self._copy(list(self.store.events.values()))
            else:
                chosen = [self._copy(self.store.events[e]) for e in event_ids]
        return [deliver(endpoint_url, evt, secret, timeout, timestamp) for evt in chosen]

    # ------------------------------------------------------------ the pipeline
    def _record(
        self,
        method: str,
        path: str,
        key: str | None,
        status: int | None,
        request_id: str,
        params: dict[str, Any],
        fault: Fault | None,
        replayed: bool,
    ) -> None:
        detail = RequestDetail(
            RequestRecord(method, path, key, status),
            request_id,
            params,
            fault.name if fault else None,
            replayed,
        )
        with self._log_lock:
            self._log.append(detail)

    def _serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path, _, query = target.partition("?")
        key = headers.get("Idempotency-Key") if method == "POST" else None
        request_id = "req_" + secrets.token_hex(7)
        params: dict[str, Any] = {}
        fault = self._faults.take(method, path)
        reply = self._pipeline(method, path, query, headers, body, key, request_id, fault, params)
        reply.headers.setdefault("Request-Id", request_id)
        reply.headers.setdefault(
            "Stripe-Version", headers.get("Stripe-Version") or self.api_version
        )
        if key:
            reply.headers.setdefault("Idempotency-Key", key)
        if fault is not None and "should_retry" in fault.options:
            reply.headers["Stripe-Should-Retry"] = (
                "true" if fault.options["should_retry"] else "false"
            )
        self._record(
            method,
            path,
            key,
            None if reply.drop else reply.status,
            request_id,
            params,
            fault,
            reply.headers.get("Idempotent-Replayed") == "true",
        )
        return reply

    def _pipeline(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        key: str | None,
        request_id: str,
        fault: Fault | None,
        params: dict[str, Any],
    ) -> Reply:
        name = fault.name if fault else None
        # 1. Failures in front of the API: nothing runs, nothing is stored.
        if name in PRE_EXECUTION:
            if name == "drop_before":
                return Reply(0, drop=True)
            err = {
                "error_500": lambda: E.api_error_500(request_id),
                "conflict_409": lambda: E.idempotency_key_in_use(key or ""),
                "rate_limit_429": E.rate_limited,
                "lock_timeout_429": E.lock_timeout,
            }[name]()
            return _error_reply(err, request_id)

        m = _ONBOARDING.match(path)
        if m and method == "GET":
            target = self.store.visit_account_link(unquote(m["token"]))
            if target is None:
                return Reply(
                    404,
                    raw=b"This account link is invalid.\n",
                    headers={"Content-Type": "text/plain"},
                )
            return Reply(302, raw=b"", headers={"Location": target})
        if path == "/_fake/health":
            return Reply(200, {"ok": True})

        # 2. Authentication.
        try:
            api_key = self._authenticate(headers)
        except E.StripeError as err:
            return _error_reply(err, request_id)

        # 3. Routing and parameter decoding.
        route: Callable[..., tuple[int, dict[str, Any]]] | None = None
        path_params: dict[str, str] = {}
        for r_method, regex, handler_name in _COMPILED:
            rm = regex.match(path)
            if rm and r_method == method:
                route = getattr(self.store, handler_name)
                path_params = {k: unquote(v) for k, v in rm.groupdict().items()}
                break
        if route is None:
            return _error_reply(E.unrecognized_url(method, path), request_id)
        raw_params = query
        if method == "POST" and body:
            text = body.decode("utf-8", errors="replace")
            raw_params = f"{query}&{text}" if query else text
        try:
            params.update(decode(raw_params))
        except E.StripeError as err:
            return _error_reply(err, request_id)

        # 4. Idempotency (POST only).
        entry = None
        if key:
            try:
                replay, entry = self._idem.begin(
                    api_key, key, f"{method} {path}", fingerprint(raw_params), request_id
                )
            except E.StripeError as err:
                return _error_reply(err, request_id)
            if replay:
                return Reply(
                    entry.status,
                    entry.body,
                    {
                        **entry.headers,
                        "Idempotent-Replayed": "true",
                        "Original-Request": entry.request_id,
                    },
                )

        # 5. The endpoint.
        if name == "slow":
            self._stopping.wait(fault.options.get("delay", 1.0))  # type: ignore[union-attr]
        ctx = Ctx(request_id, key, headers.get("Stripe-Version") or self.api_version, self.url)
        try:
            if name == "balance_insufficient":
                raise E.balance_insufficient()
            if name == "error_500_saved":  # failed inside the endpoint, before creating
                raise E.api_error_500(request_id)
            status, result = route(ctx, params, **path_params)
            stored = True
        except E.StripeError as err:
            status, result, stored = err.status, err.body(request_id), err.stored
        except Exception:  # noqa: BLE001 - a bug in the fake: answer 500 as Stripe would
            traceback.print_exc()
            status, result, stored = 500, E.api_error_500(request_id).body(request_id), False

        # 6. Save the idempotent result (or forget the key if nothing executed).
        answer = Reply(status, result)
        if name == "error_500_replayed":
            answer = _error_reply(E.api_error_500(request_id), request_id)
        if name in ("error_500_replayed", "error_500_saved"):
            answer.headers["Stripe-Should-Retry"] = "false"
        if entry is not None:
            if stored:
                self._idem.finish(
                    api_key,
                    entry,
                    answer.status,
                    answer.body or {},
                    {k: v for k, v in answer.headers.items() if k == "Stripe-Should-Retry"},
                )
            else:
                self._idem.abandon(api_key, entry)

        # 7. Failures between the API and the client.
        if name == "error_500_after_commit":
            return _error_reply(E.api_error_500(request_id), request_id)
        if name == "drop_connection":
            return Reply(0, drop=True)
        if name == "timeout":
            answer.delay = fault.options.get("delay", self.timeout_delay)  # type: ignore[union-attr]
        return answer

    @staticmethod
    def _authenticate(headers: Mapping[str, str]) -> str:
        auth = headers.get("Authorization")
        if not auth:
            raise E.no_api_key()
        scheme, _, cred = auth.strip().partition(" ")
        if scheme.lower() == "bearer":
            key = cred.strip()
        elif scheme.lower() == "basic":  # curl -u sk_test_...:
            try:
                key = base64.b64decode(cred.strip()).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        else:
            key = auth.strip()
        if not key:
            raise E.no_api_key()
        if not key.startswith("sk_"):
            raise E.invalid_api_key(key)
        return key


__all__ = ["FAULTS", "Delivery", "RequestDetail", "RequestRecord", "StripeFake"]
