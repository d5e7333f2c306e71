"""Normal forms and distances of the content fingerprints of contract §8.

``pdq`` is Meta's 256-bit PDQ image hash, 64 lower-case hex digits. ``iscc`` is an ISO
24138 code (``ISCC:`` + base32), one unit or a composite ISCC-CODE; it is decoded with
``iscc-core``, the reference implementation, and its units are compared separately: the
Instance-Code exactly, the Content-Code by Hamming distance within one media type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import iscc_core

PDQ_BITS = 256
# Contract §8: a PDQ hash of lower quality is kept but never matched by similarity.
PDQ_MIN_QUALITY = 50
_HEX64 = re.compile(r"[0-9a-f]{64}")

# The media types of an ISCC Content-Code (its subtype), by name.
CONTENT_TYPES = {int(t): t.name.lower() for t in iscc_core.ST_CC}
_UNIT_TYPES = {iscc_core.MT.CONTENT, iscc_core.MT.DATA, iscc_core.MT.INSTANCE,
               iscc_core.MT.META, iscc_core.MT.SEMANTIC}


def normal_pdq(value: object) -> str:
    """The normal form of a PDQ hash, or ``ValueError`` saying why it is not one."""
    if not isinstance(value, str):
        raise ValueError("pdq must be a string of 64 hex digits")
    lowered = value.strip().lower()
    if len(lowered) != 64:
        raise ValueError(f"pdq must be 64 hex digits (256 bits), not {len(lowered)}")
    if not _HEX64.fullmatch(lowered):
        raise ValueError("pdq must be hex digits only (0-9, a-f)")
    return lowered


def pdq_quality(value: object) -> int:
    """A PDQ quality (0-100), or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"pdq_quality must be a whole number from 0 to 100, not {value!r}")
    return value


@dataclass(frozen=True)
class IsccUnits:
    """What matching reads of an ISCC: its Instance-Code (hex of its body, compared
    exactly) and its Content-Code (media type and hex body, compared by distance)."""

    instance: str | None
    content_type: str | None
    content: str | None


def normal_iscc(value: object) -> str:
    """The normal form (``ISCC:`` + upper-case base32) of an ISCC, or ``ValueError``
    saying why it does not decode."""
    units_of(value)
    return "ISCC:" + str(value).strip()[5:].upper()


def units_of(value: object) -> IsccUnits:
    """An ISCC's units, or ``ValueError`` saying why it does not decode."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("iscc must be a non-empty string")
    raw = value.strip()
    if not raw.upper().startswith("ISCC:"):
        raise ValueError("iscc must start with 'ISCC:'")
    code = "ISCC:" + raw[5:].upper()
    try:
        iscc_core.iscc_validate(code, strict=True)
        head = iscc_core.Code(code)
        units = ([iscc_core.Code(u) for u in iscc_core.iscc_decompose(code)]
                 if head.maintype == iscc_core.MT.ISCC else [head])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"iscc does not decode: {exc}") from None
    instance = content = content_type = None
    for unit in units:
        if unit.maintype not in _UNIT_TYPES:
            raise ValueError(f"iscc unit of an unknown type: {unit.type_id}")
        if unit.maintype == iscc_core.MT.INSTANCE:
            instance = unit.hash_hex
        elif unit.maintype == iscc_core.MT.CONTENT:
            if int(unit.subtype) not in CONTENT_TYPES:
                raise ValueError(f"iscc unit of an unknown type: {unit.type_id}")
            content_type = CONTENT_TYPES[int(unit.subtype)]
            content = unit.hash_hex[:16]  # the first 64 bits: what every Content-Code has
    if instance is None and content is None:
        raise ValueError("iscc has neither an Instance-Code nor a Content-Code to match")
    return IsccUnits(instance, content_type, content)


def hamming(a: str, b: str) -> int:
    """The Hamming distance of two hex strings of one length (the reference model of the
    SQL's ``bit_count(a # b)``)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
