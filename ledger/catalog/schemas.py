"""Import rows (contract §4) as validated, data-only models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ledger.catalog.identifiers import normalise_all
from ledger.licensing.purposes import ALL_TOKENS


def _exact_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("must be a decimal string or number")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


def _rfc3339(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None or "T" not in value.upper():
        raise ValueError(f"{value!r} is not an RFC 3339 timestamp with a time zone")
    return moment


def _token(value: str) -> str:
    if value not in ALL_TOKENS:
        raise ValueError(f"unknown usage token {value!r} (known: {', '.join(ALL_TOKENS)})")
    return value


def _upper_currency(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]
NonNegative = Annotated[ExactDecimal, Field(ge=0)]
Timestamp = Annotated[datetime, BeforeValidator(_rfc3339)]
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$")]
Text = Annotated[str, Field(min_length=1)]
Currency = Annotated[str, BeforeValidator(_upper_currency), Field(pattern=r"^[A-Z]{3}$")]
Token = Annotated[str, AfterValidator(_token)]
Producer = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreatorRow(Row):
    creator: Key
    name: Text
    email: str | None = None
    currency: Currency = "USD"
    stripe_account: str | None = None
    payout_threshold: NonNegative | None = None
    opt_out: tuple[Token, ...] = ()
    # from then on its works match no use (absent: left as it is; null: not retired)
    retired: Timestamp | None = None


class LicenseeRow(Row):
    licensee: Key
    name: Text
    email: str | None = None
    # broker users allowed to report for it (contract §11); absent: left as it is
    producers: tuple[Producer, ...] | None = None
    # the largest quantity one event may report (absent: left as it is; null: no ceiling)
    max_quantity: Annotated[ExactDecimal, Field(gt=0)] | None = None


class ShareRow(Row):
    creator: Key
    share: ExactDecimal

    @model_validator(mode="after")
    def _in_range(self) -> ShareRow:
        if not Decimal(0) < self.share <= Decimal(1):
            raise ValueError(f"share of {self.creator} must be > 0 and ≤ 1, not {self.share}")
        return self


class WorkRow(Row):
    work: Key
    title: Text
    kind: str | None = None
    identifiers: dict[str, Any]
    splits: tuple[ShareRow, ...] = Field(min_length=1)
    opt_out: tuple[Token, ...] = ()
    effective_from: Timestamp | None = None
    # from then on it matches no use (absent: left as it is; null: not retired)
    retired: Timestamp | None = None

    @model_validator(mode="after")
    def _check(self) -> WorkRow:
        normalised, errors = normalise_all(self.identifiers)
        if errors:
            raise ValueError("; ".join(errors))
        object.__setattr__(self, "identifiers", normalised)
        creators = [s.creator for s in self.splits]
        if len(set(creators)) != len(creators):
            raise ValueError("splits name a creator more than once")
        total = sum((s.share for s in self.splits), Decimal(0))
        if total != 1:
            claim = "over-claim" if total > 1 else "under-claim"
            raise ValueError(f"split shares sum to {total}, not 1 ({claim})")
        return self

    @property
    def shares(self) -> dict[str, Decimal]:
        return {s.creator: s.share for s in self.splits}


class ScopeRow(Row):
    works: tuple[Key, ...] | None = None
    creators: tuple[Key, ...] | None = None
    catalog: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ScopeRow:
        given = [k for k in ("works", "creators", "catalog") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError('scope must be exactly one of {"works": [...]}, '
                             '{"creators": [...]}, {"catalog": true}')
        if self.catalog is False:
            raise ValueError("scope catalog must be true")
        if given[0] in ("works", "creators") and not getattr(self, given[0]):
            raise ValueError(f"scope {given[0]} must name at least one key")
        return self

    @property
    def kind(self) -> str:
        return "works" if self.works is not None else "creators" if self.creators is not None else "catalog"


PERIODS = ("month", "quarter", "year")
RATE_TYPES = ("per_unit", "pool", "revenue_share")


def _period(value: Any) -> str:
    if value not in PERIODS:
        raise ValueError(f"unknown period {value!r} (known: {', '.join(PERIODS)})")
    return value


Period = Annotated[str, BeforeValidator(_period)]


class MinimumRow(Row):
    """A minimum guarantee per period (contract §9); its currency, when given, must be the
    license's."""

    amount: NonNegative
    period: Period
    currency: Currency | None = None


class RateRow(Row):
    """``per_unit`` (price per unit), ``pool`` (an amount per period) or ``revenue_share``
    (a share of the revenue reported for a period), any of them with a ``minimum``."""

    type: str
    unit: Text = "uses"
    price: NonNegative | None = None
    amount: NonNegative | None = None
    share: Annotated[ExactDecimal, Field(ge=0, le=1)] | None = None
    period: Period | None = None
    minimum: MinimumRow | None = None

    @model_validator(mode="after")
    def _fields_of_type(self) -> RateRow:
        if self.type not in RATE_TYPES:
            raise ValueError(f"unknown rate type {self.type!r} (known: {', '.join(RATE_TYPES)})")
        needed = {"per_unit": ("price",), "pool": ("amount", "period"),
                  "revenue_share": ("share", "period")}[self.type]
        problems = [f"a {self.type} rate needs {name!r}" for name in needed
                    if getattr(self, name) is None]
        problems += [f"a {self.type} rate takes no {name!r}"
                     for name in ("price", "amount", "share", "period")
                     if name not in needed and getattr(self, name) is not None]
        if (self.minimum is not None and self.period is not None
                and self.minimum.period != self.period):
            problems.append(f"minimum period {self.minimum.period!r} does not fit the rate's "
                            f"period {self.period!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def settle_period(self) -> str | None:
        """The period the license is settled by: its rate's, or its minimum's."""
        return self.period or (self.minimum.period if self.minimum else None)


class LicenseRow(Row):
    license: Key
    licensee: Key
    scope: ScopeRow
    purposes: tuple[Token, ...] = Field(min_length=1)
    valid_from: Timestamp
    valid_until: Timestamp | None = None
    currency: Currency
    rate: RateRow
    platform_fee: Annotated[ExactDecimal, Field(ge=0, le=1)] = Decimal(0)
    # from then on it covers no use (absent: left as it is; null: not retired)
    retired: Timestamp | None = None

    @model_validator(mode="after")
    def _validity(self) -> LicenseRow:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        minimum = self.rate.minimum
        if minimum is not None and minimum.currency not in (None, self.currency):
            raise ValueError(f"rate.minimum: currency {minimum.currency} is not the "
                             f"license's currency {self.currency}")
        return self
