"""What a payout provider does for us, and how its failures are classified.

Every failure is either *definitive* (the provider refused: no money moved, the payout can
be released and tried again on a later run) or *ambiguous* (the money may or may not have
moved: the payout stays in flight until the provider's own records say which). A *replayed*
error is ambiguous on its own, but settles the question together with the provider's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ledger.errors import LedgerError


class Definitive(LedgerError):
    """The provider refused the request; nothing happened."""


class Ambiguous(LedgerError):
    """No clear answer (timeout, dropped connection, 5xx, 409, 429): it may have happened."""


class Replayed(Ambiguous):
    """An error the provider saved under the idempotency key and answers again (Stripe's
    ``Idempotent-Replayed: true``): the first request with that key has finished, so a
    transfer it made is in the provider's list from now on, and none there means none made."""


@dataclass(frozen=True)
class Transfer:
    id: str
    amount: int  # minor units
    currency: str
    destination: str
    transfer_group: str | None
    metadata: dict = field(default_factory=dict)
    amount_reversed: int = 0


@dataclass(frozen=True)
class AccountStatus:
    id: str
    payouts_enabled: bool
    requirements_due: tuple[str, ...] = ()


SANDBOX_ACCOUNT_PREFIX = "acct_sandbox_"


def made_by_sandbox(account_id: str) -> bool:
    """Sandbox accounts are named apart, so neither provider ever pays the other's."""
    return account_id.startswith(SANDBOX_ACCOUNT_PREFIX)


class PayoutProvider(Protocol):
    name: str
    sandbox: bool

    def create_account(self, *, email: str | None, creator: str) -> str: ...

    def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str: ...

    def account_status(self, account_id: str) -> AccountStatus: ...

    def create_transfer(self, *, amount: int, currency: str, destination: str,
                        transfer_group: str, metadata: dict[str, str],
                        idempotency_key: str) -> Transfer: ...

    def retrieve_transfer(self, transfer_id: str) -> Transfer: ...

    def find_transfers(self, *, transfer_group: str | None = None,
                       created_gte: int | None = None, created_lt: int | None = None
                       ) -> list[Transfer]: ...
