"""Compressed bodies: what a producer compresses reads back byte for byte, never beyond
the size limit, and data that does not decompress is refused with its bytes kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.ingest.encoding import COMPRESSIONS, compress, compression, decompress
from ledger.ingest.events import Reason, Rejected
from ledger.ingest.store import Message, plain

METHODS = sorted(COMPRESSIONS - {"x-gzip"})


@given(st.sampled_from(METHODS), st.binary(max_size=4000), st.integers(0, 5000))
def test_a_compressed_body_reads_back_exactly_within_the_limit(method, body, limit) -> None:
    packed = compress(body, method)
    read = decompress(packed, method, limit)
    if len(body) <= limit and len(packed) <= limit:
        assert read == body
    else:
        assert isinstance(read, Rejected) and read.reason == Reason.TOO_LARGE


@given(st.sampled_from(["zstd", "gzip"]), st.lists(st.binary(max_size=500), min_size=1,
                                                    max_size=4))
def test_concatenated_frames_and_members_read_as_one_body(method, parts) -> None:
    body = b"".join(compress(part, method) for part in parts)
    assert decompress(body, method, 10_000) == b"".join(parts)


def test_a_bomb_is_refused_without_inflating_it() -> None:
    bomb = compress(b"\0" * (64 << 20), "zstd")
    assert len(bomb) < 64 << 10
    refused = decompress(bomb, "zstd", 1 << 20)
    assert isinstance(refused, Rejected) and refused.reason == Reason.TOO_LARGE
    assert refused.raw == bomb and "1048576-byte limit" in refused.detail


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_data_that_does_not_decompress_is_malformed(method, damage) -> None:
    good = compress(b'[{"id": "x"}]' * 50, method)
    body = good[: len(good) // 2] if damage == "truncated" else b"not compressed at all"
    refused = decompress(body, method, 1 << 20)
    assert isinstance(refused, Rejected) and refused.reason == Reason.MALFORMED_JSON
    assert refused.raw == body and method in refused.detail


@pytest.mark.parametrize("encoding", [None, "", "utf-8", "binary", "latin-1"])
def test_a_plain_body_is_read_as_it_is(encoding) -> None:
    assert compression(encoding) is None
    message = Message(b"[1]", "application/json", "usage.x", encoding)
    assert plain(message, 10) is message


def test_a_message_is_decompressed_once_and_kept_as_it_came_when_it_cannot_be() -> None:
    body = compress(b"[]", "gzip")
    assert plain(Message(body, "t", "k", "GZIP"), 100) == Message(b"[]", "t", "k", None)
    broken = Message(body[:-3], "t", "k", "GZIP")
    kept = plain(broken, 100)
    assert kept == broken and kept.refused.reason == Reason.MALFORMED_JSON
    assert kept.kept_encoding == "gzip" and plain(kept, 100) is kept


def test_gzip_members_are_capped_and_cost_no_more_than_one_body() -> None:
    import gzip
    import time

    from ledger.ingest.encoding import MAX_MEMBERS

    member = gzip.compress(b"[1]")
    assert decompress(member * MAX_MEMBERS, "gzip", 1 << 20) == b"[1]" * MAX_MEMBERS
    refused = decompress(member * (MAX_MEMBERS + 1), "gzip", 1 << 20)
    assert isinstance(refused, Rejected) and "more than 64 gzip members" in refused.detail
    empty = gzip.compress(b"") * 500_000  # 10 MB of empty members
    started = time.process_time()
    assert isinstance(decompress(empty, "gzip", 16 << 20), Rejected)
    assert time.process_time() - started < 1


def test_a_compressed_body_beyond_the_limit_is_too_large_before_it_is_read() -> None:
    body = compress(bytes(range(256)) * 64, "zstd")
    refused = decompress(body, "zstd", len(body) - 1)
    assert isinstance(refused, Rejected) and refused.reason == Reason.TOO_LARGE
    assert "zstd body of" in refused.detail


def test_an_unknown_compression_is_refused_by_the_producer_side() -> None:
    with pytest.raises(ValueError, match="unknown compression 'br'"):
        compress(b"", "br")
