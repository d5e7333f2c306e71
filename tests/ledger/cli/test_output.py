"""JSON and CSV as the CLI writes them: Decimals as exact strings, times in RFC 3339."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ledger.cli.output import dumps, to_csv, to_jsonable

VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=8),
              st.decimals(allow_nan=False, allow_infinity=False, places=9),
              st.dates(), st.datetimes(min_value=datetime(1972, 1, 1), timezones=st.sampled_from(
                  [UTC, ZoneInfo("Europe/Paris"), timezone(timedelta(hours=-5))]))),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.integers(),
                                                      st.none()), inner, max_size=3)),
    max_leaves=12)


# From 1972: orjson writes a UTC offset to the minute, and offsets with seconds are the
# local mean times of the 19th and early 20th centuries, not ledger timestamps.
@given(VALUES)
def test_json_is_what_the_standard_encoder_writes_of_the_jsonable_form(value) -> None:
    assert dumps(value) == json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n"


def test_a_statement_line_in_json_and_csv() -> None:
    line = {"work": "w1", "licensee": "acme", "model": None, "purpose": "ai-train",
            "usage_period": "2026-09", "events": 2, "quantity": Decimal("10"), "unit": "uses",
            "amount": Decimal("0.019550000")}
    assert json.loads(dumps({"at": datetime(2026, 9, 1, tzinfo=UTC), "day": date(2026, 9, 1),
                             "lines": [line]})) == {
        "at": "2026-09-01T00:00:00Z", "day": "2026-09-01",
        "lines": [{**line, "quantity": "10", "amount": "0.019550000"}]}
    [row] = list(csv.DictReader(io.StringIO(to_csv([line]))))
    assert row == {**{k: str(v) for k, v in line.items()}, "model": ""}
