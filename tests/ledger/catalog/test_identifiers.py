from __future__ import annotations

import pytest

from ledger.catalog.identifiers import canonical_url, normalise


@pytest.mark.parametrize(("raw", "canonical"), [
    ("HTTPS://Example.ORG:443/A.jpg#frag", "https://example.org/A.jpg"),
    ("http://example.org:80/x?q=1", "http://example.org/x?q=1"),
    ("http://example.org:8080/x", "http://example.org:8080/x"),
    ("https://example.org", "https://example.org"),
])
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


def test_normal_forms() -> None:
    assert normalise("sha256", "AB" * 32) == "ab" * 32
    assert normalise("isrc", "us-rc1-76-07839") == "USRC17607839"
    assert normalise("iswc", "T-034.524.680-1") == "T0345246801"
    assert normalise("isbn", "978-3-16-148410-0") == "9783161484100"
    assert normalise("doi", "https://doi.org/10.1000/XYZ123") == "10.1000/xyz123"


@pytest.mark.parametrize(("kind", "value"), [
    ("sha256", "abc"), ("url", "/relative/path"), ("isrc", "nope"), ("isbn", "12"),
    ("doi", "11.1/x"), ("fingerprint", "x"), ("sha256", 12),
])
def test_bad_identifiers(kind: str, value: object) -> None:
    with pytest.raises(ValueError):
        normalise(kind, value)
