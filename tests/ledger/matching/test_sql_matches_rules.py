"""The set-based SQL evaluation gives every event the outcome and amounts that the pure
rules (``ledger.matching.rules.evaluate``) give it, on random catalogs and licenses (works
and licenses retired at random moments among them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.catalog.identifiers import canonical_url
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.licensing import purposes
from ledger.licensing.importer import terms_of
from ledger.licensing.rules import SplitVersion, conflicts
from ledger.catalog.schemas import LicenseRow
from ledger.matching import rules
from tests.builders import creator, jsonl, license, licensee, sha, work
from tests.conftest import truncate_all
from tests.ingest_helpers import usage

# Some events are dated after today on purpose (licenses open-ended or ending later).
LATER = timedelta(days=3650)

CREATORS = ["ana", "ben", "cy"]
WORKS = ["w1", "w2", "w3", "w4"]
TIMES = ["2026-01-15T00:00:00Z", "2026-04-01T00:00:00Z", "2026-06-30T23:59:59Z",
         "2026-07-01T00:00:00Z", "2027-02-01T00:00:00Z"]
tokens = st.lists(st.sampled_from(purposes.ALL_TOKENS), max_size=2, unique=True)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    creators = {c: draw(tokens) for c in CREATORS}
    works = {}
    for key in WORKS:
        owners = draw(st.lists(st.sampled_from(CREATORS), min_size=1, max_size=3, unique=True))
        shares = {"1": ["1"], "2": ["0.6", "0.4"], "3": ["0.3334", "0.3333", "0.3333"]}
        works[key] = {"shares": dict(zip(owners, shares[str(len(owners))], strict=True)),
                      "opt_out": draw(tokens),
                      "retired": draw(st.sampled_from([None, None, *TIMES[1:]]))}
    licenses = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["catalog", "works", "creators"]))
        scope = {"catalog": True} if kind == "catalog" else {kind: draw(st.lists(
            st.sampled_from(WORKS if kind == "works" else CREATORS), min_size=1, max_size=2,
            unique=True))}
        start = draw(st.sampled_from(TIMES[:3]))
        end = draw(st.sampled_from([None, *[t for t in TIMES if t > start]]))
        licenses.append(license(
            f"l{i}", draw(st.sampled_from(["acme", "lumen"])), scope=scope,
            purposes=draw(st.lists(st.sampled_from(purposes.ALL_TOKENS), min_size=1, max_size=2,
                                   unique=True)),
            valid_from=start, valid_until=end, unit=draw(st.sampled_from(["uses", "tokens"])),
            price=draw(st.sampled_from(["0.0023", "0.5", "0.0000004", "0"])),
            fee=draw(st.sampled_from(["0", "0.15", "0.333"])),
            retired=draw(st.sampled_from([None, None, *[t for t in TIMES if t > start]]))))
        # contract §9: a pooled use is accrued with no amount (its period's close prices it)
        deal_rate = draw(st.sampled_from([None, "pool", "revenue_share", "minimum"]))
        rate = licenses[-1]["rate"]
        if deal_rate == "pool":
            licenses[-1]["rate"] = {"type": "pool", "amount": "100", "period": "month",
                                    "unit": rate["unit"]}
        elif deal_rate == "revenue_share":
            licenses[-1]["rate"] = {"type": "revenue_share", "share": "0.5",
                                    "period": "quarter", "unit": rate["unit"]}
        elif deal_rate == "minimum":
            licenses[-1]["rate"] = {**rate, "minimum": {"amount": "5", "period": "year"}}
    kept = []
    for row in licenses:  # the import refuses overlaps; keep a valid set
        terms = terms_of(LicenseRow.model_validate(row))
        if not any(conflicts(terms, terms_of(LicenseRow.model_validate(k))) for k in kept):
            kept.append(row)
    events = [{"licensee": draw(st.sampled_from(["acme", "lumen"])),
               "work": draw(st.sampled_from([*WORKS, None])),
               "purpose": draw(st.sampled_from(purposes.USAGE_TOKENS)),
               "time": draw(st.sampled_from(TIMES)),
               "quantity": draw(st.sampled_from(["1", "3", "12345", "0.5"])),
               "unit": draw(st.sampled_from(["uses", "tokens"])),
               # which identifiers the item carries: a batch matches only the kinds it uses
               "by": draw(st.sampled_from(["sha256", "url", "both"])),
               "url_work": draw(st.sampled_from([*WORKS, None]))} for _ in range(25)]
    return {"creators": creators, "works": works, "licenses": kept, "events": events}


def _url(e: dict) -> str:
    work_key = e["url_work"] if e["by"] == "both" else e["work"]
    return f"https://example.org/{work_key or 'unregistered'}.jpg"


def raw_item(e: dict) -> dict:
    """The event's item as sent: a sha256, a URL, or both (then naming another work)."""
    item = {} if e["by"] == "url" else {"sha256": sha(e["work"] or "unregistered")}
    return item | ({} if e["by"] == "sha256" else {"url": _url(e)})


def identifiers(e: dict) -> dict:
    """The item's identifiers in normal form, as the rules take them."""
    item = raw_item(e)
    return item | ({"url": canonical_url(item["url"])} if "url" in item else {})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios())
def test_sql_evaluation_equals_the_rules(ledger, cli, database_url, scenario) -> None:
    truncate_all(database_url)
    assert cli("import", "creators", "-", input=jsonl(
        [creator(c, opt_out=t) for c, t in scenario["creators"].items()])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme"),
                                                        licensee("lumen")])).code == 0
    assert cli("import", "works", "-", input=jsonl(
        [work(k, w["shares"], opt_out=w["opt_out"], retired=w["retired"])
         for k, w in scenario["works"].items()])
    ).code == 0
    if scenario["licenses"]:
        result = cli("import", "licenses", "-", input=jsonl(scenario["licenses"]))
        assert result.code == 0, result.stderr
    events = [usage(f"e{i}", licensee=e["licensee"], purpose=e["purpose"], time_=e["time"],
                    quantity=e["quantity"], unit=e["unit"],
                    item=raw_item(e)) for i, e in enumerate(scenario["events"])]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                     licensees=store.licensee_ids(conn, tolerance=LATER),
                     max_message_bytes=10**7)
        conn.commit()
        stored = {r[0]: r[1:] for r in conn.execute(
            "SELECT e.event_id, e.outcome, w.key, l.key, e.gross, e.fee, e.net FROM usage_event e "
            "LEFT JOIN work w ON w.id = e.work_id LEFT JOIN license l ON l.id = e.license_id")}

    index = {("sha256", sha(k)): k for k in WORKS}
    index.update({("url", canonical_url(f"https://example.org/{k}.jpg")): k for k in WORKS})
    works = {k: rules.Work(k, (SplitVersion(None, {c: Decimal(s) for c, s in
                                                   w["shares"].items()}),), tuple(w["opt_out"]),
                           retired=at(w["retired"]) if w["retired"] else None)
             for k, w in scenario["works"].items()}
    terms = [terms_of(LicenseRow.model_validate(row)) for row in scenario["licenses"]]
    for i, e in enumerate(scenario["events"]):
        expected = rules.evaluate(
            identifiers=identifiers(e), licensee=e["licensee"],
            purpose=e["purpose"], at=at(e["time"]), quantity=Decimal(e["quantity"]),
            unit=e["unit"], index=index, works=works, creator_opt_outs=scenario["creators"],
            licenses=terms)
        outcome, work_key, license_key, gross, fee, net = stored[f"e{i}"]
        assert outcome == expected.outcome, (e, expected)
        assert work_key == expected.work
        assert license_key == (expected.license.key if expected.license else None)
        if expected.priced is None:
            assert (gross, fee, net) == (None, None, None)
        else:
            assert (gross, fee, net) == (expected.priced.gross, expected.priced.fee,
                                         expected.priced.net)
