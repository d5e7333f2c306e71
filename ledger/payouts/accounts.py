"""Creators' payout accounts: onboarding links and account state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

from ledger.errors import ConfigurationError, InvalidInput, NotFound, RowError
from ledger.payouts import sql
from ledger.payouts.providers import (
    SANDBOX_ACCOUNT_PREFIX, AccountStatus, Ambiguous, Definitive, PayoutProvider,
    made_by_sandbox,
)


def other_provider(provider: PayoutProvider, account_id: str) -> str | None:
    """Why ``provider`` must not use this account, if it must not."""
    if made_by_sandbox(account_id) and not provider.sandbox:
        return (f"account {account_id} was made by the sandbox (no money moves); Stripe "
                f"never pays it: onboard the creator again with the Stripe key set")
    if provider.sandbox and not made_by_sandbox(account_id):
        return (f"account {account_id} is a Stripe account; the sandbox never pays it: "
                f"set ROYALTY_STRIPE_API_KEY to pay it")
    return None


def onboard(conn: psycopg.Connection, provider: PayoutProvider, creator: str, *,
            refresh_url: str, return_url: str) -> tuple[str, str]:
    """Create (or reuse) the creator's Connect account; an onboarding link for it. A
    sandbox account is replaced by a real one under Stripe; a Stripe account is never
    replaced by the sandbox."""
    row = conn.execute(sql.CREATOR_ACCOUNT, (creator,)).fetchone()
    if row is None:
        raise NotFound(f"no creator {creator!r}")
    creator_id, email, account_id = row
    if account_id and provider.sandbox and not made_by_sandbox(account_id):
        raise ConfigurationError(f"{creator}'s {other_provider(provider, account_id)}")
    if not account_id or not provider.sandbox and made_by_sandbox(account_id):
        account_id = provider.create_account(email=email, creator=creator)
        conn.execute(sql.SET_ACCOUNT, (account_id, creator_id))
        conn.commit()
    link = provider.onboarding_link(account_id, refresh_url=refresh_url, return_url=return_url)
    refresh(conn, provider, account_id)
    return account_id, link


def refresh(conn: psycopg.Connection, provider: PayoutProvider, account_id: str) -> AccountStatus:
    """Fetch the account's current state and keep it on the creator."""
    status = provider.account_status(account_id)
    apply(conn, status)
    return status


def apply(conn: psycopg.Connection, status: AccountStatus, *, commit: bool = True) -> None:
    conn.execute(sql.APPLY_ACCOUNT_STATE,
                 (status.payouts_enabled, list(status.requirements_due), status.id))
    if commit:
        conn.commit()


def fetch_all(conn: psycopg.Connection, provider: PayoutProvider, account_ids: Iterable[str],
              *, concurrency: int = 8, progress: Callable[[str], None] | None = None
              ) -> dict[str, str]:
    """Fetch the accounts' states concurrently and keep what came back, in one
    transaction; returns why each account that could not be fetched could not."""
    def fetch(account_id: str) -> AccountStatus | str:
        try:
            return provider.account_status(account_id)
        except (Ambiguous, Definitive) as exc:
            return str(exc)
        finally:
            if progress is not None:
                progress(account_id)

    ids = sorted(set(account_ids))
    if not ids:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ids)))) as pool:
        results = dict(zip(ids, pool.map(fetch, ids), strict=True))
    for result in results.values():
        if isinstance(result, AccountStatus):
            apply(conn, result, commit=False)
    conn.commit()
    return {account: r for account, r in results.items() if isinstance(r, str)}


@dataclass
class Checked:
    creator: str
    account: str | None
    payouts: str
    note: str | None = None
    failed: bool = False  # the provider could not be asked


def refresh_creators(conn: psycopg.Connection, provider: PayoutProvider,
                     creators: list[str], *, progress: Callable[[str], None] | None = None,
                     total: Callable[[int], None] | None = None) -> list[Checked]:
    """``royalty creators refresh``: fetch the named creators' accounts (all with an
    account when none is named)."""
    rows = conn.execute(sql.CREATOR_ACCOUNTS, {"all": not creators, "keys": creators}
                        ).fetchall()
    unknown = sorted(set(creators) - {key for key, _ in rows})
    if unknown:
        raise InvalidInput([RowError(0, f"no creator {key!r}") for key in unknown])
    if not creators:
        rows = [(key, account) for key, account in rows if account]
    usable = {account for _, account in rows if account and not other_provider(provider,
                                                                               account)}
    if total is not None:
        total(len(usable))
    errors = fetch_all(conn, provider, usable, progress=progress)
    states = {key: (enabled, due) for key, enabled, due in conn.execute(
        sql.ACCOUNT_STATES, ([key for key, _ in rows],)).fetchall()}
    checked = []
    for key, account in rows:
        if not account:
            checked.append(Checked(key, None, "no account",
                                   f"run `royalty creators onboard {key}`"))
        elif why := other_provider(provider, account):
            checked.append(Checked(key, account, "not checked", why))
        elif account in errors:
            checked.append(Checked(key, account, "unknown", errors[account], failed=True))
        else:
            checked.append(Checked(key, account, payouts_state(*states[key])))
    return checked


def payouts_state(enabled: bool, requirements_due: list[str]) -> str:
    if enabled:
        return "enabled"
    return "needs: " + ", ".join(requirements_due) if requirements_due else "not enabled"


def open_sandbox_accounts(conn: psycopg.Connection) -> int:
    """Give every creator without an account a sandbox one, as ``royalty creators onboard``
    does in the sandbox (the demo's creators onboard this way)."""
    opened = conn.execute(sql.OPEN_SANDBOX_ACCOUNTS, (SANDBOX_ACCOUNT_PREFIX,)).rowcount
    conn.commit()
    return opened
