"""Reading a message's usage events, fast in the common case.

Most bodies hold only valid events with no extension attributes. Those are decoded
straight into typed structs (msgspec: the JSON parsing and the type checks run in C) and
their content hash is taken from the struct encoded with sorted keys, the same bytes as
``content_hash`` of the parsed dict. Anything else — a bad event, an extension attribute,
a float quantity — makes the typed decoding fail, and the body is read again by
``parse_body`` and ``validate``, which say what is wrong with each event. So the fast
path only ever accepts what ``validate`` accepts, and stages the same row (made straight
from the struct, with no ``Usage`` in between).
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from msgspec.structs import astuple

from ledger.catalog.identifiers import IDENTIFIER_KINDS
from ledger.ingest import limits
from ledger.ingest.events import (
    BATCH,
    EVENT_TYPE,
    SINGLE,
    Invalid,
    Rejected,
    _identifier,
    _quantity,
    _time,
    media_type,
    normal_sha256,
    parse_body,
    staged_row,
    validate,
)
from ledger.licensing.purposes import USAGE_TOKENS

NonEmpty = Annotated[str, Meta(min_length=1, max_length=limits.MAX_TEXT)]
# a longer string is read the slow way, which says which one is too long
Short = Annotated[str, Meta(max_length=limits.MAX_TEXT)]
# Integers a quantity may be: wider ones are read as floats by the exact parser.
Count = Annotated[int, Meta(ge=0, lt=10**18)]


# An absent attribute decodes to its default, None, and is left out when the struct is
# encoded for the hash (``omit_defaults``), as it is absent from the parsed dict. An explicit
# null is not of the declared type: such a body is read the slow way.
class _Plain(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class _Item(_Plain):
    sha256: Short = None  # type: ignore[assignment]
    url: Short = None  # type: ignore[assignment]
    isrc: Short = None  # type: ignore[assignment]
    iswc: Short = None  # type: ignore[assignment]
    isbn: Short = None  # type: ignore[assignment]
    doi: Short = None  # type: ignore[assignment]
    c2pa: Short = None  # type: ignore[assignment]
    phash: Short = None  # type: ignore[assignment]
    simhash: Short = None  # type: ignore[assignment]
    pdq: Short = None  # type: ignore[assignment]
    iscc: Short = None  # type: ignore[assignment]


_ITEM_KINDS = _Item.__struct_fields__
assert _ITEM_KINDS == IDENTIFIER_KINDS, "a row lists the identifiers in this order"
_NONE = (None,) * len(_ITEM_KINDS)
_SHA256_ONLY = _NONE[1:]


class _Data(_Plain):
    licensee: NonEmpty
    purpose: Literal[USAGE_TOKENS]  # type: ignore[valid-type]
    item: _Item
    activity: Short = None  # type: ignore[assignment]
    model: Short = None  # type: ignore[assignment]
    run: Short = None  # type: ignore[assignment]
    dataset: Short = None  # type: ignore[assignment]
    quantity: Count | str = None  # type: ignore[assignment]
    unit: Short = None  # type: ignore[assignment]


class _Event(_Plain):
    specversion: Literal["1.0"]
    type: Literal[EVENT_TYPE]  # type: ignore[valid-type]
    source: NonEmpty
    id: NonEmpty
    time: Short
    data: _Data
    datacontenttype: Short = None  # type: ignore[assignment]
    dataschema: Short = None  # type: ignore[assignment]
    subject: Short = None  # type: ignore[assignment]


_DECODERS = {SINGLE: msgspec.json.Decoder(_Event), BATCH: msgspec.json.Decoder(list[_Event])}
_SORTED = msgspec.json.Encoder(order="sorted")


@dataclass(frozen=True, slots=True)
class Bad:
    """An event that is not valid, as parsed, and why."""

    error: Invalid
    event: Any


@dataclass(slots=True)
class Read:
    """A body's events, in order: each as the row it is staged as (``ROW_COLUMNS``) or
    why it is not valid (``Bad``), with its licensee's key (None for a bad one); and the
    identifier kinds the rows use."""

    licensees: list[str | None]
    rows: list[tuple | Bad]
    kinds: set[str]


def read(body: bytes, content_type: str | None) -> Read | Rejected:
    """Every event of one message body, each valid (a row) or not (``Bad``), or why the
    whole body is rejected."""
    # A NUL decodes into a string the fast way, and PostgreSQL stores none: such a body is
    # read the slow way, where ``validate`` refuses it in what is stored.
    nul = limits.NUL_ESCAPE in body
    typed = None if nul else _typed(body, content_type)
    if typed is not None:
        return typed
    events = parse_body(body, content_type)
    if isinstance(events, Rejected):
        return events
    read_ = Read([], [], set())
    for event in events:
        try:
            usage = validate(event)
        except Invalid as exc:
            read_.licensees.append(None)
            read_.rows.append(Bad(exc, event))
            continue
        read_.licensees.append(usage.licensee)
        read_.rows.append(staged_row(usage))
        read_.kinds.update(usage.identifiers)
    return read_


def _typed(body: bytes, content_type: str | None) -> Read | None:
    """The body's events if all are valid and plain, else None (read them the slow way).
    Each row is made straight from the decoded struct, as ``staged_row`` makes it from
    the ``Usage`` that ``validate`` returns."""
    decoder = _DECODERS.get(media_type(content_type))
    if decoder is None:
        return None
    try:
        decoded = decoder.decode(body)
        licensees: list[str | None] = []
        rows: list[tuple | Bad] = []
        kinds: set[str] = set()
        for event in decoded if type(decoded) is list else [decoded]:
            data = event.data
            licensees.append(data.licensee)
            rows.append(_row(event, data, kinds))
    except (msgspec.MsgspecError, Invalid, ValueError):
        return None
    return Read(licensees, rows, kinds)


def _row(event: _Event, data: _Data, kinds: set[str]) -> tuple:
    identifiers = astuple(data.item)  # in IDENTIFIER_KINDS order
    # The common case: a sha256 alone, in normal form. Checked here, not as a pattern on
    # the struct field: msgspec's pattern check cost half as much as decoding the event.
    if identifiers[1:] == _SHA256_ONLY and normal_sha256(identifiers[0]):
        kinds.add("sha256")
    else:
        identifiers = tuple(None if value is None else _identifier(kind, value)
                            for kind, value in zip(_ITEM_KINDS, identifiers))
        if identifiers == _NONE:
            raise Invalid("data.item", "data.item has no identifier")
        kinds.update(kind for kind, value in zip(_ITEM_KINDS, identifiers) if value is not None)
    return (event.source, event.id, blake2b(_SORTED.encode(event), digest_size=16).digest(),
            _time(event.time), data.purpose, data.activity, data.model, data.run, data.dataset,
            _quantity(data.quantity)[1], data.unit or "uses", *identifiers, None)
