"""Creators' payout accounts: onboarding links and account state."""

from __future__ import annotations

import psycopg

from ledger.errors import NotFound
from ledger.payouts.providers import AccountStatus, PayoutProvider


def onboard(conn: psycopg.Connection, provider: PayoutProvider, creator: str, *,
            refresh_url: str, return_url: str) -> tuple[str, str]:
    """Create (or reuse) the creator's Connect account; an onboarding link for it."""
    row = conn.execute("SELECT id, email, stripe_account FROM creator WHERE key = %s",
                       (creator,)).fetchone()
    if row is None:
        raise NotFound(f"no creator {creator!r}")
    creator_id, email, account_id = row
    if not account_id:
        account_id = provider.create_account(email=email, creator=creator)
        conn.execute("UPDATE creator SET stripe_account = %s WHERE id = %s",
                     (account_id, creator_id))
        conn.commit()
    link = provider.onboarding_link(account_id, refresh_url=refresh_url, return_url=return_url)
    refresh(conn, provider, account_id)
    return account_id, link


def refresh(conn: psycopg.Connection, provider: PayoutProvider, account_id: str) -> AccountStatus:
    """Fetch the account's current state and keep it on the creator."""
    status = provider.account_status(account_id)
    apply(conn, status)
    return status


def apply(conn: psycopg.Connection, status: AccountStatus) -> None:
    conn.execute("""UPDATE creator SET payouts_enabled = %s, requirements_due = %s,
                    account_updated_at = now() WHERE stripe_account = %s""",
                 (status.payouts_enabled, list(status.requirements_due), status.id))
    conn.commit()
