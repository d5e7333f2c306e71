"""Normal forms of ``pdq`` and ``iscc`` values and every reason a value is refused."""

from __future__ import annotations

import pytest

from ledger.fingerprints import codes

TEXT_ISCC = "ISCC:KAA4GIABX22GNPUJGIYI2B3ZXMCHZ66CWBIW52DUJU"


def test_pdq_is_64_lower_case_hex() -> None:
    assert codes.normal_pdq("AB" * 32) == "ab" * 32


@pytest.mark.parametrize(("value", "reason"), [
    ("ab" * 31, "64 hex digits.*not 62"),
    ("ab" * 33, "not 66"),
    ("zz" * 32, "hex digits only"),
    (12, "string"),
])
def test_a_bad_pdq_says_why(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        codes.normal_pdq(value)


@pytest.mark.parametrize("value", [-1, 101, 50.5, True, "80"])
def test_pdq_quality_is_0_to_100(value: object) -> None:
    with pytest.raises(ValueError, match="0 to 100"):
        codes.pdq_quality(value)


def test_an_iscc_code_decodes_into_its_units() -> None:
    units = codes.units_of(TEXT_ISCC.lower().replace("iscc:", "ISCC:"))
    assert units.content_type == "text" and len(units.content) == 16
    assert codes.normal_iscc(" " + TEXT_ISCC.lower() + " ") == TEXT_ISCC


@pytest.mark.parametrize(("value", "reason"), [
    ("KAA4GIABX22GNPUJ", "start with 'ISCC:'"),
    ("ISCC:ZZZZZZZZZZZZ", "does not decode"),
    ("ISCC:AAAAAAAAAAAAAAAA", "does not decode"),
    ("ISCC:MEAAAAAAAAAAAAAA", "unknown type"),
    ("ISCC:GAATEMENA543WBD4", "neither an Instance-Code nor a Content-Code"),
])
def test_a_bad_iscc_says_why(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        codes.units_of(value)
