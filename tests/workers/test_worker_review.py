"""Review candidates proposed by the beat task in the real worker: a near-duplicate
published to the broker lands in suspense, and the next tick proposes it for review."""

from __future__ import annotations


from ledger.fingerprints.files import image_fingerprint
from ledger.ingest.producer import UsageProducer
from tests.builders import creator, jsonl, licensee, license, work
from tests.ingest_helpers import scalar, usage, wait_for
from tests.media import photograph


def test_beat_proposes_a_near_duplicate_in_suspense(cli, ledger, worker) -> None:
    from workers import app

    rocket = image_fingerprint(photograph("rocket"))[0]
    copy = format(int(rocket, 16) ^ (2 ** 40 - 1), "064x")  # 40 bits off: for review
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl(
        [{**work("w-rocket"), "identifiers": {"pdq": rocket}}])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l-1")])).code == 0
    with UsageProducer(ledger.broker_url, topology=ledger.topology) as producer:
        producer.publish([usage("far", item={"pdq": copy})])
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event "
                                    "WHERE outcome = 'unmatched'") == 1, timeout=60)
    assert scalar(ledger, "SELECT count(*) FROM match_candidate") == 0
    app.send_task("royalty.matches.propose")  # what beat sends every 5 minutes
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM match_candidate") == 1, timeout=60)
    with ledger.connect() as conn:
        assert conn.execute(
            "SELECT c.value, w.key, c.distance, c.status FROM match_candidate c "
            "JOIN work w ON w.id = c.work_id").fetchone() == (copy, "w-rocket", 40, "open")
