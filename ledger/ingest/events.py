"""Parse and validate usage CloudEvents (contract §2). Pure functions, built for speed:
one pass per event, no per-event allocation beyond the row that is stored."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import orjson

from ledger.catalog.identifiers import IDENTIFIER_KINDS, normalise
from ledger.fingerprints.codes import pdq_quality
from ledger.ingest import limits
from ledger.licensing.purposes import USAGE_TOKENS

EVENT_TYPE = "io.royaltyledger.usage.v1"
SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"

CONTEXT_ATTRIBUTES = frozenset({"specversion", "type", "source", "id", "time",
                                "datacontenttype", "dataschema", "subject", "data"})
DATA_FIELDS = frozenset({"licensee", "purpose", "activity", "model", "run", "dataset", "item",
                         "quantity", "unit"})
_PURPOSES = frozenset(USAGE_TOKENS)
_KINDS = frozenset(IDENTIFIER_KINDS)
_MAX_TEXT = limits.MAX_TEXT


def _within_limits(*values: tuple[str, Any]) -> None:
    for where, value in values:
        if found := limits.problem(value, where):
            raise Invalid(*found)


class Reason:
    """Dead-letter reasons (contract §3)."""

    MALFORMED_JSON = "malformed_json"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_LICENSEE = "unknown_licensee"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    TOO_LARGE = "too_large"
    UNAUTHORIZED_PRODUCER = "unauthorized_producer"  # contract §11
    QUANTITY_OUT_OF_RANGE = "quantity_out_of_range"  # above its licensee's max_quantity
    UNPROCESSABLE = "unprocessable"  # a fault of ours, not of the input: kept, never lost


@dataclass(frozen=True)
class Rejected:
    """An event (or a whole body) that cannot be accepted, and why."""

    reason: str
    detail: str
    field: str | None = None
    source: str | None = None
    event_id: str | None = None
    raw: bytes = b""


class Invalid(Exception):
    def __init__(self, field: str, detail: str) -> None:
        detail = detail if len(detail) <= 500 else detail[:500] + "…"  # never a value whole
        super().__init__(detail)
        self.field = field[:200]
        self.detail = detail


# An event as it is staged, after the batch's ``seq`` and its licensee's id: the columns,
# in order, of the tuples ``staged_row`` and the typed reading (``decode``) make.
ROW_COLUMNS = ("source", "event_id", "content_hash", "time", "purpose", "activity", "model",
               "run", "dataset", "quantity", "unit", *IDENTIFIER_KINDS, "extensions")


@dataclass(slots=True)
class Usage:
    """A valid usage event, as stored. ``licensee`` is still the key here."""

    source: str
    event_id: str
    content_hash: bytes
    time: datetime
    licensee: str
    purpose: str
    activity: str | None
    model: str | None
    run: str | None
    dataset: str | None
    quantity: Decimal
    unit: str
    identifiers: dict[str, str]
    extensions: dict | None
    quantity_text: str  # the quantity's decimal text, as the store sends it


def staged_row(usage: Usage) -> tuple:
    """``usage`` as the row it is staged as (``ROW_COLUMNS``): the quantity as its decimal
    text, each identifier kind in its column, the extensions as JSON text."""
    identifiers = usage.identifiers
    return (usage.source, usage.event_id, usage.content_hash, usage.time, usage.purpose,
            usage.activity, usage.model, usage.run, usage.dataset, usage.quantity_text,
            usage.unit, *map(identifiers.get, IDENTIFIER_KINDS),
            None if usage.extensions is None
            else orjson.dumps(usage.extensions, default=str).decode())


def _as_float(value: Any) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def content_hash(event: dict) -> bytes:
    """A digest of the event's content, blind to key order, white space and to whether a
    number was parsed exactly or as a float."""
    return hashlib.blake2b(orjson.dumps(event, option=orjson.OPT_SORT_KEYS, default=_as_float),
                           digest_size=16).digest()


def _text(obj: dict, key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise Invalid(where, f"{where} is required")
        return None
    if not isinstance(value, str) or (required and not value):
        raise Invalid(where, f"{where} must be a non-empty string")
    return value


@lru_cache(maxsize=4096)
def _decimal(text: str) -> tuple[Decimal, str]:
    """Quantities repeat a lot ("1", "3"…): parse and check each spelling once."""
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        raise Invalid("data.quantity", f"data.quantity {text!r} is not a decimal") from None
    quantity = _in_range(quantity)
    return quantity, str(quantity)


_ONE = (Decimal(1), "1")


def _quantity(value: Any) -> tuple[Decimal, str]:
    """The quantity and its decimal text (digits PostgreSQL reads back exactly)."""
    if value is None:
        return _ONE
    if type(value) is str and len(value) < 32:
        return _decimal(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise Invalid("data.quantity", "data.quantity must be a decimal string or number")
    try:
        quantity = Decimal(repr(value) if isinstance(value, float) else value)
    except InvalidOperation:
        raise Invalid("data.quantity", f"data.quantity {value!r} is not a decimal") from None
    quantity = _in_range(quantity)
    return quantity, str(quantity)


def _in_range(quantity: Decimal) -> Decimal:
    if not quantity.is_finite() or quantity < 0:
        raise Invalid("data.quantity", "data.quantity must be a finite number ≥ 0")
    if quantity.adjusted() > 17 or quantity.as_tuple().exponent < -30:
        raise Invalid("data.quantity", "data.quantity is out of range")
    return quantity


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise Invalid("time", "time is required (RFC 3339)")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("time", f"time {value!r} is not RFC 3339") from None
    if moment.tzinfo is None or len(value) < 20:
        raise Invalid("time", f"time {value!r} is not RFC 3339 with a time zone")
    return moment


def _optional_text(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None or type(value) is str:
        return value
    raise Invalid(f"data.{key}", f"data.{key} must be a non-empty string")


def normal_sha256(value: Any) -> bool:
    """Whether ``value`` is a sha256 in normal form: 64 lower-case hex digits. Read as hex
    and written back, the normal form alone comes back the same (upper case comes back
    lower, and anything not hex fails): half the cost of ``str.strip`` on the hex digits."""
    if type(value) is not str or len(value) != 64:
        return False
    try:
        return bytes.fromhex(value).hex() == value
    except ValueError:
        return False


def _identifier(kind: str, value: Any) -> str:
    # The common case first: a sha256 already in normal form.
    if kind == "sha256" and normal_sha256(value):
        return value
    try:
        return normalise(kind, value)
    except ValueError as exc:
        raise Invalid(f"data.item.{kind}", str(exc)) from None


_TEXT_OR_NONE = frozenset({str, type(None)})
_OPTIONAL = ("activity", "model", "run", "dataset", "unit")


def validate(event: Any) -> Usage:
    """The stored form of one event, or ``Invalid`` naming the field at fault.

    Each check is written for the common, valid case first; only a value that fails it
    goes through the slower helper that says what is wrong with it."""
    if type(event) is not dict:
        raise Invalid("", "an event must be a JSON object")
    get = event.get
    if get("specversion") != "1.0":
        raise Invalid("specversion", 'specversion must be "1.0"')
    source, event_id = get("source"), get("id")
    if type(source) is not str or not source:
        _text(event, "source", "source", required=True)
    if type(event_id) is not str or not event_id:
        _text(event, "id", "id", required=True)
    if get("type") != EVENT_TYPE:
        _text(event, "type", "type", required=True)
        raise Invalid("type", f"type must be {EVENT_TYPE!r}")
    moment = _time(get("time"))
    data = get("data")
    if type(data) is not dict:
        raise Invalid("data", "data must be a JSON object")
    licensee = data.get("licensee")
    if type(licensee) is not str or not licensee:
        _text(data, "licensee", "data.licensee", required=True)
    purpose = data.get("purpose")
    if type(purpose) is not str or purpose not in _PURPOSES:
        _text(data, "purpose", "data.purpose", required=True)
        raise Invalid("data.purpose", f"data.purpose {purpose!r} is not one of "
                                      f"{', '.join(USAGE_TOKENS)}")
    item = data.get("item")
    if type(item) is not dict:
        raise Invalid("data.item", "data.item must be an object with at least one identifier")
    identifiers = {kind: _identifier(kind, value) for kind, value in item.items()
                   if kind in _KINDS}
    if not identifiers:
        raise Invalid("data.item", "data.item has no known identifier "
                                   f"({', '.join(IDENTIFIER_KINDS)})")
    if "pdq_quality" in item:  # kept with the item's other attributes; matching reads it
        try:
            pdq_quality(item["pdq_quality"])
        except ValueError as exc:
            raise Invalid("data.item.pdq_quality", str(exc)) from None
    dget = data.get
    activity, model, run, dataset, unit = (dget("activity"), dget("model"), dget("run"),
                                           dget("dataset"), dget("unit"))
    if not (type(activity) in _TEXT_OR_NONE and type(model) in _TEXT_OR_NONE
            and type(run) in _TEXT_OR_NONE and type(dataset) in _TEXT_OR_NONE
            and type(unit) in _TEXT_OR_NONE):
        for key in _OPTIONAL:
            _optional_text(data, key)
    extra = None  # unknown attributes are kept, never rejected; most events have none
    if not (event.keys() <= CONTEXT_ATTRIBUTES and data.keys() <= DATA_FIELDS
            and len(identifiers) == len(item)):
        extra = {k: v for k, v in event.items() if k not in CONTEXT_ATTRIBUTES}
        extra_data = {k: v for k, v in data.items() if k not in DATA_FIELDS}
        extra_item = {k: v for k, v in item.items() if k not in _KINDS}
        if extra_data:
            extra["data"] = extra_data
        if extra_item:
            extra["item"] = extra_item
    # What is stored as text: within the limits, and with no NUL (PostgreSQL stores none).
    # One sum for the common case: when it is short, no value is too long.
    texts = (source, event_id, licensee, *identifiers.values(),
             *(v for v in (activity, model, run, dataset, unit) if v))
    if sum(map(len, texts)) > _MAX_TEXT or any("\x00" in text for text in texts):
        _within_limits(("source", source), ("id", event_id), ("data.licensee", licensee),
                       *((f"data.item.{k}", v) for k, v in identifiers.items()),
                       *((f"data.{k}", dget(k)) for k in _OPTIONAL))
    if extra:
        _within_limits(("", extra))
    quantity, quantity_text = _quantity(data.get("quantity"))
    return Usage(source, event_id, content_hash(event), moment, licensee, purpose, activity,
                 model, run, dataset, quantity, unit or "uses", identifiers, extra or None,
                 quantity_text)


def _imprecise_quantity(event: Any) -> bool:
    """A numeric quantity with more digits than a float keeps (then we re-parse exactly)."""
    data = event.get("data") if isinstance(event, dict) else None
    value = data.get("quantity") if isinstance(data, dict) else None
    return isinstance(value, float) and len(repr(value).lstrip("-").replace(".", "")) >= 15


def media_type(content_type: str | None) -> str:
    """A content type without its parameters, lower case."""
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> list[Any] | Rejected:
    """The events of one message body (single or batch mode), or why it is rejected whole."""
    ctype = media_type(content_type)
    if ctype not in (SINGLE, BATCH):
        return Rejected(Reason.UNSUPPORTED_CONTENT_TYPE,
                        f"content type {content_type!r} is neither {SINGLE} nor {BATCH}", raw=body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejected(Reason.MALFORMED_JSON, f"body is not JSON: {exc}", raw=body)
    if ctype == BATCH and not isinstance(parsed, list):
        return Rejected(Reason.MALFORMED_JSON, "a batch body must be a JSON array", raw=body)
    events = parsed if ctype == BATCH else [parsed]
    # Looked for in the parsed events (a quarter of the cost of scanning the body's bytes,
    # and blind to how the key is spelt): a float that lost digits means parsing again.
    if any(_imprecise_quantity(e) for e in events):
        exact = json.loads(body, parse_float=Decimal)
        events = exact if ctype == BATCH else [exact]
    return events


def event_bytes(event: Any) -> bytes:
    """One event as JSON bytes, for a dead letter that keeps it."""
    return orjson.dumps(event, default=str)
