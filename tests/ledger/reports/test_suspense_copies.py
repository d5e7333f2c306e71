"""The suspense report gathers the near-duplicate copies of one unregistered item on one
line: the rule (``gather_copies``) on its own, and the report on real photographs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.fingerprints.files import fingerprint
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.reports.usage_reports import gather_copies
from tests.builders import jsonl, licensee
from tests.ingest_helpers import usage
from tests.media import jpeg_copy, photograph

T0, T1 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)


def _line(value: str, events: int, licensees: list[str], at: datetime = T0,
          kind: str = "pdq") -> dict:
    return {"identifier": kind, "value": value, "events": events,
            "quantity": Decimal(events), "licensees": licensees, "first_used": at,
            "last_used": at}


def test_copies_join_the_line_of_the_most_used_and_are_never_chained() -> None:
    # a and b look alike, b and c too, a and c do not: c starts a line of its own
    lines = gather_copies(
        [_line("c", 2, ["lumen"]), _line("a", 5, ["acme"]), _line("b", 3, ["zeta"], T1),
         _line("d", 9, ["acme"], kind="sha256")],
        [("pdq", "a", "b", 12), ("pdq", "b", "c", 20)])
    assert [(g["value"], g["events"], g["copies"], g["max_distance"], g["licensees"])
            for g in lines] == [("d", 9, 1, None, ["acme"]), ("a", 8, 2, 12, ["acme", "zeta"]),
                                ("c", 2, 1, None, ["lumen"])]
    assert (lines[1]["first_used"], lines[1]["last_used"]) == (T0, T1)
    assert lines[1]["quantity"] == Decimal(8)


def test_a_copy_joins_the_nearest_line_then_the_more_used() -> None:
    lines = gather_copies([_line("a", 5, ["x"]), _line("b", 4, ["x"]), _line("c", 1, ["x"]),
                           _line("e", 1, ["x"])],
                          [("pdq", "a", "c", 20), ("pdq", "b", "c", 10),
                           ("pdq", "a", "e", 7), ("pdq", "b", "e", 7)])
    assert [(g["value"], g["events"]) for g in lines] == [("a", 6), ("b", 5)]


def test_kinds_are_gathered_apart() -> None:
    lines = gather_copies([_line("v", 2, ["x"]), _line("v", 1, ["x"], kind="iscc")],
                          [("iscc", "v", "w", 3)])
    assert [(g["identifier"], g["copies"]) for g in lines] == [("pdq", 1), ("iscc", 1)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=12),
       st.sets(st.tuples(st.integers(0, 11), st.integers(0, 11), st.integers(0, 31))))
def test_every_event_is_on_one_line_near_the_fingerprint_that_names_it(events, links) -> None:
    values = [f"v{i:02d}" for i in range(len(events))]
    groups = [_line(v, n, [f"l{n}"]) for v, n in zip(values, events, strict=True)]
    pairs = {(values[min(a, b)], values[max(a, b)]): d for a, b, d in links
             if a != b and max(a, b) < len(values)}
    lines = gather_copies(groups, [("pdq", a, b, d) for (a, b), d in pairs.items()])
    assert sum(g["events"] for g in lines) == sum(events)
    assert sum(g["copies"] for g in lines) == len(values)
    assert [(-g["events"], g["value"]) for g in lines] == sorted(
        (-g["events"], g["value"]) for g in lines)
    # recomputed independently: each fingerprint, from the most used down, on the line of
    # the nearest earlier line-starter within reach, else starting one
    starters: list[str] = []
    owner: dict[str, str] = {}
    for v, n in sorted(zip(values, events, strict=True), key=lambda x: (-x[1], x[0])):
        reach = [(pairs.get((min(v, s), max(v, s))), i, s) for i, s in enumerate(starters)]
        reach = [r for r in reach if r[0] is not None]
        owner[v] = min(reach)[2] if reach else v
        if not reach:
            starters.append(v)
    assert {g["value"] for g in lines} == set(starters)
    for g in lines:
        members = [v for v in values if owner[v] == g["value"]]
        assert g["events"] == sum(n for v, n in zip(values, events, strict=True) if owner[v] == g["value"])
        assert g["copies"] == len(members)
        assert g["max_distance"] == (max(pairs[(min(v, g["value"]), max(v, g["value"]))]
                                         for v in members if v != g["value"])
                                     if len(members) > 1 else None)


def test_the_report_puts_the_copies_of_one_unregistered_photograph_on_one_line(
        cli, ledger, tmp_path: Path) -> None:
    assert cli("import", "licensees", "-",
               input=jsonl([licensee("acme-ai"), licensee("lumen")])).code == 0
    prints = {}
    for name, img in {"rocket-half": jpeg_copy(photograph("rocket"), 85, 0.5),
                      "rocket-q50": jpeg_copy(photograph("rocket"), 50),
                      "rocket-gray": photograph("rocket").convert("L"),
                      "camera": jpeg_copy(photograph("camera"), 85)}.items():
        img.save(tmp_path / f"{name}.png")
        prints[name] = fingerprint(tmp_path / f"{name}.png").as_identifiers()
    assert len({prints[n]["pdq"] for n in prints}) == 4
    events = [usage("h1", item={"pdq": prints["rocket-half"]["pdq"]}),
              usage("h2", item={"pdq": prints["rocket-half"]["pdq"]}),
              usage("q1", item={"pdq": prints["rocket-q50"]["pdq"]}, licensee="lumen"),
              usage("g1", item={"pdq": prints["rocket-gray"]["pdq"], "pdq_quality": 10}),
              usage("c1", item={"pdq": prints["camera"]["pdq"]}),
              usage("s1", item={"sha256": "ab" * 32})]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH, "usage.acme-ai")],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.commit()
    rows = orjson.loads(cli("report", "suspense", "--format", "json").stdout)
    by_value = {r["value"]: r for r in rows}
    rocket = by_value[prints["rocket-half"]["pdq"]]
    assert (rocket["events"], rocket["copies"], rocket["licensees"]) == (3, 2, ["acme-ai", "lumen"])
    assert 0 < rocket["max_distance"] <= 31
    # the grayscale copy's hash is of low quality: never matched, so never gathered either
    assert by_value[prints["rocket-gray"]["pdq"]]["copies"] == 1
    assert by_value[prints["camera"]["pdq"]]["copies"] == 1
    assert len(rows) == 4 and rows[0]["value"] == prints["rocket-half"]["pdq"]
    table = cli("report", "suspense")
    assert table.code == 0 and "copies" in table.stdout
