"""Compressed message bodies (contract §3, extended): a producer may compress a body and
name the compression in the message's AMQP ``content-encoding`` property, as HTTP does
with Content-Encoding. The body, once decompressed, is the same structured-mode JSON.

- ``zstd`` (Zstandard frames, any number) and ``gzip`` (RFC 1952, any number of
  members; also ``x-gzip``) and ``deflate`` (RFC 1950 zlib data) are read.
- Any other content encoding is a character set, or nothing (py-amqp and kombu name
  ``utf-8`` or ``binary`` for plain bodies): the body is read as it is, as before.
- A body is decompressed only up to the message size limit: what would grow beyond it
  is refused as ``too_large`` without being inflated further (a small bomb stays small),
  and so is a compressed body already beyond it.
- gzip data is fed to zlib in slices (zlib copies what follows a member's end), and at
  most ``MAX_MEMBERS`` members are read: many tiny members cost no more than one body.
- Data that does not decompress is refused as ``malformed_json``: the body as a whole
  cannot be read. Either way the dead letter keeps the bytes as they came, with their
  content encoding, so that a replay reads them the same way.

A batch of usage events compresses about six to ten times (the identifiers are hex and
repeat their keys), which spares the broker most of the bytes it stores and moves.
"""

from __future__ import annotations

import zlib

import zstandard

from ledger.ingest.events import Reason, Rejected

ZSTD = "zstd"
GZIP = "gzip"
DEFLATE = "deflate"
_ZLIB_WINDOW = {GZIP: 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
                DEFLATE: zlib.MAX_WBITS}
COMPRESSIONS = frozenset({ZSTD, *_ZLIB_WINDOW})
MAX_MEMBERS = 64
_CHUNK = 1 << 20  # output read at a time (zstd)
_FEED = 64 << 10  # input given to zlib at a time


class _TooLarge(Exception):
    pass


def compression(content_encoding: str | None) -> str | None:
    """The compression a content encoding names, or None for a plain body."""
    if not content_encoding:
        return None
    name = content_encoding.strip().lower()
    return name if name in COMPRESSIONS else None


def compress(body: bytes, method: str) -> bytes:
    """``body`` compressed by ``method`` (one of ``COMPRESSIONS``): what a producer sends."""
    if method == ZSTD:
        return zstandard.ZstdCompressor(level=1).compress(body)
    if method in _ZLIB_WINDOW:
        packer = zlib.compressobj(1, zlib.DEFLATED, _ZLIB_WINDOW[method])
        return packer.compress(body) + packer.flush()
    raise ValueError(f"unknown compression {method!r}; use one of {sorted(COMPRESSIONS)}")


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes | Rejected:
    """The plain body of a message, or why it cannot be read (the raw bytes kept)."""
    method = compression(content_encoding)
    if method is None:
        return body
    if len(body) > limit:
        return Rejected(Reason.TOO_LARGE, f"{method} body of {len(body)} bytes exceeds the "
                                          f"{limit}-byte limit", raw=body)
    try:
        plain = _zstd(body, limit) if method == ZSTD else _zlib(body, method, limit)
    except _TooLarge:
        return Rejected(Reason.TOO_LARGE, f"{method} body decompresses to more than the "
                                          f"{limit}-byte limit", raw=body)
    except (zstandard.ZstdError, zlib.error, EOFError) as exc:
        return Rejected(Reason.MALFORMED_JSON, f"body is not valid {method} data: {exc}",
                        raw=body)
    return plain


def _zstd(body: bytes, limit: int) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
    parts, size = [], 0
    while chunk := reader.read(min(_CHUNK, limit + 1 - size)):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _TooLarge
    if not size and body:
        # stream_reader ends quietly on a header it cannot read: say what is wrong with it
        zstandard.ZstdDecompressor().decompress(body)
    return b"".join(parts)


def _zlib(body: bytes, method: str, limit: int) -> bytes:
    view = memoryview(body)
    parts, size, at, members = [], 0, 0, 0
    unpacker = zlib.decompressobj(_ZLIB_WINDOW[method])
    data: bytes | memoryview = b""
    while data or at < len(body):
        if not data:
            data, at = view[at:at + _FEED], at + _FEED
        if unpacker.eof:  # the member before ended: data starts the next one
            if method == DEFLATE:
                raise zlib.error("data follows the end of the zlib stream")
            members += 1
            if members >= MAX_MEMBERS:
                raise zlib.error(f"more than {MAX_MEMBERS} gzip members")
            unpacker = zlib.decompressobj(_ZLIB_WINDOW[method])
        chunk = unpacker.decompress(data, limit + 1 - size)
        parts.append(chunk)
        size += len(chunk)
        if size > limit or unpacker.unconsumed_tail:
            raise _TooLarge
        data = unpacker.unused_data if unpacker.eof else b""
    if body and not unpacker.eof:  # every member was fed data: the last one must end
        raise EOFError("the compressed data ends early")
    return b"".join(parts)
