"""Guards at ingest (issue 19), as an operator sees them through the installed `royalty`
command: an event dated beyond now plus ``ROYALTY_FUTURE_TOLERANCE`` and a quantity above
its licensee's ``max_quantity`` are dead letters with their reason and field; the events
around them are stored and booked, and nothing of the refused ones reaches the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.builders import creator, expected_net, jsonl, license, licensee, sha, work
from tests.ingest_helpers import imported, ingested, running_consumer, scalar, usage, wait_for
from tests.ledger.cli.test_exit_codes import empty_queue, royalty  # noqa: F401 - a fixture

NOW = datetime.now(UTC)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _catalog(cli, max_quantity: str | None = "1000") -> None:  # noqa: ANN001
    extra = {} if max_quantity is None else {"max_quantity": max_quantity}
    imported(cli, "creators", [creator("alice")])
    imported(cli, "licensees", [licensee("acme-ai", **extra), licensee("beta-ai")])
    imported(cli, "works", [work("w-1")])
    imported(cli, "licenses", [license("acme-all", valid_from="2020-01-01T00:00:00Z",
                                       valid_until=None),
                               license("beta-all", "beta-ai", valid_from="2020-01-01T00:00:00Z",
                                       valid_until=None)])


def _emit_and_store(ledger, events: list[dict]) -> None:  # noqa: ANN001
    with running_consumer(ledger):
        result = royalty("emit", "-", input=jsonl(events))
        assert result.returncode == 0, result.stderr
        wait_for(lambda: scalar(ledger, "SELECT coalesce(sum(received), 0) FROM ingest_batch")
                 == len(events), timeout=60)


def _dead_letters() -> dict[str, dict]:
    result = royalty("report", "dead-letters", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {d["event_id"]: d for d in json.loads(result.stdout)}


def test_future_events_and_outsized_quantities_are_dead_letters(ledger, cli, empty_queue
                                                                 ) -> None:
    _catalog(cli)
    item = {"sha256": sha("w-1")}
    events = [
        usage("ok-now", item=item, time_=_at(NOW - timedelta(hours=1))),
        usage("ok-tomorrow", item=item, time_=_at(NOW + timedelta(hours=20))),  # within a day
        usage("from-2099", item=item, time_="2099-01-01T00:00:00Z", quantity="1000000"),
        usage("in-two-days", item=item, time_=_at(NOW + timedelta(days=2))),
        usage("too-many", item=item, time_=_at(NOW - timedelta(hours=1)), quantity="1000000"),
        usage("at-ceiling", item=item, time_=_at(NOW - timedelta(hours=1)), quantity="1000"),
        # another licensee, with no ceiling: a large quantity is its own business
        usage("beta-large", licensee="beta-ai", item=item, time_=_at(NOW - timedelta(hours=1)),
              quantity="1000000"),
    ]
    _emit_and_store(ledger, events)
    dead = _dead_letters()
    assert set(dead) == {"from-2099", "in-two-days", "too-many"}
    for event_id in ("from-2099", "in-two-days"):
        assert (dead[event_id]["reason"], dead[event_id]["field"]) == ("invalid_event", "time")
        assert "in the future" in dead[event_id]["detail"]
    assert (dead["too-many"]["reason"], dead["too-many"]["field"]) == (
        "quantity_out_of_range", "data.quantity")
    assert "exceeds the max_quantity 1000 of licensee 'acme-ai'" in dead["too-many"]["detail"]

    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["events"]["dead_letters"] == 3
    assert status["outcomes"]["accrued"] == 4
    # only the accepted events are owed: 1 + 1 + 1000 uses by acme-ai, 1,000,000 by beta-ai
    owed = sum(expected_net(q, "0.0023", "0.15") for q in ("1", "1", "1000", "1000000"))
    balances = json.loads(cli("report", "balances", "--format", "json").stdout)
    assert [(b["creator"], Decimal(b["balance"])) for b in balances] == [("alice", owed)]


def test_the_tolerance_is_a_setting(ledger, cli, monkeypatch) -> None:
    from ledger.config import get_settings

    monkeypatch.setenv("ROYALTY_FUTURE_TOLERANCE", "P3D")
    get_settings.cache_clear()
    try:
        _catalog(cli, max_quantity=None)
        item = {"sha256": sha("w-1")}
        ingested(ledger, [usage("in-two-days", item=item, time_=_at(NOW + timedelta(days=2))),
                          usage("in-four-days", item=item, time_=_at(NOW + timedelta(days=4)))])
    finally:
        get_settings.cache_clear()
    assert set(_dead_letters()) == {"in-four-days"}
    assert scalar(ledger, "SELECT count(*) FROM usage_event WHERE event_id = 'in-two-days'") == 1


def test_max_quantity_is_imported_kept_and_cleared(ledger, cli) -> None:
    _catalog(cli)
    row = licensee("acme-ai")  # no max_quantity: left as it is
    imported(cli, "licensees", [row])
    assert scalar(ledger, "SELECT max_quantity FROM licensee WHERE key = 'acme-ai'") == 1000
    imported(cli, "licensees", [{**row, "max_quantity": None}])
    assert scalar(ledger, "SELECT max_quantity FROM licensee WHERE key = 'acme-ai'") is None
    bad = royalty("import", "licensees", "-", input=jsonl([{**row, "max_quantity": "-5"}]))
    assert bad.returncode == 2
    assert "line 1: max_quantity: must be more than 0 (got -5)" in bad.stderr
