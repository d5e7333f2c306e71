"""The typed fast path reads exactly what ``parse_body`` + ``validate`` read: the same
staged rows (content hash included) and licensees, or it hands the body to them."""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.catalog.identifiers import IDENTIFIER_KINDS
from ledger.ingest import decode
from ledger.ingest.events import (
    BATCH,
    EVENT_TYPE,
    ROW_COLUMNS,
    SINGLE,
    Invalid,
    Rejected,
    content_hash,
    normal_sha256,
    parse_body,
    staged_row,
    validate,
)
from ledger.licensing.purposes import USAGE_TOKENS
from tests.builders import sha
from tests.ingest_helpers import usage


def slow_read(body: bytes, content_type: str) -> list | Rejected:
    """What the reading was before the fast path, as comparable values: each event's
    licensee and the row ``staged_row`` makes of it, or why it is bad."""
    events = parse_body(body, content_type)
    if isinstance(events, Rejected):
        return events
    out: list = []
    for parsed in events:
        try:
            usage = validate(parsed)
        except Invalid as exc:
            out.append(("bad", exc.field, exc.detail, parsed))
        else:
            out.append((usage.licensee, staged_row(usage)))
    return out


def comparable(read: decode.Read | Rejected) -> list | Rejected:
    if isinstance(read, Rejected):
        return read
    return [("bad", r.error.field, r.error.detail, r.event) if type(r) is decode.Bad
            else (key, r) for key, r in zip(read.licensees, read.rows, strict=True)]


_IDENTIFIER_AT = {kind: ROW_COLUMNS.index(kind) for kind in IDENTIFIER_KINDS}


def kinds_of(read: decode.Read) -> set[str]:
    """The identifier kinds the valid rows use."""
    return {kind for row in read.rows if type(row) is not decode.Bad
            for kind, at in _IDENTIFIER_AT.items() if row[at] is not None}


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
                    st.lists(st.integers(0, 3), max_size=2))
IDENTIFIER_VALUES = {
    "sha256": [sha("a"), sha("a").upper(), sha("a") + "\n", "ab" * 31],
    "url": ["https://cdn.example.org/a.mp4", "HTTPS://Example.org:443/a.mp4#t=1", "not a url"],
    "isrc": ["USRC17607839", "us-rc1-76-07839", "X"],
    "iswc": ["T1234567890", "T-123.456.789-0"],
    "isbn": ["9780306406157", "0-306-40615-2"],
    "doi": ["10.1000/xyz123", "DOI:10.1000/ABC"],
    "c2pa": ["urn:c2pa:1234"],
    "phash": ["0123456789abcdef", "0123456789ABCDEF", "0123"],
    "simhash": ["0123456789abcdef"],
}


TEXT = st.text(max_size=12)
DECIMAL_TEXT = st.decimals(min_value=0, max_value=10**12, places=4).map(str)
WILD_QUANTITIES = st.one_of(
    st.integers(-5, 10**19), st.sampled_from(["1e3", "-1", "x", "1" * 40, "NaN", ""]),
    st.floats(allow_nan=False, allow_infinity=False), st.just(0.1234567890123456789),
    SCALARS)


@st.composite
def usage_events(draw: st.DrawFn, wild: bool) -> dict:
    """A usage event: plain (what the fast path should take, with its variations) or, if
    ``wild``, with any field possibly missing, mistyped, extended or out of range."""

    def value(valid: st.SearchStrategy, anything: st.SearchStrategy = SCALARS) -> object:
        return draw(st.one_of(valid, anything) if wild else valid)

    kinds = draw(st.lists(st.sampled_from([*IDENTIFIER_KINDS, *(["x-extra"] if wild else [])]),
                          min_size=1, max_size=3, unique=True))
    item = {kind: value(st.sampled_from(IDENTIFIER_VALUES.get(kind, ["v"])[:None if wild else 1]))
            for kind in kinds}
    data = {"licensee": value(st.just("acme-ai")),
            "purpose": value(st.sampled_from(USAGE_TOKENS)), "item": value(st.just(item))}
    for key in ("activity", "model", "run", "dataset", "unit"):
        if draw(st.booleans()):
            data[key] = value(TEXT)
    if draw(st.booleans()):
        data["quantity"] = value(st.one_of(st.integers(0, 10**18 - 1), DECIMAL_TEXT),
                                 WILD_QUANTITIES)
    event = {"specversion": value(st.just("1.0")), "type": value(st.just(EVENT_TYPE)),
             "source": value(st.text(min_size=1, max_size=12)),
             "id": value(st.text(min_size=1, max_size=12)),
             "time": value(st.sampled_from(["2026-11-02T10:00:00Z",
                                            "2026-11-02T10:00:00.123+01:00"]),
                           st.sampled_from(["2026-11-02", "2026-11-02T10:00:00", "x"])),
             "data": value(st.just(data))}
    for key in ("datacontenttype", "subject", "dataschema"):
        if draw(st.integers(0, 3)) == 0:
            event[key] = value(TEXT)
    if wild:
        if draw(st.booleans()):
            (data if draw(st.booleans()) else event)["x-extra"] = draw(SCALARS)
        event.pop(draw(st.sampled_from(list(event))), None)
    keys = draw(st.permutations(list(event)))
    return {key: event[key] for key in keys}


def encoded(value: object, draw: st.DrawFn) -> bytes:
    return json.dumps(value, ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, 1]))).encode()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_fast_path_reads_what_validate_reads(data: st.DataObject) -> None:
    wild = data.draw(st.booleans())
    batch = data.draw(st.lists(usage_events(wild), min_size=1, max_size=4))
    if data.draw(st.booleans()):
        body, content_type = encoded(batch, data.draw), BATCH
    else:
        body, content_type = encoded(batch[0], data.draw), SINGLE
    read = decode.read(body, content_type)
    assert comparable(read) == slow_read(body, content_type)
    if not isinstance(read, Rejected):
        assert read.kinds == kinds_of(read)
    event(f"fast path: {decode._typed(body, content_type) is not None}")


def test_plain_valid_events_take_the_fast_path_with_the_same_hash() -> None:
    plain = [usage("e1"), usage("e2", quantity="2.5", unit="tokens"), usage("e3", quantity=7),
             usage("e4", item={"sha256": sha("x"), "url": "https://cdn.example.org/x.mp4"}),
             usage("e5", item={"isrc": "us-rc1-76-07839"}, activity="pretrain")]
    body = orjson.dumps(plain)
    fast = decode._typed(body, BATCH)
    assert fast is not None
    hash_at = ROW_COLUMNS.index("content_hash")
    assert [row[hash_at] for row in fast.rows] == [content_hash(e) for e in plain]
    assert comparable(fast) == slow_read(body, BATCH)
    assert fast.kinds == {"sha256", "url", "isrc"} == kinds_of(fast)
    assert comparable(decode._typed(orjson.dumps(plain[0]), SINGLE)) == [
        ("acme-ai", staged_row(validate(plain[0])))]


def test_what_the_fast_path_leaves_to_validate() -> None:
    extension = usage("e1", traceparent="00-abc")
    null_model = usage("e2", model=None)
    float_quantity = usage("e3", quantity=1.5)
    bad = usage("e4", purpose="ai-everything")
    for odd in (extension, null_model, float_quantity, bad):
        body = orjson.dumps([usage("ok"), odd])
        assert decode._typed(body, BATCH) is None
        assert comparable(decode.read(body, BATCH)) == slow_read(body, BATCH)
    [row] = decode.read(orjson.dumps([extension]), BATCH).rows
    assert orjson.loads(row[ROW_COLUMNS.index("extensions")]) == {
        "data": {"traceparent": "00-abc"}}


def test_a_repeated_key_reads_as_the_parser_reads_it() -> None:
    body = orjson.dumps(usage("first"))[:-1] + b',"id":"second"}'
    read = decode.read(body, SINGLE)
    assert comparable(read) == slow_read(body, SINGLE)
    assert read.rows[0][ROW_COLUMNS.index("event_id")] == "second"


@given(st.one_of(st.text(max_size=70), st.binary(max_size=40).map(bytes.hex),
                 st.binary(min_size=32, max_size=32).map(lambda b: b.hex().upper()),
                 st.binary(min_size=32, max_size=32).map(bytes.hex)))
def test_the_normal_form_of_a_sha256_is_exactly_64_lower_case_hex_digits(value: str) -> None:
    assert normal_sha256(value) == (len(value) == 64 and set(value) <= set("0123456789abcdef"))


def test_a_sha256_not_in_normal_form_is_not_taken_for_one() -> None:
    digest = sha("a")
    assert normal_sha256(digest)
    for odd in (digest.upper(), digest[:-1] + "G", " " + digest[1:], digest[:62] + " 0",
                digest[:-2], digest + "00", "é" * 64, None, 64):
        assert not normal_sha256(odd), odd
