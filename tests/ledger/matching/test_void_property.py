"""Voids on random batches: whatever is voided, in one call or several, the creators'
balances equal their parts (contract §5, computed here independently) of the events not
voided, every entry balances, the tallies equal a recount of the events, and back-pay
after a price change books only the events not voided."""

from __future__ import annotations

from decimal import Decimal

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.matching import reevaluation
from ledger.matching.void import VoidRequest, void
from tests.builders import creator, expected_net, expected_parts, jsonl, license, licensee, work
from tests.conftest import truncate_all
from tests.ingest_helpers import usage
from tests.ledger.matching.test_tally import tally_and_recount

SHARES = {"w1": {"ana": "1"}, "w2": {"ana": "0.3334", "ben": "0.3333", "cy": "0.3333"},
          "w3": {"ben": "0.6", "cy": "0.4"}}
SOURCE = "urn:acme-ai:pipeline:test"


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    events = [{"work": draw(st.sampled_from([*SHARES, None])),
               "quantity": draw(st.sampled_from(["1", "3", "0.5", "12345", "0.000000007"]))}
              for _ in range(draw(st.integers(1, 12)))]
    voided = draw(st.lists(st.integers(0, len(events) - 1), unique=True))
    split = draw(st.integers(0, len(voided)))
    return {"events": events, "voids": [voided[:split], voided[split:]]}


def _balances(conn) -> dict[str, Decimal]:  # noqa: ANN001
    return {key: -amount for key, amount in conn.execute(
        "SELECT c.key, sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id "
        "JOIN creator c ON c.id = a.owner_id WHERE a.kind = 'creator_payable' GROUP BY c.key")}


def _expected(scenario: dict, price: str) -> dict[str, Decimal]:
    voided = {i for part in scenario["voids"] for i in part}
    owed = {c: Decimal(0) for c in ("ana", "ben", "cy")}
    for i, e in enumerate(scenario["events"]):
        if e["work"] is None or i in voided:
            continue
        for c, part in expected_parts(expected_net(e["quantity"], price, "0.15"),
                                      SHARES[e["work"]]).items():
            owed[c] += part
    return owed


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_voids_leave_exactly_the_events_not_voided(ledger, cli, database_url, scenario) -> None:
    truncate_all(database_url)
    for kind, rows in (("creators", [creator(c) for c in ("ana", "ben", "cy")]),
                       ("licensees", [licensee("acme-ai")]),
                       ("works", [work(k, s) for k, s in SHARES.items()]),
                       ("licenses", [license("acme-train")])):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0
    events = [usage(f"e{i}", quantity=e["quantity"],
                    item=work(e["work"] or "nothing")["identifiers"])
              for i, e in enumerate(scenario["events"])]
    with ledger.connect() as conn:
        reevaluation.drain(conn)
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH, "usage.acme-ai")],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
        for part in scenario["voids"]:
            void(conn, [VoidRequest(SOURCE, f"e{i}", "test") for i in part])
            conn.commit()
        owed = {c: v for c, v in _expected(scenario, "0.0023").items() if v}
        assert {c: v for c, v in _balances(conn).items() if v} == owed
        assert conn.execute("SELECT count(*) FROM (SELECT 1 FROM posting p JOIN account a "
                            "ON a.id = p.account_id GROUP BY p.entry_id, a.currency "
                            "HAVING sum(p.amount) <> 0) AS unbalanced").fetchone()[0] == 0
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted
    assert cli("import", "licenses", "-", input=jsonl([license("acme-train", price="0.5")])
               ).code == 0
    with ledger.connect() as conn:
        reevaluation.drain(conn)
        owed = {c: v for c, v in _expected(scenario, "0.5").items() if v}
        assert {c: v for c, v in _balances(conn).items() if v} == owed
        voided = {i for part in scenario["voids"] for i in part}
        assert conn.execute("SELECT count(*) FROM usage_event WHERE outcome = 'voided'"
                            ).fetchone()[0] == len(voided)
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted
