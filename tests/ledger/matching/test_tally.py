"""The usage tally always equals a recount of the events, through ingest, re-evaluation
(back-pay) and compaction; transparency and status read it."""

from __future__ import annotations

import json

import orjson

from ledger.matching import reevaluation
from ledger.ingest import store
from ledger.matching import sql as matching_sql
from ledger.matching import tally
from ledger.ingest.events import BATCH
from ledger.reports import series
from tests.builders import creator, jsonl, license, licensee, work
from tests.ingest_helpers import usage


def ingest(ledger, *events: dict) -> store.BatchResult:
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(list(events)), BATCH,
                                                   "usage.acme-ai")],
                              licensees=store.licensee_ids(conn), max_message_bytes=1_000_000)
        conn.commit()
    return result


def tally_and_recount(ledger) -> tuple[dict, dict]:
    """Both tallies summed per key and a recount from the events: ("usage", *key) ->
    (events, gross, net) and ("works", *key) -> (events, accrued)."""
    key, work_key = ", ".join(matching_sql.KEY), ", ".join(matching_sql.WORK_KEY)
    with ledger.connect() as conn:
        summed = {("usage", *r[:-3]): tuple(r[-3:]) for r in conn.execute(
            f"SELECT {key}, sum(events), sum(gross), sum(net) FROM usage_tally GROUP BY {key} "
            "HAVING sum(events) <> 0 OR sum(gross) <> 0 OR sum(net) <> 0")}
        summed.update({("works", *r[:-2]): tuple(r[-2:]) for r in conn.execute(
            f"SELECT {work_key}, sum(events), sum(accrued) FROM usage_work_tally "
            f"GROUP BY {work_key} HAVING sum(events) <> 0 OR sum(accrued) <> 0")})
        recounted = {("usage", *r[:-3]): tuple(r[-3:]) for r in conn.execute(matching_sql.RECOUNT)}
        recounted.update({("works", *r[:-2]): tuple(r[-2:])
                          for r in conn.execute(matching_sql.RECOUNT_WORKS)})
    return summed, recounted


def events(tallied: dict) -> int:
    """Events counted by the usage tally."""
    return sum(v[0] for k, v in tallied.items() if k[0] == "usage")


def test_the_tally_follows_ingest_back_pay_and_compaction(cli, ledger) -> None:
    for kind, rows in (("creators", [creator("alice")]), ("licensees", [licensee("acme-ai")]),
                       ("works", [work("w1")]), ("licenses", [license("acme-train")])):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0
    with ledger.connect() as conn:
        reevaluation.drain(conn)
    item = {"sha256": work("w2")["identifiers"]["sha256"]}  # not registered yet
    ingest(ledger, usage("a1", item=work("w1")["identifiers"]), usage("a2", item=item),
           usage("a3", item=item, model="other-model", dataset=None),
           usage("a4", purpose="ai-input", item=work("w1")["identifiers"]))
    ingest(ledger, usage("a1", item=work("w1")["identifiers"]), usage("a5", item=item),
           usage("bad", licensee="ghost"))  # a duplicate and a dead letter: not counted
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted and events(summed) == 5
    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["outcomes"] == {"accrued": 1, "unmatched": 3, "unlicensed": 1,
                                  "opted_out": 0, "unpriced": 0}

    # w2 registered: its three held uses are re-evaluated and booked (back-pay)
    assert cli("import", "works", "-", input=jsonl([work("w2")])).code == 0
    with ledger.connect() as conn:
        assert reevaluation.drain(conn).booked == 3
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted
    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["outcomes"] == {"accrued": 4, "unmatched": 0, "unlicensed": 1,
                                  "opted_out": 0, "unpriced": 0}
    report = json.loads(cli("report", "transparency", "--licensee", "acme-ai",
                            "--format", "json").stdout)
    assert report["events"] == 5 and report["outcomes"]["accrued"] == 4
    assert report["by_purpose"] == {"ai-input": 1, "ai-train": 4}
    assert report["by_dataset"] == {"(none)": 1, "webvid-subset-3": 4}
    assert (report["works"], report["creators"]) == (2, 1)
    only = json.loads(cli("report", "transparency", "--licensee", "acme-ai", "--model",
                          "other-model", "--format", "json").stdout)
    assert only["events"] == 1 and only["by_dataset"] == {"(none)": 1}

    # a work-scoped license for w1 at another price: its events are priced again
    assert cli("import", "licenses", "-", input=jsonl([license(
        "acme-w1", scope={"works": ["w1"]}, price="0.05")])).code == 0
    with ledger.connect() as conn:
        done = reevaluation.drain(conn)
        assert (done.reversed, done.booked) == (1, 1)
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted
    assert_series_match_the_events(ledger, "acme-ai")

    with ledger.connect() as conn:
        before, after = tally.compact(conn)
        assert before > after == len(recounted)
        assert tally.compact(conn) == (after, after)  # nothing left to fold
    assert tally_and_recount(ledger) == (recounted, recounted)
    assert json.loads(cli("report", "transparency", "--licensee", "acme-ai",
                          "--format", "json").stdout) == report
    assert_series_match_the_events(ledger, "acme-ai")


def assert_series_match_the_events(ledger, licensee_key: str) -> None:
    """The HTML page's series from the tally equal the same figures counted from the events."""
    month = "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM')"
    with ledger.connect() as conn:
        lid = conn.execute("SELECT id FROM licensee WHERE key = %s", (licensee_key,)).fetchone()[0]
        by_month = {(m, o): n for m, o, n in conn.execute(
            f"SELECT {month}, outcome, count(*) FROM usage_event WHERE licensee_id = %s "
            "GROUP BY 1, 2", (lid,))}
        by_model = {m: (n, a) for m, n, a in conn.execute(
            "SELECT coalesce(model, '(none)'), count(*), count(*) FILTER (WHERE outcome = "
            "'accrued') FROM usage_event WHERE licensee_id = %s GROUP BY 1", (lid,))}
        owed = {(m, c): (g, n, k) for m, c, g, n, k in conn.execute(
            f"SELECT {month}, currency, sum(gross), sum(net), count(*) FROM usage_event "
            "WHERE licensee_id = %s AND outcome = 'accrued' GROUP BY 1, 2", (lid,))}
        assert {(r["month"], o): n for r in series.usage_by_month(conn, licensee_key, None)
                for o, n in r.items() if o != "month" and n} == by_month
        assert {r["model"]: (r["events"], r["accrued"])
                for r in series.usage_by_model(conn, licensee_key, None)} == by_model
        assert {(r["month"], r["currency"]): (r["gross"], r["net"], r["events"])
                for r in series.owed_by_month(conn, licensee_key, None)} == owed
        by_work = {w: (n, a) for w, n, a in conn.execute(
            "SELECT w.key, count(*), count(*) FILTER (WHERE outcome = 'accrued') "
            "FROM usage_event e JOIN work w ON w.id = e.work_id WHERE licensee_id = %s "
            "GROUP BY 1", (lid,))}
        assert by_work and {r["work"]: (r["events"], r["accrued"])
                            for r in series.top_works(conn, licensee_key, None)} == by_work


def test_an_event_stored_before_outcomes_existed_is_counted_once_evaluated(cli, ledger) -> None:
    for kind, rows in (("creators", [creator("alice")]), ("licensees", [licensee("acme-ai")]),
                       ("licenses", [license("acme-train")])):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0
    with ledger.connect() as conn:
        conn.execute("""
            INSERT INTO usage_event (source, event_id, content_hash, time, licensee_id, purpose,
                                     quantity, unit, sha256)
            SELECT 's', 'legacy', '\\x00', '2026-11-02T10:00:00Z', id, 'ai-train', 1, 'uses', %s
            FROM licensee""", (work("w1")["identifiers"]["sha256"],))
        conn.commit()
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    with ledger.connect() as conn:
        assert reevaluation.drain(conn).booked == 1
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted and events(summed) == 1


def test_retally_repairs_a_tally_that_missed_writes(cli, ledger) -> None:
    for kind, rows in (("creators", [creator("alice")]), ("licensees", [licensee("acme-ai")]),
                       ("works", [work("w1")])):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0
    ingest(ledger, usage("a1"), usage("a2"), usage("a3", item=work("w1")["identifiers"]))
    with ledger.connect() as conn:
        # as if older workers had stored them
        conn.execute("DELETE FROM usage_tally; DELETE FROM usage_work_tally")
        conn.commit()

    def transparency() -> dict:
        return json.loads(cli("report", "transparency", "--licensee", "acme-ai",
                              "--format", "json").stdout)

    assert json.loads(cli("status", "--format", "json").stdout)["outcomes"]["unmatched"] == 0
    assert (transparency()["works"], transparency()["creators"]) == (0, 0)
    result = cli("db", "retally")
    # usage tally: unmatched and unlicensed; work tally: w1
    assert result.code == 0 and result.stdout.strip().endswith("from the events: 3 rows")
    assert json.loads(cli("status", "--format", "json").stdout)["outcomes"]["unmatched"] == 2
    assert (transparency()["works"], transparency()["creators"]) == (1, 1)
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted
