"""`royalty import` against the real PostgreSQL: all-or-nothing, every bad row reported."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.builders import creator, jsonl, license, licensee, sha, work


def count(ledger, table: str) -> int:
    with ledger.connect() as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def catalog(cli):
    """alice and bob, one licensee, one 70/30 work and a catalog license."""
    assert cli("import", "creators", "-", input=jsonl([
        creator("alice", opt_out=["ai-input"]), creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w-0001", {"alice": "0.7", "bob": "0.3"})])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("acme-train-2026")])).code == 0
    return cli


def test_import_then_list(catalog, tmp_path) -> None:
    listed = json.loads(catalog("creators", "list", "--format", "json").stdout)
    assert [(c["creator"], c["opt_out"], c["works"]) for c in listed] == [
        ("alice", ["ai-input"], 1), ("bob", [], 1)]
    shown = json.loads(catalog("works", "show", "w-0001", "--format", "json").stdout)
    assert shown["identifiers"]["sha256"] == sha("w-0001")
    assert shown["splits"] == [{"effective_from": None, "shares": [
        {"creator": "alice", "share": "0.7"}, {"creator": "bob", "share": "0.3"}]}]
    licenses = json.loads(catalog("licenses", "list", "--format", "json").stdout)
    assert licenses[0]["price"] == "0.0023" and licenses[0]["platform_fee"] == "0.15"
    table = catalog("licenses", "list")
    assert "acme-train-2026" in table.stdout and table.code == 0
    out = tmp_path / "creators.csv"
    assert catalog("creators", "list", "--format", "csv", "--output", str(out)).code == 0
    assert out.read_text().splitlines()[0].startswith("creator,name,email,currency")


def test_reimport_unchanged_is_a_no_op(catalog, ledger, tmp_path) -> None:
    path = tmp_path / "works.jsonl"
    path.write_text(jsonl([work("w-0001", {"alice": "0.7", "bob": "0.3"})]))
    result = catalog("import", "works", str(path))
    assert result.code == 0 and "1 unchanged" in result.stdout
    result = catalog("import", "licenses", "-", input=jsonl([license("acme-train-2026")]))
    assert "1 unchanged" in result.stdout
    assert count(ledger, "split_version") == 1 and count(ledger, "license") == 1


def test_changed_splits_with_effective_from_make_a_new_version(catalog, ledger) -> None:
    changed = work("w-0001", {"alice": "0.5", "bob": "0.5"},
                   effective_from="2026-06-01T00:00:00Z")
    assert catalog("import", "works", "-", input=jsonl([changed])).code == 0
    again = catalog("import", "works", "-", input=jsonl([changed]))
    assert "1 unchanged" in again.stdout
    shown = json.loads(catalog("works", "show", "w-0001", "--format", "json").stdout)
    assert [v["effective_from"] for v in shown["splits"]] == [None, "2026-06-01T00:00:00Z"]
    assert count(ledger, "split_version") == 2


def test_changed_splits_without_effective_from_are_refused(catalog) -> None:
    result = catalog("import", "works", "-", input=jsonl([work("w-0001", {"alice": "1"})]))
    assert result.code == 2
    assert "line 1: splits of work 'w-0001' changed: give effective_from" in result.stderr


def test_the_database_refuses_shares_not_summing_to_one(catalog, ledger) -> None:
    with ledger.connect() as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE split_share SET share = 0.6")
        conn.commit()


BAD_INPUT = {
    "malformed JSON": ("creators", ['{"creator": "carol", "name": '],
                       "line 1: malformed JSON"),
    "split to an unknown creator": ("works", [work("w-9", {"zed": "1"})],
                                    "line 1: splits: unknown creator 'zed'"),
    "license for an unknown licensee": ("licenses", [license("l-9", "nobody")],
                                        "line 1: licensee: unknown licensee 'nobody'"),
    "scope work that does not exist": (
        "licenses", [license("l-9", scope={"works": ["w-404"]})],
        "line 1: scope.works: unknown work 'w-404'"),
    "scope creator that does not exist": (
        "licenses", [license("l-9", scope={"creators": ["zed"]})],
        "line 1: scope.creators: unknown creator 'zed'"),
    "shares over-claim": ("works", [work("w-9", {"alice": "0.7", "bob": "0.4"})],
                          "sum to 1.1, not 1 (over-claim)"),
    "shares under-claim": ("works", [work("w-9", {"alice": "0.7", "bob": "0.2"})],
                           "sum to 0.9, not 1 (under-claim)"),
    "negative price": ("licenses", [license("l-9", price="-0.01")],
                       "line 1: rate.price: must be at least 0 (got -0.01)"),
    "lower-case or short currency": (
        "licenses", [license("l-9", currency="US")],
        "line 1: currency: 'US' is not a three-letter currency code such as USD"),
    "no purposes": ("licenses", [{**license("l-9"), "purposes": []}],
                    "line 1: purposes: needs at least 1 entry"),
    "no splits": ("works", [{**work("w-9"), "splits": []}],
                  "line 1: splits: needs at least 1 entry"),
    "key with a space": ("creators", [creator("carol doe")],
                         "line 1: creator: 'carol doe' is not a key: a letter or digit"),
    "non-numeric price": ("licenses", [license("l-9", price="cheap")],
                          "line 1: rate.price: 'cheap' is not a decimal number"),
    "unknown purpose": ("licenses", [license("l-9", purposes=["ai-dream"])],
                        "line 1: purposes.0: unknown usage token 'ai-dream'"),
    "unknown opt-out token": ("creators", [creator("carol", opt_out=["nap"])],
                              "line 1: opt_out.0: unknown usage token 'nap'"),
    "invalid timestamp": ("licenses", [license("l-9", valid_from="next tuesday")],
                          "line 1: valid_from: 'next tuesday' is not an RFC 3339 timestamp"),
    "valid_until not after valid_from": (
        "licenses", [license("l-9", valid_from="2026-05-01T00:00:00Z",
                             valid_until="2026-05-01T00:00:00Z")],
        "line 1: valid_until must be after valid_from"),
    "duplicate keys within one file": (
        "creators", [creator("carol"), creator("carol")],
        "line 2: duplicate creator 'carol' (first on line 1)"),
    "empty file": ("works", [], "the file has no rows"),
    "identifier claimed by another work": (
        "works", [{**work("w-9"), "identifiers": {"sha256": sha("w-0001")}}],
        "'w-0001', not 'w-9'"),
    "overlapping license of the same specificity": (
        "licenses", [license("l-9", purposes=["ai-all"], valid_from="2026-06-01T00:00:00Z")],
        "overlaps license 'acme-train-2026'"),
    "unknown field": ("licensees", [licensee("zeta", phone="555")], "line 1: phone: unknown field"),
    "bad identifier": ("works", [{**work("w-9"), "identifiers": {"sha256": "xyz"}}],
                       "identifiers.sha256: sha256 must be 64 hex digits"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_reported_and_nothing_is_written(catalog, ledger, case: str) -> None:
    kind, rows, reason = BAD_INPUT[case]
    tables = ("creator", "work", "work_identifier", "split_version", "licensee", "license")
    before = {t: count(ledger, t) for t in tables}
    good_first = {"creators": creator("dora"), "works": work("w-good", {"bob": "1"}),
                  "licensees": licensee("good-co"),
                  "licenses": license("l-good", purposes=["search"])}[kind]
    result = catalog("import", kind, "-", input=jsonl([good_first, *rows] if rows else []))
    assert result.code == 2, result
    expected = reason.replace("line 1:", "line 2:").replace("line 2: duplicate", "line 3: duplicate")
    expected = expected.replace("(first on line 1)", "(first on line 2)")
    assert expected in result.stderr
    assert "nothing was written" in result.stderr
    assert {t: count(ledger, t) for t in tables} == before


def test_every_bad_row_is_reported_at_once(catalog) -> None:
    result = catalog("import", "licenses", "-", input=jsonl([
        license("a", "nobody"), "not json", license("b", price="x"), license("c", "ghost")]))
    assert result.code == 2
    for line in ("line 1: licensee: unknown licensee 'nobody'", "line 2: malformed JSON",
                 "line 3: rate.price", "line 4: licensee: unknown licensee 'ghost'"):
        assert line in result.stderr


def test_two_works_in_one_file_claiming_one_identifier(catalog) -> None:
    twin = {**work("w-b"), "identifiers": {"sha256": sha("w-a")}}
    result = catalog("import", "works", "-", input=jsonl([work("w-a"), twin]))
    assert result.code == 2
    assert "claimed by both work 'w-a' (line 1) and work 'w-b'" in result.stderr


def test_missing_file_is_a_usage_error(cli) -> None:
    result = cli("import", "works", "/nonexistent/works.jsonl")
    assert result.code == 2 and "/nonexistent/works.jsonl" in result.stderr
