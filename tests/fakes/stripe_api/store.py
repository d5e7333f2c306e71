"""In-memory state of the fake Stripe account, and the v1 endpoint logic.

Objects are kept as plain dicts in Stripe's JSON shapes.  Every public method
takes the lock; endpoint methods take ``(ctx, params, **path_params)`` and
return ``(status, body)`` or raise :class:`~.errors.StripeError`.
"""

from __future__ import annotations

import itertools
import random
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import params as P
from .errors import balance_insufficient, invalid_request, no_such

DEFAULT_BALANCE = 10**12  # minor units, per default currency
DEFAULT_CURRENCIES = ("usd", "eur")
ACCOUNT_LINK_TTL = 300  # seconds; Stripe account links expire after a few minutes

_ALNUM = string.ascii_letters + string.digits
_COUNTRY_CURRENCY = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "JP": "jpy", "CH": "chf"}
_EUROZONE = frozenset(
    {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT", "SI", "SK"}
)
_INITIAL_DUE = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"]


@dataclass
class Ctx:
    """What an endpoint knows about the request being served."""

    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None
    base_url: str = ""


class Store:
    def __init__(self, clock: Callable[[], int], api_version: str, seed: int | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.api_version = api_version
        self._rand = random.Random(seed)
        self._seq = itertools.count()
        self._order: dict[str, tuple[int, int]] = {}  # id -> (created, seq): list order
        self.accounts: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.reversals: dict[str, dict[str, Any]] = {}  # by reversal id
        self._transfer_reversals: dict[str, list[str]] = {}  # transfer id -> reversal ids
        self.events: dict[str, dict[str, Any]] = {}
        self.account_links: dict[str, dict[str, Any]] = {}  # token -> link state
        self.available: dict[str, int] = {c: DEFAULT_BALANCE for c in DEFAULT_CURRENCIES}
        self.pending: dict[str, int] = {c: 0 for c in DEFAULT_CURRENCIES}
        self.connected_balances: dict[str, dict[str, int]] = {}

    # ------------------------------------------------------------------ utils
    def new_id(self, prefix: str, n: int = 24) -> str:
        return prefix + "_1" + "".join(self._rand.choices(_ALNUM, k=n - 1))

    def _register(self, obj_id: str, created: int) -> None:
        self._order[obj_id] = (created, next(self._seq))

    def _paginate(
        self,
        items: Iterable[dict[str, Any]],
        params: dict[str, Any],
        url: str,
        kind: str,
        render: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Newest first, cursor pagination with ``starting_after``/``ending_before``."""
        lim = P.limit(params)
        after = P.string(params, "starting_after")
        before = P.string(params, "ending_before")
        if after and before:
            raise invalid_request(
                "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before",
            )
        order = self._order
        rows = sorted(items, key=lambda o: order[o["id"]], reverse=True)
        if after or before:
            cursor = after or before
            key = order.get(cursor)  # type: ignore[arg-type]
            if key is None or not cursor.startswith(kind_prefix(kind)):  # type: ignore[union-attr]
                raise no_such(
                    kind, cursor, param="starting_after" if after else "ending_before", status=400
                )  # type: ignore[arg-type]
            if after:
                rows = [o for o in rows if order[o["id"]] < key]
                page, has_more = rows[:lim], len(rows) > lim
            else:
                rows = [o for o in rows if order[o["id"]] > key]
                page, has_more = rows[-lim:], len(rows) > lim
        else:
            page, has_more = rows[:lim], len(rows) > lim
        return {
            "object": "list",
            "data": [render(o) for o in page],
            "has_more": has_more,
            "url": url,
        }

    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        ctx: Ctx | None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = self.clock()
        data: dict[str, Any] = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": (ctx.api_version if ctx and ctx.api_version else self.api_version),
            "created": now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {
                "id": ctx.request_id if ctx else None,
                "idempotency_key": ctx.idempotency_key if ctx else None,
            },
            "type": type_,
        }
        self.events[event["id"]] = event
        self._register(event["id"], now)
        return event

    # --------------------------------------------------------------- balance
    def render_balance(self) -> dict[str, Any]:
        currencies = sorted(set(self.available) | set(self.pending))

        def entries(src: dict[str, int]) -> list[dict[str, Any]]:
            return [
                {"amount": src.get(c, 0), "currency": c, "source_types": {"card": src.get(c, 0)}}
                for c in currencies
            ]

        return {
            "object": "balance",
            "available": entries(self.available),
            "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
            "livemode": False,
            "pending": entries(self.pending),
        }

    def get_balance(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ())
        with self.lock:
            return 200, self.render_balance()

    # -------------------------------------------------------------- accounts
    @staticmethod
    def render_account(acct: dict[str, Any]) -> dict[str, Any]:
        out = dict(acct)
        out["metadata"] = dict(acct["metadata"])
        out["capabilities"] = dict(acct["capabilities"])
        req = acct["requirements"]
        out["requirements"] = {k: (list(v) if isinstance(v, list) else v) for k, v in req.items()}
        return out

    def _account(
        self, account_id: str, *, param: str = "id", status: int = 404, stored: bool = False
    ) -> dict[str, Any]:
        acct = self.accounts.get(account_id)
        if acct is None:
            raise no_such("account", account_id, param=param, status=status, stored=stored)
        return acct

    @staticmethod
    def _requested_capabilities(params: dict[str, Any], current: dict[str, str]) -> dict[str, str]:
        raw = params.get("capabilities")
        caps = dict(current)
        if raw is None:
            return caps
        if not isinstance(raw, dict):
            raise invalid_request("Invalid hash", param="capabilities")
        for name, spec in raw.items():
            if not isinstance(spec, dict) or set(spec) - {"requested"}:
                raise invalid_request("Invalid hash", param=f"capabilities[{name}]")
            requested = P.boolean(spec, "requested")
            if requested and name not in caps:
                caps[name] = "inactive"
            elif requested is False:
                caps.pop(name, None)
        return caps

    def create_account(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            (
                "type",
                "country",
                "email",
                "capabilities",
                "metadata",
                "business_type",
                "business_profile",
                "default_currency",
                "controller",
                "tos_acceptance",
                "settings",
            ),
        )
        type_ = P.enum(params, "type", ("express", "custom", "standard"), required_=True)
        country = (P.string(params, "country") or "US").upper()
        if len(country) != 2 or not country.isalpha():
            raise invalid_request(
                f"Country '{country}' is unknown. Try using a 2-character alphanumeric "
                "country code instead, such as 'US', 'EG', or 'GB'.",
                param="country",
            )
        email = P.string(params, "email")
        business_type = P.enum(
            params, "business_type", ("individual", "company", "non_profit", "government_entity")
        )
        default_currency = P.currency(params, "default_currency", required_=False) or (
            "eur" if country in _EUROZONE else _COUNTRY_CURRENCY.get(country, "usd")
        )
        capabilities = self._requested_capabilities(params, {})
        metadata = P.metadata(params)
        profile = params.get("business_profile") or {}
        if not isinstance(profile, dict):
            raise invalid_request("Invalid hash", param="business_profile")
        with self.lock:
            now = self.clock()
            acct_id = self.new_id("acct", 16)
            due = [d for d in _INITIAL_DUE if not (d == "business_type" and business_type)]
            acct: dict[str, Any] = {
                "id": acct_id,
                "object": "account",
                "business_profile": {
                    "mcc": profile.get("mcc"),
                    "name": profile.get("name"),
                    "product_description": profile.get("product_description"),
                    "support_email": profile.get("support_email"),
                    "support_phone": profile.get("support_phone"),
                    "support_url": profile.get("support_url"),
                    "url": profile.get("url"),
                },
                "business_type": business_type,
                "capabilities": capabilities,
                "charges_enabled": False,
                "country": country,
                "created": now,
                "default_currency": default_currency,
                "details_submitted": False,
                "email": email,
                "external_accounts": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/accounts/{acct_id}/external_accounts",
                },
                "future_requirements": {
                    "alternatives": [],
                    "current_deadline": None,
                    "currently_due": [],
                    "disabled_reason": None,
                    "errors": [],
                    "eventually_due": [],
                    "past_due": [],
                    "pending_verification": [],
                },
                "livemode": False,
                "metadata": metadata,
                "payouts_enabled": False,
                "requirements": {
                    "alternatives": [],
                    "current_deadline": None,
                    "currently_due": list(due),
                    "disabled_reason": "requirements.past_due",
                    "errors": [],
                    "eventually_due": list(due),
                    "past_due": list(due),
                    "pending_verification": [],
                },
                "settings": {
                    "payouts": {
                        "debit_negative_balances": True,
                        "schedule": {"delay_days": 2, "interval": "daily"},
                        "statement_descriptor": None,
                    }
                },
                "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
                "type": type_,
            }
            self.accounts[acct_id] = acct
            self._register(acct_id, now)
            return 200, self.render_account(acct)

    def retrieve_account(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ())
        with self.lock:
            return 200, self.render_account(self._account(id))

    def _change_account(
        self, acct: dict[str, Any], changes: dict[str, Any], ctx: Ctx | None
    ) -> None:
        previous = {}
        for key, value in changes.items():
            if acct.get(key) != value:
                old = acct.get(key)
                previous[key] = dict(old) if isinstance(old, dict) else old
                acct[key] = value
        if previous:
            self.emit("account.updated", self.render_account(acct), ctx, previous)

    def update_account(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            (
                "email",
                "metadata",
                "business_type",
                "capabilities",
                "business_profile",
                "default_currency",
                "settings",
                "tos_acceptance",
            ),
        )
        email = P.string(params, "email")
        business_type = P.enum(
            params, "business_type", ("individual", "company", "non_profit", "government_entity")
        )
        with self.lock:
            acct = self._account(id)
            changes: dict[str, Any] = {}
            if email is not None:
                changes["email"] = email
            if business_type is not None:
                changes["business_type"] = business_type
            if "metadata" in params:
                changes["metadata"] = P.metadata(params, acct["metadata"])
            if "capabilities" in params:
                changes["capabilities"] = self._requested_capabilities(params, acct["capabilities"])
            if "default_currency" in params:
                changes["default_currency"] = P.currency(params, "default_currency")
            self._change_account(acct, changes, ctx)
            return 200, self.render_account(acct)

    def list_accounts(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ("limit", "starting_after", "ending_before", "created"))
        flt = P.created_filter(params)
        with self.lock:
            rows = [a for a in self.accounts.values() if P.created_matches(a["created"], flt)]
            return 200, self._paginate(rows, params, "/v1/accounts", "account", self.render_account)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            acct = self._account(account_id)
            caps = {name: "active" for name in acct["capabilities"]}
            caps["transfers"] = "active"
            empty_req = dict(
                acct["requirements"],
                currently_due=[],
                eventually_due=[],
                past_due=[],
                disabled_reason=None,
            )
            now = self.clock()
            self._change_account(
                acct,
                {
                    "capabilities": caps,
                    "charges_enabled": "card_payments" in caps,
                    "details_submitted": True,
                    "payouts_enabled": True,
                    "requirements": empty_req,
                    "tos_acceptance": {"date": now, "ip": "127.0.0.1", "user_agent": None},
                },
                None,
            )
            return self.render_account(acct)

    def restrict_account(
        self, account_id: str, disabled_reason: str, currently_due: list[str]
    ) -> dict[str, Any]:
        with self.lock:
            acct = self._account(account_id)
            caps = {name: "inactive" for name in acct["capabilities"]}
            req = dict(
                acct["requirements"],
                currently_due=list(currently_due),
                past_due=list(currently_due),
                eventually_due=list(currently_due),
                disabled_reason=disabled_reason,
            )
            self._change_account(
                acct,
                {
                    "capabilities": caps,
                    "charges_enabled": False,
                    "payouts_enabled": False,
                    "requirements": req,
                },
                None,
            )
            return self.render_account(acct)

    # --------------------------------------------------------- account links
    def create_account_link(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            ("account", "refresh_url", "return_url", "type", "collect", "collection_options"),
        )
        account = P.string(params, "account", required_=True)
        type_ = P.enum(params, "type", ("account_onboarding", "account_update"), required_=True)
        refresh_url = P.string(params, "refresh_url", required_=True)
        return_url = P.string(params, "return_url", required_=True)
        P.enum(params, "collect", ("currently_due", "eventually_due"))
        with self.lock:
            acct = self._account(account, param="account", status=400, stored=True)  # type: ignore[arg-type]
            if type_ == "account_update" and acct["type"] != "custom":
                raise invalid_request(
                    "You cannot create `account_update` type Account Links for "
                    f"{acct['type']} accounts.",
                    param="type",
                    stored=True,
                )
            now = self.clock()
            token = "".join(self._rand.choices(_ALNUM, k=12))
            self.account_links[token] = {
                "account": account,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "expires_at": now + ACCOUNT_LINK_TTL,
                "used": False,
            }
            return 200, {
                "object": "account_link",
                "created": now,
                "expires_at": now + ACCOUNT_LINK_TTL,
                "url": f"{ctx.base_url}/_fake/connect/setup/{account}/{token}",
            }

    def visit_account_link(self, token: str) -> str | None:
        """Hosted onboarding stand-in: completes onboarding, returns where to redirect."""
        with self.lock:
            link = self.account_links.get(token)
            if link is None:
                return None
            if link["used"] or self.clock() >= link["expires_at"]:
                return link["refresh_url"]
            link["used"] = True
            self.complete_onboarding(link["account"])
            return link["return_url"]

    # ------------------------------------------------------------- transfers
    def render_transfer(self, tr: dict[str, Any]) -> dict[str, Any]:
        out = dict(tr)
        out["metadata"] = dict(tr["metadata"])
        rev_ids = self._transfer_reversals.get(tr["id"], [])
        newest = [self.render_reversal(self.reversals[r]) for r in reversed(rev_ids[-10:])]
        out["reversals"] = {
            "object": "list",
            "data": newest,
            "has_more": len(rev_ids) > 10,
            "total_count": len(rev_ids),
            "url": f"/v1/transfers/{tr['id']}/reversals",
        }
        return out

    def _transfer(self, transfer_id: str) -> dict[str, Any]:
        tr = self.transfers.get(transfer_id)
        if tr is None:
            raise no_such("transfer", transfer_id)
        return tr

    def create_transfer(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            (
                "amount",
                "currency",
                "destination",
                "transfer_group",
                "metadata",
                "description",
                "source_transaction",
                "source_type",
            ),
        )
        amount = P.integer(params, "amount", required_=True, minimum=1)
        currency = P.currency(params)
        destination = P.string(params, "destination", required_=True)
        transfer_group = P.string(params, "transfer_group")
        description = P.string(params, "description")
        source_type = P.enum(params, "source_type", ("bank_account", "card", "fpx")) or "card"
        source_transaction = P.string(params, "source_transaction")
        metadata = P.metadata(params)
        with self.lock:
            # From here on the endpoint is executing: errors are stored for replay.
            if source_transaction is not None:
                raise no_such(
                    "charge",
                    source_transaction,
                    param="source_transaction",
                    status=400,
                    stored=True,
                )
            acct = self.accounts.get(destination)  # type: ignore[arg-type]
            if acct is None:
                raise no_such(
                    "destination", destination, param="destination", status=400, stored=True
                )  # type: ignore[arg-type]
            if acct["capabilities"].get("transfers") != "active":
                raise invalid_request(
                    "Your destination account needs to have at least one of the following "
                    "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                    code="insufficient_capabilities_for_transfer",
                    stored=True,
                )
            if self.available.get(currency, 0) < amount:  # type: ignore[arg-type, operator]
                raise balance_insufficient()
            self.available[currency] -= amount  # type: ignore[index, operator]
            dest_bal = self.connected_balances.setdefault(destination, {})  # type: ignore[arg-type]
            dest_bal[currency] = dest_bal.get(currency, 0) + amount  # type: ignore[index, operator]
            now = self.clock()
            tr = {
                "id": self.new_id("tr"),
                "object": "transfer",
                "amount": amount,
                "amount_reversed": 0,
                "balance_transaction": self.new_id("txn"),
                "created": now,
                "currency": currency,
                "description": description,
                "destination": destination,
                "destination_payment": self.new_id("py"),
                "livemode": False,
                "metadata": metadata,
                "reversed": False,
                "source_transaction": None,
                "source_type": source_type,
                "transfer_group": transfer_group,
            }
            self.transfers[tr["id"]] = tr
            self._register(tr["id"], now)
            body = self.render_transfer(tr)
            self.emit("transfer.created", self.render_transfer(tr), ctx)
            return 200, body

    def retrieve_transfer(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ())
        with self.lock:
            return 200, self.render_transfer(self._transfer(id))

    def update_transfer(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ("description", "metadata"))
        description = P.string(params, "description")
        with self.lock:
            tr = self._transfer(id)
            previous: dict[str, Any] = {}
            if description is not None and description != tr["description"]:
                previous["description"] = tr["description"]
                tr["description"] = description
            if "metadata" in params:
                new_md = P.metadata(params, tr["metadata"])
                if new_md != tr["metadata"]:
                    # Stripe reports changed keys (removed ones as "").
                    previous["metadata"] = {
                        k: tr["metadata"].get(k, "")
                        for k in set(tr["metadata"]) | set(new_md)
                        if tr["metadata"].get(k) != new_md.get(k)
                    }
                    tr["metadata"] = new_md
            body = self.render_transfer(tr)
            if previous:
                self.emit("transfer.updated", self.render_transfer(tr), ctx, previous)
            return 200, body

    def list_transfers(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            (
                "limit",
                "starting_after",
                "ending_before",
                "created",
                "destination",
                "transfer_group",
            ),
        )
        flt = P.created_filter(params)
        destination = P.string(params, "destination")
        group = P.string(params, "transfer_group")
        with self.lock:
            rows = [
                t
                for t in self.transfers.values()
                if (destination is None or t["destination"] == destination)
                and (group is None or t["transfer_group"] == group)
                and (not flt or P.created_matches(t["created"], flt))
            ]
            return 200, self._paginate(
                rows, params, "/v1/transfers", "transfer", self.render_transfer
            )

    # ------------------------------------------------------------- reversals
    @staticmethod
    def render_reversal(rev: dict[str, Any]) -> dict[str, Any]:
        out = dict(rev)
        out["metadata"] = dict(rev["metadata"])
        return out

    def create_reversal(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ("amount", "description", "metadata", "refund_application_fee"))
        amount = P.integer(params, "amount", minimum=1)
        P.string(params, "description")
        P.boolean(params, "refund_application_fee")
        metadata = P.metadata(params)
        with self.lock:
            tr = self._transfer(id)
            remaining = tr["amount"] - tr["amount_reversed"]
            if remaining <= 0:
                raise invalid_request(
                    f"Transfer {id} has already been fully reversed.", stored=True
                )
            if amount is None:
                amount = remaining
            if amount > remaining:
                raise invalid_request(
                    f"You have requested a reversal of {amount}, which exceeds the remaining "
                    f"unreversed amount of {remaining} on transfer {id}.",
                    param="amount",
                    stored=True,
                )
            now = self.clock()
            rev = {
                "id": self.new_id("trr"),
                "object": "transfer_reversal",
                "amount": amount,
                "balance_transaction": self.new_id("txn"),
                "created": now,
                "currency": tr["currency"],
                "destination_payment_refund": self.new_id("pyr"),
                "metadata": metadata,
                "source_refund": None,
                "transfer": id,
            }
            self.reversals[rev["id"]] = rev
            self._register(rev["id"], now)
            self._transfer_reversals.setdefault(id, []).append(rev["id"])
            previous = {"amount_reversed": tr["amount_reversed"], "reversed": tr["reversed"]}
            tr["amount_reversed"] += amount
            tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
            if previous["reversed"] == tr["reversed"]:
                del previous["reversed"]
            self.available[tr["currency"]] = self.available.get(tr["currency"], 0) + amount
            dest_bal = self.connected_balances.setdefault(tr["destination"], {})
            dest_bal[tr["currency"]] = dest_bal.get(tr["currency"], 0) - amount
            # transfer.reversed: "Occurs whenever a transfer is reversed, including partial
            # reversals." (Stripe's event type list)
            self.emit("transfer.reversed", self.render_transfer(tr), ctx, previous)
            return 200, self.render_reversal(rev)

    def _reversal(self, transfer_id: str, reversal_id: str) -> dict[str, Any]:
        self._transfer(transfer_id)
        rev = self.reversals.get(reversal_id)
        if rev is None or rev["transfer"] != transfer_id:
            raise no_such("transfer_reversal", reversal_id)
        return rev

    def list_reversals(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ("limit", "starting_after", "ending_before"))
        with self.lock:
            self._transfer(id)
            rows = [self.reversals[r] for r in self._transfer_reversals.get(id, [])]
            return 200, self._paginate(
                rows,
                params,
                f"/v1/transfers/{id}/reversals",
                "transfer_reversal",
                self.render_reversal,
            )

    def retrieve_reversal(
        self, ctx: Ctx, params: dict[str, Any], transfer: str, id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ())
        with self.lock:
            return 200, self.render_reversal(self._reversal(transfer, id))

    def update_reversal(
        self, ctx: Ctx, params: dict[str, Any], transfer: str, id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ("metadata",))
        with self.lock:
            rev = self._reversal(transfer, id)
            rev["metadata"] = P.metadata(params, rev["metadata"])
            return 200, self.render_reversal(rev)

    # ---------------------------------------------------------------- events
    def list_events(self, ctx: Ctx, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        P.check_known(
            params,
            (
                "limit",
                "starting_after",
                "ending_before",
                "created",
                "type",
                "types",
                "delivery_success",
            ),
        )
        flt = P.created_filter(params)
        type_ = P.string(params, "type")
        types = P.array(params, "types")
        if type_ and types:
            raise invalid_request(
                "You may only specify one of these parameters: type, types.", param="types"
            )

        def wanted(evt_type: str) -> bool:
            if types:
                return evt_type in types
            if type_:
                if type_.endswith("*"):  # Stripe allows "transfer.*"
                    return evt_type.startswith(type_[:-1])
                return evt_type == type_
            return True

        with self.lock:
            rows = [
                e
                for e in self.events.values()
                if wanted(e["type"]) and (not flt or P.created_matches(e["created"], flt))
            ]
            return 200, self._paginate(rows, params, "/v1/events", "event", lambda e: e)

    def retrieve_event(
        self, ctx: Ctx, params: dict[str, Any], id: str
    ) -> tuple[int, dict[str, Any]]:
        P.check_known(params, ())
        with self.lock:
            evt = self.events.get(id)
            if evt is None:
                raise no_such("event", id)
            return 200, evt


def kind_prefix(kind: str) -> str:
    return {
        "account": "acct_",
        "transfer": "tr_",
        "transfer_reversal": "trr_",
        "event": "evt_",
    }.get(kind, "")
