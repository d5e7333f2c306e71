"""Retiring works, licenses and creators (issue 19), through the installed `royalty`
command and by re-import: from the moment of retirement a work matches no use and a
license covers none; uses before it stay as booked; later uses, stored already or sent
afterwards, are re-evaluated (held in suspense, or unlicensed)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from ledger.matching import reevaluation
from tests.builders import creator, expected_net, license, licensee, sha, work
from tests.ingest_helpers import imported, ingested, scalar, usage
from tests.ledger.cli.test_exit_codes import royalty

SOURCE = "urn:acme-ai:pipeline:test"
OCTOBER, NOVEMBER = "2026-10-10T00:00:00Z", "2026-11-10T00:00:00Z"
RETIRED = "2026-11-01T00:00:00Z"


def _outcome(ledger, event_id: str) -> str:  # noqa: ANN001
    return scalar(ledger, "SELECT outcome FROM usage_event WHERE event_id = %s", event_id)


def _reevaluate(ledger) -> None:  # noqa: ANN001 - what the worker does on the import's request
    with ledger.connect() as conn:
        reevaluation.drain(conn)


def _uses(work_key: str) -> list[dict]:
    return [usage(f"{work_key}-{month}", item={"sha256": sha(work_key)}, time_=at)
            for month, at in (("oct", OCTOBER), ("nov", NOVEMBER))]


@pytest.fixture
def catalog(ledger, cli):  # noqa: ANN001, ANN201
    imported(cli, "creators", [creator("alice"), creator("bob")])
    imported(cli, "licensees", [licensee("acme-ai")])
    imported(cli, "works", [work("w-1"), work("w-2"), work("w-3", {"bob": "1"}),
                           work("w-4", {"alice": "0.5", "bob": "0.5"}),
                           work("w-5", {"alice": "1"})])
    imported(cli, "licenses", [license("acme-all", valid_from="2026-01-01T00:00:00Z",
                                      valid_until=None)])
    ingested(ledger, [u for key in ("w-1", "w-2", "w-3", "w-4", "w-5") for u in _uses(key)])
    assert _outcome(ledger, "w-1-nov") == "accrued"
    return ledger


def test_a_retired_work_matches_no_use_after_its_retirement(catalog, cli) -> None:
    result = royalty("works", "retire", "w-1", "--at", RETIRED)
    assert result.returncode == 0, result.stderr
    assert "retired work 'w-1'" in result.stdout
    row = {**work("w-2"), "retired": RETIRED}  # the same by re-import
    imported(cli, "works", [row])
    _reevaluate(catalog)
    for key in ("w-1", "w-2"):
        assert _outcome(catalog, f"{key}-oct") == "accrued"  # history stays
        assert _outcome(catalog, f"{key}-nov") == "unmatched"
    ingested(catalog, [usage("w-1-late", item={"sha256": sha("w-1")},
                            time_="2026-11-20T00:00:00Z")])
    assert _outcome(catalog, "w-1-late") == "unmatched"
    shown = cli("works", "show", "w-1")
    assert "retired: 2026-11-01 00:00 UTC" in shown.stdout
    # a re-import without "retired" leaves it retired; "retired": null brings it back
    imported(cli, "works", [work("w-1")])
    assert _outcome(catalog, "w-1-nov") == "unmatched"
    imported(cli, "works", [{**work("w-1"), "retired": None}])
    _reevaluate(catalog)
    assert _outcome(catalog, "w-1-nov") == "accrued" and _outcome(catalog, "w-1-late") == "accrued"


def test_a_retired_license_covers_no_use_after_it(catalog, cli) -> None:
    before = json.loads(cli("report", "balances", "--format", "json").stdout)
    result = royalty("licenses", "retire", "acme-all", "--at", RETIRED)
    assert result.returncode == 0, result.stderr
    _reevaluate(catalog)
    assert _outcome(catalog, "w-1-oct") == "accrued"
    assert _outcome(catalog, "w-1-nov") == "unlicensed"
    shown = json.loads(cli("events", "show", SOURCE, "w-1-nov", "--format", "json").stdout)
    [change] = shown["reevaluations"]
    assert (change["old_outcome"], change["new_outcome"], change["old_license"],
            change["new_license"]) == ("accrued", "unlicensed", "acme-all", None)
    assert Decimal(change["old_net"]) == expected_net("1", "0.0023", "0.15")
    table = royalty("events", "show", SOURCE, "w-1-nov", COLUMNS="200")
    assert "Re-evaluations" in table.stdout and "unlicensed" in table.stdout
    listing = royalty("licenses", "list", COLUMNS="200")
    assert "2026-11-01 00:00 UTC" in listing.stdout
    # a replacement from the moment of retirement does not overlap it
    imported(cli, "licenses", [license("acme-new", valid_from=RETIRED, valid_until=None,
                                 price="0.0050")])
    _reevaluate(catalog)
    assert _outcome(catalog, "w-1-nov") == "accrued"
    after = json.loads(cli("report", "balances", "--format", "json").stdout)
    old, new = expected_net("1", "0.0023", "0.15"), expected_net("1", "0.0050", "0.15")
    # alice: w-1, w-2, w-5 whole and half of w-4, each once in October and once in November
    assert Decimal(before[0]["balance"]) == Decimal("3.5") * 2 * old
    assert Decimal(after[0]["balance"]) == Decimal("3.5") * (old + new)


def test_a_retired_creator_retires_the_works_it_is_named_in(catalog, cli) -> None:
    result = royalty("creators", "retire", "bob", "--at", RETIRED)
    assert result.returncode == 0, result.stderr
    _reevaluate(catalog)
    assert _outcome(catalog, "w-3-nov") == "unmatched"
    assert _outcome(catalog, "w-4-nov") == "unmatched"
    assert _outcome(catalog, "w-3-oct") == "accrued" and _outcome(catalog, "w-4-oct") == "accrued"
    assert _outcome(catalog, "w-5-nov") == "accrued"  # alice's own work goes on
    listing = cli("creators", "list", "--format", "json")
    retired = {c["creator"]: c["retired_at"] for c in json.loads(listing.stdout)}
    assert retired == {"alice": None, "bob": RETIRED}


def test_retiring_what_does_not_exist_is_bad_input(catalog, cli) -> None:
    for kind in ("works", "licenses", "creators"):
        result = royalty(kind, "retire", "nope", "--at", RETIRED)
        assert result.returncode == 2
        assert f"no {kind[:-1]} 'nope'" in result.stderr
    bad = royalty("works", "retire", "w-1", "--at", "next tuesday")
    assert bad.returncode == 2 and "--at 'next tuesday' is not an RFC 3339" in bad.stderr
    assert scalar(catalog, "SELECT count(*) FROM work WHERE retired_at IS NOT NULL") == 0
