"""Stripe Connect through the official SDK, one ``StripeClient`` per provider (never a
global API key). Idempotency keys are request options, never parameters."""

from __future__ import annotations

import stripe

from ledger.payouts.providers import AccountStatus, Ambiguous, Definitive, Replayed, Transfer

_DEFINITIVE = (stripe.InvalidRequestError, stripe.CardError, stripe.PermissionError,
               stripe.AuthenticationError)


def _transfer(obj: stripe.Transfer) -> Transfer:
    data = obj.to_dict()
    destination = data["destination"]
    return Transfer(id=data["id"], amount=data["amount"], currency=data["currency"].upper(),
                    destination=destination if isinstance(destination, str)
                    else destination["id"],
                    transfer_group=data.get("transfer_group"),
                    metadata=dict(data.get("metadata") or {}),
                    amount_reversed=data.get("amount_reversed") or 0)


def _replayed(exc: stripe.StripeError) -> bool:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return headers.get("idempotent-replayed") == "true"


class StripeProvider:
    name = "stripe"
    sandbox = False

    def __init__(self, api_key: str, api_base: str | None = None, *,
                 max_network_retries: int = 2, timeout: float | None = None) -> None:
        options: dict = {"max_network_retries": max_network_retries}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        if timeout is not None:
            options["http_client"] = stripe.RequestsClient(timeout=timeout)
        self.client = stripe.StripeClient(api_key, **options)

    def _call(self, fn, *args, **kwargs):  # noqa: ANN001, ANN202
        try:
            return fn(*args, **kwargs)
        except stripe.IdempotencyError as exc:
            raise Ambiguous(f"stripe idempotency error: {exc.user_message or exc}") from exc
        except _DEFINITIVE as exc:
            raise Definitive(f"stripe refused: {exc.code or type(exc).__name__}: "
                             f"{exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            status = f" {exc.http_status}" if exc.http_status else ""
            if _replayed(exc):
                raise Replayed(f"stripe: {type(exc).__name__}{status}, replayed for this "
                               f"idempotency key: {exc.user_message or exc}") from exc
            raise Ambiguous(f"stripe: {type(exc).__name__}{status}: "
                            f"{exc.user_message or exc}") from exc

    def create_account(self, *, email: str | None, creator: str) -> str:
        params = {"type": "express", "capabilities": {"transfers": {"requested": True}},
                  "metadata": {"creator": creator}}
        if email:
            params["email"] = email
        account = self._call(self.client.v1.accounts.create, params,
                             {"idempotency_key": f"royalty-account-{creator}"})
        return account.id

    def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        link = self._call(self.client.v1.account_links.create, {
            "account": account_id, "refresh_url": refresh_url, "return_url": return_url,
            "type": "account_onboarding"})
        return link.url

    def account_status(self, account_id: str) -> AccountStatus:
        account = self._call(self.client.v1.accounts.retrieve, account_id).to_dict()
        requirements = account.get("requirements") or {}
        return AccountStatus(account["id"], bool(account.get("payouts_enabled")),
                             tuple(requirements.get("currently_due") or ()))

    def create_transfer(self, *, amount: int, currency: str, destination: str,
                        transfer_group: str, metadata: dict[str, str],
                        idempotency_key: str) -> Transfer:
        return _transfer(self._call(self.client.v1.transfers.create, {
            "amount": amount, "currency": currency.lower(), "destination": destination,
            "transfer_group": transfer_group, "metadata": metadata,
        }, {"idempotency_key": idempotency_key}))

    def retrieve_transfer(self, transfer_id: str) -> Transfer:
        return _transfer(self._call(self.client.v1.transfers.retrieve, transfer_id))

    def find_transfers(self, *, transfer_group: str | None = None,
                       created_gte: int | None = None, created_lt: int | None = None
                       ) -> list[Transfer]:
        params: dict = {"limit": 100}
        if transfer_group:
            params["transfer_group"] = transfer_group
        created = {k: v for k, v in (("gte", created_gte), ("lt", created_lt)) if v is not None}
        if created:
            params["created"] = created
        page = self._call(self.client.v1.transfers.list, params)
        return [_transfer(t) for t in self._call(lambda: list(page.auto_paging_iter()))]
