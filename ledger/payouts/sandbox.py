"""The sandbox provider: used when no Stripe key is configured. No money moves; its
transfers are kept in ``sandbox_transfer`` (on its own connection, like a remote party)
so payout runs, idempotency and reconciling behave as they would with Stripe."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Jsonb

from ledger.payouts import sql
from ledger.payouts.providers import (
    SANDBOX_ACCOUNT_PREFIX, AccountStatus, Definitive, Transfer, made_by_sandbox,
)

LABEL = "SANDBOX (no money moves)"


class SandboxProvider:
    name = "sandbox"
    sandbox = True

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _conn(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)

    def create_account(self, *, email: str | None, creator: str) -> str:
        return f"{SANDBOX_ACCOUNT_PREFIX}{creator}"

    def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        return f"https://sandbox.royalty-ledger.invalid/onboarding/{account_id}"

    def account_status(self, account_id: str) -> AccountStatus:
        """Its own accounts need no onboarding; any other account it does not know."""
        if not made_by_sandbox(account_id):
            raise Definitive(f"{account_id} is not a sandbox account")
        return AccountStatus(account_id, payouts_enabled=True)

    def create_transfer(self, *, amount: int, currency: str, destination: str,
                        transfer_group: str, metadata: dict[str, str],
                        idempotency_key: str) -> Transfer:
        if amount <= 0:
            raise Definitive("amount must be positive")
        transfer_id = "tr_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        with self._conn() as conn:
            conn.execute(sql.INSERT_SANDBOX_TRANSFER, (transfer_id, idempotency_key, amount, currency.upper(), destination,
                  transfer_group, Jsonb(metadata)))
        return self.retrieve_transfer(transfer_id)

    def retrieve_transfer(self, transfer_id: str) -> Transfer:
        transfers = self._select(id=transfer_id)
        if not transfers:
            raise Definitive(f"no sandbox transfer {transfer_id}")
        return transfers[0]

    def find_transfers(self, *, transfer_group: str | None = None,
                       created_gte: int | None = None, created_lt: int | None = None
                       ) -> list[Transfer]:
        def moment(seconds: int | None) -> datetime | None:
            return None if seconds is None else datetime.fromtimestamp(seconds, UTC)

        return self._select(group=transfer_group, gte=moment(created_gte),
                            lt=moment(created_lt))

    def _select(self, *, id: str | None = None, group: str | None = None,  # noqa: A002
                gte: datetime | None = None, lt: datetime | None = None) -> list[Transfer]:
        with self._conn() as conn:
            rows = conn.execute(sql.SANDBOX_TRANSFERS,
                                {"id": id, "group": group, "gte": gte, "lt": lt}).fetchall()
        return [Transfer(id=r[0], amount=r[1], currency=r[2], destination=r[3],
                         transfer_group=r[4], metadata=r[5]) for r in rows]
