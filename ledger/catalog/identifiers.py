"""Normal forms of the identifiers that match a used item to a registered work."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

from ledger.fingerprints.codes import normal_iscc, normal_pdq

IDENTIFIER_KINDS = ("sha256", "url", "isrc", "iswc", "isbn", "doi", "c2pa", "phash", "simhash",
                    "pdq", "iscc")
# The content fingerprints of contract §8: matched also when similar.
FINGERPRINT_KINDS = ("pdq", "iscc")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
_ISWC = re.compile(r"T[0-9]{10}")
_ISBN = re.compile(r"[0-9]{9}[0-9X]|[0-9]{13}")
_DOI = re.compile(r"10\.[0-9]{4,9}/\S+")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}


# Already canonical: lower-case http(s) scheme and host, no port, no user, no fragment.
_CANONICAL = re.compile(r"https?://[a-z0-9.-]+(?:[/?][^#\s]*)?")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment (contract §2)."""
    if _CANONICAL.fullmatch(url):
        return url  # the common case, on the hot path: nothing to change
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc or not parts.hostname:
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in URL: {url!r}") from exc
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def normalise(kind: str, value: object) -> str:
    """The normal form of one identifier, or ``ValueError`` saying why it is not one."""
    if kind not in IDENTIFIER_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r} (known: {', '.join(IDENTIFIER_KINDS)})")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{kind} must be a non-empty string")
    raw = value.strip()
    if kind == "pdq":
        return normal_pdq(raw)
    if kind == "iscc":
        return normal_iscc(raw)
    if kind == "url":
        return canonical_url(raw)
    if kind in ("sha256", "phash", "simhash"):
        lowered = raw.lower()
        pattern = _HEX64 if kind == "sha256" else _HEX16
        if not pattern.fullmatch(lowered):
            width = 64 if kind == "sha256" else 16
            raise ValueError(f"{kind} must be {width} hex digits")
        return lowered
    if kind == "isrc":
        compact = raw.replace("-", "").upper()
        if not _ISRC.fullmatch(compact):
            raise ValueError("isrc must be 12 characters: CC-XXX-YY-NNNNN")
        return compact
    if kind == "iswc":
        compact = re.sub(r"[-.\s]", "", raw).upper()
        if not _ISWC.fullmatch(compact):
            raise ValueError("iswc must be T followed by 10 digits")
        return compact
    if kind == "isbn":
        compact = re.sub(r"[-\s]", "", raw).upper()
        if not _ISBN.fullmatch(compact):
            raise ValueError("isbn must be 10 or 13 digits")
        return compact
    if kind == "doi":
        lowered = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", raw, flags=re.IGNORECASE).lower()
        if not _DOI.fullmatch(lowered):
            raise ValueError("doi must look like 10.NNNN/suffix")
        return lowered
    return raw  # c2pa manifest URN: compared as given


# A work's identifiers: one value per kind, or several (contract §8: a work has many
# renditions) as a sorted tuple without repeats.
Identifiers = dict[str, "str | tuple[str, ...]"]


def normalise_all(identifiers: object) -> tuple[Identifiers, list[str]]:
    """Normal forms of a work's ``{kind: value or [values]}`` object, and every reason it
    is bad."""
    if not isinstance(identifiers, dict) or not identifiers:
        return {}, ["identifiers must be an object with at least one identifier"]
    out: Identifiers = {}
    errors: list[str] = []
    for kind, value in identifiers.items():
        values = value if isinstance(value, list) else [value]
        if not values:
            errors.append(f"identifiers.{kind}: an empty list names nothing")
            continue
        normal: set[str] = set()
        for position, one in enumerate(values):
            where = f"identifiers.{kind}" + (f"[{position}]" if isinstance(value, list) else "")
            try:
                normal.add(normalise(kind, one))
            except ValueError as exc:
                errors.append(f"{where}: {exc}")
        if normal:
            out[kind] = next(iter(normal)) if len(normal) == 1 else tuple(sorted(normal))
    return out, errors


def pairs(identifiers: Mapping[str, str | tuple[str, ...]]) -> Iterator[tuple[str, str]]:
    """Each (kind, value) of a work's identifiers, lists flattened."""
    for kind, value in identifiers.items():
        if isinstance(value, str):
            yield kind, value
        else:
            yield from ((kind, one) for one in value)
