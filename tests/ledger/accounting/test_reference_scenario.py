"""A mixed scenario booked through the real ingest path and re-evaluated after late
registrations; every creator's balance is compared, to the last 1e-9, with amounts
computed here independently with Decimal."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from ledger.matching import reevaluation
from ledger.ingest import store
from ledger.ingest.events import BATCH
from tests.builders import (
    creator, expected_net, expected_parts, jsonl, license, licensee, sha, work,
)
from tests.ingest_helpers import usage

# Some events are dated after today on purpose (licenses open-ended or ending later).
LATER = timedelta(days=3650)

D = Decimal


W2_BEFORE = {"alice": "0.7", "bob": "0.3"}
W2_AFTER = {"alice": "0.5", "bob": "0.5"}
W3 = {"alice": "0.3333", "bob": "0.3334", "dave": "0.3333"}
W6 = {"alice": "0.6", "dave": "0.4"}

# (event id, licensee, work, purpose, time, quantity, unit, outcome at first, outcome after
#  the late registrations, price/fee/shares when accrued at the end)
EVENTS = [
    ("e01", "acme", "w1", "ai-train", "2026-03-01T00:00:00Z", "1", "uses", "accrued", "accrued",
     ("0.01", "0.1", {"alice": "1"})),                  # creators scope beats the catalog
    ("e02", "acme", "w2", "ai-train", "2026-03-01T00:00:00Z", "3", "uses", "accrued", "accrued",
     ("0.0023", "0.15", W2_BEFORE)),                    # catalog; split before the change
    ("e03", "acme", "w2", "ai-train", "2026-06-15T00:00:00Z", "1", "uses", "accrued", "accrued",
     ("0.0023", "0.15", W2_AFTER)),                     # split changed mid-stream
    ("e04", "acme", "w2", "ai-train", "2026-08-01T00:00:00Z", "1", "uses", "unlicensed",
     "unlicensed", None),                               # the catalog license expired
    ("e05", "acme", "w3", "ai-train", "2026-03-01T00:00:00Z", "12345", "tokens", "accrued",
     "accrued", ("0.0000004", "0.2", W3)),              # works scope, ai-all, remainders
    ("e06", "acme", "w3", "ai-train", "2026-03-01T00:00:00Z", "5", "uses", "unpriced",
     "unpriced", None),                                 # unit is not the license's
    ("e07", "acme", "w4", "ai-train", "2026-03-01T00:00:00Z", "1", "uses", "opted_out",
     "opted_out", None),                                # carol opted out of ai-all
    ("e08", "acme", "w5", "ai-train", "2026-03-01T00:00:00Z", "2", "uses", "accrued", "accrued",
     ("0.5", "0", {"dave": "1"})),                      # per-work opt-out, specific license
    ("e09", "acme", "w6", "ai-train", "2026-03-01T00:00:00Z", "1", "uses", "unmatched",
     "accrued", ("0.0023", "0.15", W6)),                # work registered later: back-pay
    ("e10", "lumen", "w1", "ai-input", "2026-04-01T00:00:00Z", "10", "uses", "unlicensed",
     "accrued", ("0.001", "0.3", {"alice": "1"})),      # license registered later
    ("e11", "lumen", "w4", "ai-input", "2026-04-01T00:00:00Z", "1", "uses", "opted_out",
     "opted_out", None),                                # a catalog license never covers it
    ("e13", "acme", None, "ai-train", "2026-03-01T00:00:00Z", "1", "uses", "unmatched",
     "unmatched", None),                                # nobody registered it
    ("e14", "acme", "w1", "ai-train", "2026-03-03T00:00:00Z", "0.00000000015", "uses",
     "accrued", "accrued", ("0.01", "0.1", {"alice": "1"})),  # rounds to nothing
    ("e15", "acme", "w5", "ai-train", "2027-03-01T00:00:00Z", "1", "uses", "accrued",
     "accrued", ("0.5", "0", {"dave": "1"})),           # open-ended license
]


def item_for(work_key: str | None, event_id: str) -> dict:
    if work_key is None:
        return {"sha256": sha("nobody-registered-this")}
    return {"sha256": sha(work_key)}


@pytest.fixture
def scenario(cli, ledger):
    assert cli("import", "creators", "-", input=jsonl([
        creator("alice"), creator("bob"), creator("carol", opt_out=["ai-all"]),
        creator("dave")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme"),
                                                        licensee("lumen")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w1", {"alice": "1"}), work("w2", W2_BEFORE), work("w3", W3),
        work("w4", {"carol": "1"}), work("w5", {"dave": "1"}, opt_out=["ai-train"])])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w2", W2_AFTER, effective_from="2026-06-01T00:00:00Z")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        license("acme-cat", "acme", valid_until="2026-07-01T00:00:00Z"),
        license("acme-alice", "acme", scope={"creators": ["alice"]}, price="0.01", fee="0.1",
                valid_until=None),
        license("acme-w3", "acme", scope={"works": ["w3"]}, purposes=["ai-all"],
                price="0.0000004", unit="tokens", fee="0.2", valid_until=None),
        license("acme-w5", "acme", scope={"works": ["w5"]}, price="0.5", fee="0",
                valid_until=None)])).code == 0
    with ledger.connect() as conn:
        reevaluation.drain(conn)  # nothing booked yet: nothing to change
    events = [usage(eid, licensee=lic, item=item_for(w, eid), purpose=purpose, time_=at,
                    quantity=q, unit=unit)
              for eid, lic, w, purpose, at, q, unit, *_ in EVENTS]
    # The same event by URL in another spelling (canonical form matches w1's URL).
    events.append(usage("e12", licensee="acme", purpose="ai-train",
                        item={"url": "HTTPS://EXAMPLE.org:443/w1.jpg#frag"},
                        time_="2026-03-02T00:00:00Z"))
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                              licensees=store.licensee_ids(conn, tolerance=LATER),
                              max_message_bytes=10**7)
        conn.commit()
    assert result.accepted == len(events)
    return cli


def outcomes(ledger) -> dict[str, str]:
    with ledger.connect() as conn:
        return dict(conn.execute("SELECT event_id, outcome FROM usage_event").fetchall())


def expected_balances(after_late_registrations: bool) -> dict[str, D]:
    owed: dict[str, D] = {}
    for _, _, _, _, _, quantity, _, first, last, terms in EVENTS:
        if (last if after_late_registrations else first) != "accrued":
            continue
        price, fee, shares = terms
        for who, part in expected_parts(expected_net(quantity, price, fee), shares).items():
            owed[who] = owed.get(who, D(0)) + part
    owed["alice"] += expected_net("1", "0.01", "0.1")  # e12, matched by URL
    return owed


def balances(cli) -> dict[str, D]:
    rows = json.loads(cli("report", "balances", "--format", "json").stdout)
    assert all(r["currency"] == "USD" for r in rows)
    return {r["creator"]: D(r["balance"]) for r in rows}


def assert_trial_balance_is_zero(cli) -> None:
    rows = json.loads(cli("report", "trial-balance", "--format", "json").stdout)
    assert rows and sum(D(r["balance"]) for r in rows) == 0


def test_first_booking(scenario, ledger) -> None:
    found = outcomes(ledger)
    assert {e[0]: found[e[0]] for e in EVENTS} == {e[0]: e[7] for e in EVENTS}
    assert found["e12"] == "accrued"
    assert balances(scenario) == {k: v for k, v in expected_balances(False).items() if v}
    assert_trial_balance_is_zero(scenario)


def test_late_registrations_are_booked_back_at_their_original_time(scenario, ledger) -> None:
    assert scenario("import", "works", "-", input=jsonl([work("w6", W6)])).code == 0
    assert scenario("import", "licenses", "-", input=jsonl([
        license("lumen-cat", "lumen", purposes=["ai-input"], price="0.001", fee="0.3",
                valid_until=None)])).code == 0
    status = json.loads(scenario("status", "--format", "json").stdout)
    assert status["events"]["pending"] >= 1  # the catalog changes await re-evaluation
    with ledger.connect() as conn:
        done = reevaluation.drain(conn)
    assert (done.changed, done.booked, done.reversed) == (2, 2, 0)
    found = outcomes(ledger)
    assert {e[0]: found[e[0]] for e in EVENTS} == {e[0]: e[8] for e in EVENTS}
    assert balances(scenario) == expected_balances(True)
    assert_trial_balance_is_zero(scenario)
    status = json.loads(scenario("status", "--format", "json").stdout)
    assert status["events"]["pending"] == 0
    assert status["outcomes"] == {"accrued": 10, "unmatched": 1, "unlicensed": 1,
                                  "opted_out": 2, "unpriced": 1}
    # Draining again changes nothing: each event is booked once.
    with ledger.connect() as conn:
        assert reevaluation.drain(conn).changed == 0
    assert balances(scenario) == expected_balances(True)


def test_a_more_specific_license_added_later_reprices_booked_uses(scenario, ledger) -> None:
    before = balances(scenario)
    assert scenario("import", "licenses", "-", input=jsonl([
        license("acme-w2", "acme", scope={"works": ["w2"]}, price="0.1", fee="0.5",
                valid_until=None)])).code == 0
    with ledger.connect() as conn:
        done = reevaluation.drain(conn)
    assert (done.reversed, done.booked) == (2, 3)  # e02, e03 repriced; e04 now licensed
    after = balances(scenario)
    net = expected_net("3", "0.1", "0.5"), expected_net("1", "0.1", "0.5"), \
        expected_net("1", "0.1", "0.5")
    old = expected_parts(expected_net("3", "0.0023", "0.15"), W2_BEFORE), \
        expected_parts(expected_net("1", "0.0023", "0.15"), W2_AFTER)
    new = expected_parts(net[0], W2_BEFORE), expected_parts(net[1], W2_AFTER), \
        expected_parts(net[2], W2_AFTER)
    for who in ("alice", "bob"):
        assert after[who] - before[who] == sum(p[who] for p in new) - sum(p[who] for p in old)
    assert after["dave"] == before["dave"]
    assert_trial_balance_is_zero(scenario)


def test_reports_add_up(scenario, ledger) -> None:
    data = json.loads(scenario("report", "transparency", "--licensee", "acme",
                               "--format", "json").stdout)
    assert data["events"] == 13 and data["outcomes"]["unmatched"] == 2
    assert data["works"] == 5 and data["creators"] == 4
    assert data["by_purpose"] == {"ai-train": 13}
    assert data["by_dataset"] == {"webvid-subset-3": 13}
    suspense = json.loads(scenario("report", "suspense", "--format", "json").stdout)
    assert sorted(r["value"] for r in suspense) == sorted([sha("w6"),
                                                           sha("nobody-registered-this")])
    unlicensed = json.loads(scenario("report", "unlicensed", "--format", "json").stdout)
    assert {(r["licensee"], r["work"], r["outcome"]) for r in unlicensed} == {
        ("acme", "w2", "unlicensed"), ("acme", "w3", "unpriced"), ("acme", "w4", "opted_out"),
        ("lumen", "w1", "unlicensed"), ("lumen", "w4", "opted_out")}
    table = scenario("report", "balances")
    assert table.code == 0 and "alice" in table.stdout
