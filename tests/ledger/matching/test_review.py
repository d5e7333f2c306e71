"""Review and claims (contract §8) as an operator and creators use them: candidates
between the auto and review thresholds, accept with back-pay, reject for good, claims
and disputes, every decision kept with who and when; bad decisions and claims refused
with every reason."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from ledger.accounting.money import price_event
from ledger.ingest import store
from ledger.ingest.events import BATCH
from tests.builders import creator, flipped, jsonl, license, licensee, sha, work
from tests.ingest_helpers import scalar, usage
from tests.media import photograph
from ledger.fingerprints.files import image_fingerprint


@pytest.fixture
def setup(cli, ledger):
    rocket = image_fingerprint(photograph("rocket"))[0]
    coffee = image_fingerprint(photograph("coffee"))[0]
    assert cli("import", "creators", "-", input=jsonl([creator("alice"), creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    works = [{**work("w-rocket"), "identifiers": {"pdq": rocket}},
             {**work("w-coffee", {"bob": "1"}), "identifiers": {"pdq": coffee}},
             work("w-other", {"bob": "1"})]
    assert cli("import", "works", "-", input=jsonl(works)).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l-1")])).code == 0
    events = [
        # 40 bits from the registered hash: beyond auto (31), within review (63)
        usage("far-1", item={"pdq": flipped(rocket, range(40))}),
        usage("far-2", item={"pdq": flipped(rocket, range(40))}, quantity="3"),
        usage("nearer-coffee", item={"pdq": flipped(coffee, range(50))}),
        usage("plain", item={"sha256": sha("unregistered")}),
        usage("taken", item={"sha256": sha("w-other")}),
    ]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH, "usage.acme-ai")],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    return {"rocket": rocket, "coffee": coffee}


def _review(cli) -> list[dict]:
    result = cli("matches", "review", "--format", "json")
    assert result.code == 0, result.stderr
    return orjson.loads(result.stdout)


def _event(ledger, event_id: str) -> tuple:
    with ledger.connect() as conn:
        return conn.execute(
            "SELECT e.outcome, w.key, e.match_method, e.match_distance, e.net FROM usage_event e "
            "LEFT JOIN work w ON w.id = e.work_id WHERE e.event_id = %s", (event_id,)).fetchone()


def test_accepting_a_candidate_pays_back_its_events(cli, ledger, setup) -> None:
    candidates = _review(cli)
    assert [(c["work"], c["kind"], c["distance"], c["events"], c["method"])
            for c in candidates] == [("w-rocket", "pdq", 40, 2, "review"),
                                     ("w-coffee", "pdq", 50, 1, "review")]
    assert candidates[0]["quantity"] == "4"
    # what accepting would book, priced by the reference model (l-1: 0.0023 a use, fee 0.15)
    priced = [price_event(Decimal(q), Decimal("0.0023"), Decimal("0.15")) for q in ("1", "3")]
    assert candidates[0]["gross"] == f"{sum(p.gross for p in priced)} USD"
    assert candidates[0]["net"] == f"{sum(p.net for p in priced)} USD"
    assert _event(ledger, "far-1")[0] == "unmatched"
    result = cli("matches", "accept", str(candidates[0]["id"]), "--by", "ops@example.org")
    assert result.code == 0, result.stderr
    assert "2 event(s) changed, 2 booked" in result.stdout
    outcome, work_key, method, distance, net = _event(ledger, "far-2")
    assert (outcome, work_key, method, distance) == ("accrued", "w-rocket", "review", 0)
    assert f"{net + _event(ledger, 'far-1')[4]} USD" == candidates[0]["net"]  # as announced
    # later events with the same fingerprint match it directly
    assert [c["work"] for c in _review(cli)] == ["w-coffee"]
    with ledger.connect() as conn:
        assert conn.execute("SELECT status, decided_by FROM match_candidate WHERE id = %s",
                            (candidates[0]["id"],)).fetchone() == ("accepted", "ops@example.org")
    again = cli("matches", "accept", str(candidates[0]["id"]), "--by", "ops@example.org")
    assert again.code == 2 and "already accepted by ops@example.org" in again.stderr


def test_a_rejected_pair_never_comes_back(cli, ledger, setup) -> None:
    [_, coffee] = _review(cli)
    assert cli("matches", "reject", str(coffee["id"]), "--by", "ops").code == 0
    assert [c["work"] for c in _review(cli)] == ["w-rocket"]
    assert _event(ledger, "nearer-coffee")[0] == "unmatched"
    twice = cli("matches", "accept", str(coffee["id"]), "999", "--by", "ops")
    assert twice.code == 2
    assert "already rejected by ops" in twice.stderr and "no candidate 999" in twice.stderr
    [rocket] = _review(cli)
    assert cli("matches", "reject", str(rocket["id"]), "--by", "ops").code == 0
    empty = cli("matches", "review")
    assert empty.code == 0 and empty.stdout.strip() == "no open candidates"


def test_claims_become_candidates_and_a_claim_on_a_matched_item_is_a_dispute(
        cli, ledger, setup) -> None:
    claims = [{"claim": "c-1", "creator": "bob", "work": "w-coffee",
               "identifiers": {"sha256": sha("unregistered")}, "note": "my original scan"},
              {"claim": "c-2", "creator": "bob", "work": "w-coffee",
               "identifiers": {"sha256": sha("w-other")}}]
    result = cli("claims", "import", "-", input=jsonl(claims))
    assert result.code == 0, result.stderr
    by_claim = {c["claim"]: c for c in _review(cli) if c["claim"]}
    assert by_claim["c-1"]["method"] == "claim" and by_claim["c-1"]["events"] == 1
    assert by_claim["c-1"]["dispute"] is False and by_claim["c-1"]["creator"] == "bob"
    assert by_claim["c-2"]["dispute"] is True
    assert by_claim["c-2"]["matched_elsewhere"] == ["w-other"]
    # a dispute changes nothing until accepted
    assert _event(ledger, "taken")[1] == "w-other"
    accepted = cli("matches", "accept", str(by_claim["c-1"]["id"]), "--by", "ops")
    assert accepted.code == 0, accepted.stderr
    assert _event(ledger, "plain")[:3] == ("accrued", "w-coffee", "claim")
    # the same file again: nothing new
    assert "0 new, 2 unchanged" in cli("claims", "import", "-", input=jsonl(claims)).stdout


def test_bad_claims_are_all_reported_and_nothing_is_filed(cli, ledger, setup) -> None:
    claims = [{"claim": "c-1", "creator": "nobody", "work": "w-coffee",
               "identifiers": {"sha256": sha("x")}},
              {"claim": "c-2", "creator": "bob", "work": "w-missing",
               "identifiers": {"pdq": "ab" * 31}},
              {"claim": "c-3", "creator": "alice", "work": "w-coffee",
               "identifiers": {"sha256": sha("y")}},
              {"claim": "c-4", "creator": "bob", "work": "w-coffee",
               "identifiers": {"sha256": sha("z")}}]
    result = cli("claims", "import", "-", input=jsonl(claims))
    assert result.code == 2
    err = " ".join(result.stderr.split())
    assert "line 1: unknown creator 'nobody'" in err
    assert "line 2: identifiers.pdq: pdq must be 64 hex digits" in err
    assert "line 2: unknown work 'w-missing'" in err  # a bad identifier hides no other reason
    assert "line 3: creator 'alice' is not in the splits of work 'w-coffee'" in err
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM match_claim").fetchone()[0] == 0


def _looked_up(ledger) -> dict[str, tuple]:
    with ledger.connect() as conn:
        return {value: (reach, at) for value, reach, at in conn.execute(
            "SELECT value, reach, proposed_at FROM proposed_fingerprint")}


def _register(cli, key: str, pdq: str) -> None:
    result = cli("import", "works", "-", input=jsonl([{**work(key), "identifiers": {"pdq": pdq}}]))
    assert result.code == 0, result.stderr


def test_review_looks_a_fingerprint_up_once_until_something_changes(
        cli, ledger, setup) -> None:
    rocket_copy = flipped(setup["rocket"], range(40))
    assert [c["work"] for c in _review(cli)] == ["w-rocket", "w-coffee"]
    first = _looked_up(ledger)
    assert set(first) == {rocket_copy, flipped(setup["coffee"], range(50))}
    assert {reach for reach, _ in first.values()} == {63}
    # the next review looks nothing up again, and proposes nothing new
    assert [c["work"] for c in _review(cli)] == ["w-rocket", "w-coffee"]
    assert _looked_up(ledger) == first
    # a work registered farther from the copy than its open candidate is not proposed
    _register(cli, "w-farther", flipped(setup["rocket"], range(85)))  # 45 bits from the copy ...
    assert [c["work"] for c in _review(cli)] == ["w-rocket", "w-coffee"]
    # ... but one nearer than the candidate is: registering made review look the copy up again
    looked_up = _looked_up(ledger)
    _register(cli, "w-nearer", flipped(setup["rocket"], range(74)))  # 34 bits
    review = _review(cli)
    assert [(c["work"], c["distance"]) for c in review] == [
        ("w-nearer", 34), ("w-rocket", 40), ("w-coffee", 50)]
    again = _looked_up(ledger)
    assert again[rocket_copy] != looked_up[rocket_copy]
    coffee_copy = flipped(setup["coffee"], range(50))  # shares no band with the new hash
    assert again[coffee_copy] == looked_up[coffee_copy]


def test_a_registration_does_not_wait_for_a_proposal_in_progress(cli, ledger, setup) -> None:
    from ledger.matching import review

    with ledger.connect() as proposing:
        review.propose(proposing)  # not committed yet: it cannot see what is registered now
        with ledger.connect() as registering:
            registering.execute("SET lock_timeout = '2s'")
            registering.execute(
                "INSERT INTO work_identifier (kind, value, work_id) SELECT 'pdq', %s, w.id "
                "FROM work w WHERE w.key = 'w-other'", (flipped(setup["rocket"], range(74)),))
            registering.commit()
        proposing.commit()
    # the proposal missed it; the next one looks the copy up again and proposes it
    assert [(c["work"], c["distance"]) for c in _review(cli)] == [
        ("w-other", 34), ("w-rocket", 40), ("w-coffee", 50)]


def test_a_rejection_proposes_the_next_nearest_work(cli, ledger, setup) -> None:
    _register(cli, "w-second", flipped(setup["rocket"], range(76)))  # 36 bits from the copy
    [second, coffee] = _review(cli)
    assert (second["work"], second["distance"], coffee["work"]) == ("w-second", 36, "w-coffee")
    assert cli("matches", "reject", str(second["id"]), "--by", "ops").code == 0
    assert [(c["work"], c["distance"]) for c in _review(cli)] == [("w-rocket", 40),
                                                                  ("w-coffee", 50)]


def test_a_wider_review_threshold_looks_everything_up_again(
        cli, ledger, setup, monkeypatch) -> None:
    from ledger.config import get_settings

    monkeypatch.setenv("ROYALTY_REVIEW_PDQ", "45")
    get_settings.cache_clear()
    try:
        assert [c["work"] for c in _review(cli)] == ["w-rocket"]
        assert {reach for reach, _ in _looked_up(ledger).values()} == {45}
        monkeypatch.setenv("ROYALTY_REVIEW_PDQ", "63")
        get_settings.cache_clear()
        assert [c["work"] for c in _review(cli)] == ["w-rocket", "w-coffee"]
        assert {reach for reach, _ in _looked_up(ledger).values()} == {63}
    finally:
        get_settings.cache_clear()


def test_a_large_registration_forgets_every_fingerprint_looked_up(cli, ledger, setup) -> None:
    _review(cli)
    first = _looked_up(ledger)
    assert len(first) == 2
    # a bulk load of 1,001 fingerprints in one statement: forgetting them all is cheaper than
    # 1,001 look-ups of what they are near
    with ledger.connect() as conn:
        conn.execute("INSERT INTO work_identifier (kind, value, work_id) "
                     "SELECT 'pdq', encode(sha256(convert_to('bulk-' || n, 'UTF8')), 'hex'), "
                     "w.id FROM generate_series(1, 1001) AS n, work w WHERE w.key = 'w-other'")
        conn.commit()
    assert [c["work"] for c in _review(cli)] == ["w-rocket", "w-coffee"]
    again = _looked_up(ledger)
    assert set(again) == set(first)
    assert all(again[value] != first[value] for value in first)
    assert scalar(ledger, "SELECT count(*) FROM proposal_stale") == 0


def test_many_registrations_in_small_statements_forget_everything_too(
        cli, ledger, setup) -> None:
    _review(cli)
    first = _looked_up(ledger)
    with ledger.connect() as conn:
        for n in range(1001):  # one statement each, as an import of one work at a time
            conn.execute("INSERT INTO work_identifier (kind, value, work_id) SELECT 'pdq', %s, "
                         "w.id FROM work w WHERE w.key = 'w-other'", (sha(f"one-{n}"),))
        conn.commit()
    assert scalar(ledger, "SELECT count(*) FROM proposal_stale") == 1001
    _review(cli)
    again = _looked_up(ledger)
    assert all(again[value] != first[value] for value in first)
    assert scalar(ledger, "SELECT count(*) FROM proposal_stale") == 0


def test_a_hash_of_low_quality_is_not_proposed_until_a_good_one_carries_it(
        cli, ledger, setup) -> None:
    blurry = flipped(setup["coffee"], range(60))

    def ingest(event_id: str, quality: int) -> None:
        with ledger.connect() as conn:
            store.ingest(conn, [store.Message(orjson.dumps(
                [usage(event_id, item={"pdq": blurry, "pdq_quality": quality})]),
                BATCH, "usage.acme-ai")], licensees=store.licensee_ids(conn),
                max_message_bytes=10**7)
            conn.commit()

    ingest("blurry", 30)
    assert [c["value"] for c in _review(cli)] == [flipped(setup["rocket"], range(40)),
                                                  flipped(setup["coffee"], range(50))]
    ingest("sharp", 90)
    candidates = _review(cli)
    assert [(c["value"], c["work"], c["distance"], c["events"]) for c in candidates][-1] == (
        blurry, "w-coffee", 60, 2)


def test_an_iscc_content_code_beyond_the_auto_threshold_is_proposed(cli, ledger, setup) -> None:
    import iscc_core

    def content_code(body: int) -> str:
        return "ISCC:" + iscc_core.encode_component(
            iscc_core.MT.CONTENT, iscc_core.ST_CC.TEXT, iscc_core.VS.V0, 64,
            body.to_bytes(8, "big"))

    registered = 0x0123456789ABCDEF
    assert cli("import", "works", "-", input=jsonl(
        [{**work("w-text"), "identifiers": {"iscc": content_code(registered)}}])).code == 0
    near, far = content_code(registered ^ 0xFFF), content_code(registered ^ 0xFFFF_FF)
    with ledger.connect() as conn:  # 12 bits off: for review (8 < 12 <= 15); 24 bits: neither
        store.ingest(conn, [store.Message(orjson.dumps(
            [usage("text-near", item={"iscc": near}), usage("text-far", item={"iscc": far})]),
            BATCH, "usage.acme-ai")], licensees=store.licensee_ids(conn),
            max_message_bytes=10**7)
        conn.commit()
    by_value = {c["value"]: c for c in _review(cli)}
    assert (by_value[near]["work"], by_value[near]["kind"], by_value[near]["distance"]) == (
        "w-text", "iscc", 12)
    assert far not in by_value
