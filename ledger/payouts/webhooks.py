"""The Stripe webhook endpoint (a small ASGI app): verify the signature, record the event
id (a redelivery changes nothing), refetch the object's current state (so the order in
which events arrive does not matter), apply it — all in one transaction."""

from __future__ import annotations

import logging

import orjson
import psycopg
import stripe
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ledger.payouts import accounts, service, sql
from ledger.payouts.providers import Ambiguous, Definitive, PayoutProvider

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
# Stripe's events are a few kilobytes; a larger body is refused before it is read whole.
MAX_BODY_BYTES = 1024 * 1024


def handle(conn: psycopg.Connection, provider: PayoutProvider, event: dict) -> str:
    """Apply one verified event; returns what happened."""
    record = (event["id"], event["type"], Jsonb(event))
    if not conn.execute(sql.RECORD_WEBHOOK_EVENT, record).rowcount:
        conn.rollback()
        return "duplicate"
    try:
        _apply(conn, provider, event)
    except Definitive as exc:
        # Signed, but about an object the provider does not know (or no longer shows us):
        # recorded, nothing else changes, and Stripe stops redelivering it. (No savepoint:
        # the ledger's postings must share their entry's transaction.)
        conn.rollback()
        conn.execute(sql.RECORD_WEBHOOK_EVENT, record)
        conn.commit()
        log.warning("webhook %s recorded, not applied: %s", event["id"], exc)
        return "ignored: unknown object"
    conn.commit()
    return "applied"


def _apply(conn: psycopg.Connection, provider: PayoutProvider, event: dict) -> None:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    obj = obj if isinstance(obj, dict) else {}
    kind = event["type"]
    if not isinstance(obj.get("id"), str):
        return
    if kind == "account.updated":
        status = provider.account_status(obj["id"])
        accounts.apply(conn, status, commit=False)
    elif kind.startswith("transfer."):
        transfer = provider.retrieve_transfer(obj["id"])
        payout_id = transfer.metadata.get("payout_id")
        payout = conn.cursor(row_factory=dict_row).execute(
            sql.LOCK_PAYOUT, (int(payout_id),)).fetchone() if payout_id and payout_id.isdigit() else None
        if payout is not None:
            if payout["status"] == "submitted":
                service.mark_paid(conn, payout, transfer, commit=False)
                payout = conn.cursor(row_factory=dict_row).execute(
                    sql.LOCK_PAYOUT, (payout["id"],)).fetchone()
            if transfer.amount_reversed > payout["reversed_minor"]:
                service.reverse(conn, payout, transfer)


def _is_event(event: object) -> bool:
    return isinstance(event, dict) and all(
        isinstance(event.get(k), str) and 0 < len(event[k]) <= 255 for k in ("id", "type"))


def create_app(database_url: str, provider: PayoutProvider, secret: str) -> Starlette:
    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await _bounded_body(request)
        if payload is None:
            return JSONResponse({"error": f"body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        signature = request.headers.get("stripe-signature", "")
        try:
            stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), signature,
                                                  secret, TOLERANCE_SECONDS)
            event = orjson.loads(payload)
        except (stripe.SignatureVerificationError, orjson.JSONDecodeError, ValueError) as exc:
            return JSONResponse({"error": f"bad signature or payload: {exc}"}, status_code=400)
        if not _is_event(event):
            return JSONResponse({"error": "not a Stripe event"}, status_code=400)
        try:
            with psycopg.connect(database_url) as conn:
                outcome = handle(conn, provider, event)
        except Ambiguous as exc:  # Stripe unreachable while refetching: let it redeliver
            log.warning("webhook %s not applied yet: %s", event["id"], exc)
            return JSONResponse({"error": "try again"}, status_code=503)
        except psycopg.DataError as exc:  # signed, but not storable (a NUL in a string)
            return JSONResponse({"error": f"payload not storable: {exc.sqlstate}"},
                                status_code=400)
        return JSONResponse({"received": event["id"], "result": outcome})

    async def _bounded_body(request: Request) -> bytes | None:
        """The body, or None once it exceeds ``MAX_BODY_BYTES`` (read no further)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return None
        return bytes(body)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/stripe/webhooks", stripe_webhook, methods=["POST"]),
                             Route("/healthz", healthz)])
