"""The usage work tally follows every change that moves an event between works, split
versions and outcomes (splits, opt-outs, identifiers, licenses), through compactions; and
transparency's works and creators, and the page's top works, equal a recount from the
events after each."""

from __future__ import annotations

import json

from ledger.matching import reevaluation
from ledger.matching import tally
from ledger.reports import series
from tests.builders import creator, jsonl, license, licensee, sha, work
from tests.ingest_helpers import usage
from tests.ledger.matching.test_tally import ingest, tally_and_recount

_SCOPE = ("licensee_id = (SELECT id FROM licensee WHERE key = 'acme-ai') "
          "AND (%(model)s::text IS NULL OR model = %(model)s)")
WORKS_AND_CREATORS = f"""
WITH pairs AS (SELECT DISTINCT work_id, split_version_id FROM usage_event
               WHERE {_SCOPE} AND work_id IS NOT NULL)
SELECT (SELECT count(DISTINCT work_id) FROM pairs),
       (SELECT count(DISTINCT s.creator_id) FROM split_share s
        JOIN pairs p ON p.split_version_id = s.split_version_id)
"""
BY_WORK = f"""
SELECT w.key, count(*), count(*) FILTER (WHERE outcome = 'accrued')
FROM usage_event e JOIN work w ON w.id = e.work_id WHERE {_SCOPE} GROUP BY 1
"""


def assert_recounted(cli, ledger, step: str) -> None:
    with ledger.connect() as conn:
        reevaluation.drain(conn)
    summed, recounted = tally_and_recount(ledger)
    assert summed == recounted, step
    with ledger.connect() as conn:
        for model in (None, "m1"):
            args = ("--model", model) if model else ()
            report = json.loads(cli("report", "transparency", "--licensee", "acme-ai", *args,
                                    "--format", "json").stdout)
            expected = conn.execute(WORKS_AND_CREATORS, {"model": model}).fetchone()
            assert (report["works"], report["creators"]) == expected, (step, model)
            top = {r["work"]: (r["events"], r["accrued"])
                   for r in series.top_works(conn, "acme-ai", model)}
            assert top == {k: (n, a) for k, n, a in conn.execute(BY_WORK, {"model": model})}, \
                (step, model)


def compact(ledger) -> None:
    """Compact; then no row is empty or negative, and compacting again rewrites nothing."""
    rows = "SELECT id FROM usage_work_tally ORDER BY id"
    with ledger.connect() as conn:
        tally.compact(conn)
        assert conn.execute("SELECT count(*) FROM usage_work_tally WHERE events <= 0 "
                            "OR accrued < 0 OR accrued > events").fetchone()[0] == 0
        folded = conn.execute(rows).fetchall()
        tally.compact(conn)
        assert conn.execute(rows).fetchall() == folded


def test_the_work_tally_follows_every_catalog_change(cli, ledger) -> None:
    for kind, rows in (("creators", [creator("alice"), creator("bob")]),
                       ("licensees", [licensee("acme-ai")]),
                       ("works", [work("w1"), work("w2", {"bob": "1"})]),
                       ("licenses", [license("acme-train")])):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0
    w1, w2 = work("w1")["identifiers"], work("w2")["identifiers"]
    ingest(ledger, usage("a1", item=w1, model="m1"), usage("a2", item=w1, model=None),
           usage("a3", item=w2, model="m1", dataset=None), usage("a4", item=w2, model=None),
           usage("a5", model="m1"), usage("a6", item=w1, model="m1", purpose="ai-input"))
    assert_recounted(cli, ledger, "ingest")
    compact(ledger)
    assert_recounted(cli, ledger, "compacted")

    steps = (
        ("a new split version for w1, in force before the uses", "works",
         [work("w1", {"alice": "0.5", "bob": "0.5"}, effective_from="2026-10-01T00:00:00Z")]),
        ("alice opts out of training", "creators",
         [creator("alice", opt_out=["ai-train"]), creator("bob")]),
        ("w2's identifiers replaced: its uses are unmatched", "works",
         [work("w2", {"bob": "1"}, identifiers={"sha256": sha("other")})]),
        ("w3 registered with w2's old identifiers", "works",
         [work("w3", {"bob": "1"}, identifiers=w2)]),
        ("a works-scoped license for w1", "licenses",
         [license("acme-w1", scope={"works": ["w1"]}, price="0.05",
                  purposes=["ai-train", "ai-input"])]),
        ("the licensee changed", "licensees", [licensee("acme-ai", name="Acme 2")]),
        ("the works license ends before the uses", "licenses",
         [license("acme-w1", scope={"works": ["w1"]}, price="0.05",
                  purposes=["ai-train", "ai-input"], valid_until="2026-06-01T00:00:00Z")]),
    )
    for number, (step, kind, rows) in enumerate(steps):
        assert cli("import", kind, "-", input=jsonl(rows)).code == 0, step
        assert_recounted(cli, ledger, step)
        if number % 3 == 2:
            compact(ledger)
            assert_recounted(cli, ledger, f"compacted after: {step}")
