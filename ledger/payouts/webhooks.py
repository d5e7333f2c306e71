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
from ledger.payouts.providers import Ambiguous, PayoutProvider

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300


def handle(conn: psycopg.Connection, provider: PayoutProvider, event: dict) -> str:
    """Apply one verified event; returns what happened."""
    inserted = conn.execute(sql.RECORD_WEBHOOK_EVENT,
                            (event["id"], event["type"], Jsonb(event))).rowcount
    if not inserted:
        conn.rollback()
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    kind = event["type"]
    if kind == "account.updated" and obj.get("id"):
        status = provider.account_status(obj["id"])
        accounts.apply(conn, status, commit=False)
    elif kind.startswith("transfer.") and obj.get("id"):
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
    conn.commit()
    return "applied"


def create_app(database_url: str, provider: PayoutProvider, secret: str) -> Starlette:
    async def stripe_webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        try:
            stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), signature,
                                                  secret, TOLERANCE_SECONDS)
            event = orjson.loads(payload)
        except (stripe.SignatureVerificationError, orjson.JSONDecodeError, ValueError) as exc:
            return JSONResponse({"error": f"bad signature or payload: {exc}"}, status_code=400)
        if not isinstance(event, dict) or "id" not in event or "type" not in event:
            return JSONResponse({"error": "not a Stripe event"}, status_code=400)
        try:
            with psycopg.connect(database_url) as conn:
                outcome = handle(conn, provider, event)
        except Ambiguous as exc:  # Stripe unreachable while refetching: let it redeliver
            log.warning("webhook %s not applied yet: %s", event["id"], exc)
            return JSONResponse({"error": "try again"}, status_code=503)
        return JSONResponse({"received": event["id"], "result": outcome})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/stripe/webhooks", stripe_webhook, methods=["POST"]),
                             Route("/healthz", healthz)])
