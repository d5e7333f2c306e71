"""Near-duplicate matching (contract §8) through the real store and PostgreSQL, on real
photographs and texts: a re-encoded copy of a registered photograph is paid to its work
with the method and distance recorded; an unregistered one waits in suspense and is paid
back when its work is registered; a low-quality hash and a different picture are never
matched; bad fingerprints are refused with every reason."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
import pytest

from ledger.fingerprints import codes
from ledger.fingerprints.files import fingerprint
from ledger.ingest import deadletters, store
from ledger.ingest.events import BATCH, SINGLE
from ledger.matching import reevaluation
from tests.builders import creator, flipped, jsonl, license, licensee, work
from tests.ingest_helpers import usage
from tests.media import jpeg_copy, photograph, texts
from tests.plans import captured_plans, modifying, rows_handled


@pytest.fixture
def media(tmp_path: Path) -> dict[str, dict]:
    """Fingerprint lines of originals and of the copies a training set would hold."""
    files = {
        "astronaut": photograph("astronaut"),
        "astronaut-copy": jpeg_copy(photograph("astronaut"), 85, 0.5),
        "coffee": photograph("coffee"),
        "coffee-copy": jpeg_copy(photograph("coffee"), 50),
        "rocket": photograph("rocket"),
        "rocket-copy": jpeg_copy(photograph("rocket"), 85, 0.5),
    }
    out = {}
    for name, img in files.items():
        path = tmp_path / f"{name}.png"
        img.save(path)
        out[name] = fingerprint(path).as_identifiers()
    text = texts()["iscc-demo"]
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    (tmp_path / "text-wide.txt").write_text(" ".join(text.split()), encoding="utf-8")
    out["text"] = fingerprint(tmp_path / "text.txt").as_identifiers()
    out["text-copy"] = fingerprint(tmp_path / "text-wide.txt").as_identifiers()
    return out


def _work(key: str, **identifiers: object) -> dict:
    return {**work(key), "identifiers": identifiers}


@pytest.fixture
def catalog(cli, ledger, media):
    assert cli("import", "creators", "-", input=jsonl([creator("alice"), creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    works = [
        _work("w-astronaut", pdq=media["astronaut"]["pdq"]),
        # two renditions of one photograph
        _work("w-coffee", pdq=[media["coffee"]["pdq"], media["astronaut"]["pdq"][::-1]]),
        _work("w-text", iscc=media["text"]["iscc"]),
    ]
    result = cli("import", "works", "-", input=jsonl(works))
    assert result.code == 0, result.stderr
    assert cli("import", "licenses", "-", input=jsonl([license("l-1")])).code == 0
    return ledger


def _ingest(ledger, *events: dict) -> store.BatchResult:
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(list(events)), BATCH,
                                                   "usage.acme-ai")],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    return result


def _outcomes(ledger) -> dict[str, tuple]:
    with ledger.connect() as conn:
        rows = conn.execute("""
            SELECT e.event_id, e.outcome, w.key, e.match_method, e.match_distance
            FROM usage_event e LEFT JOIN work w ON w.id = e.work_id ORDER BY e.event_id""")
        return {r[0]: r[1:] for r in rows}


def _item(line: dict, *kinds: str) -> dict:
    return {k: line[k] for k in kinds}


def test_copies_are_paid_to_the_work_they_resemble(catalog, media) -> None:
    result = _ingest(catalog,
                     usage("astronaut", item=_item(media["astronaut-copy"], "pdq", "pdq_quality")),
                     usage("coffee", item=_item(media["coffee-copy"], "pdq")),
                     usage("rocket", item=_item(media["rocket-copy"], "pdq")),
                     usage("text", item=_item(media["text-copy"], "iscc")),
                     usage("text-bytes", item=_item(media["text"], "iscc")),
                     usage("low", item={"pdq": media["astronaut"]["pdq"], "pdq_quality": 30}))
    assert result.accepted == 6
    outcomes = _outcomes(catalog)
    pdq_distance = codes.hamming(media["astronaut"]["pdq"], media["astronaut-copy"]["pdq"])
    assert 0 < pdq_distance <= 31
    assert outcomes["astronaut"] == ("accrued", "w-astronaut", "pdq", pdq_distance)
    assert outcomes["coffee"] == ("accrued", "w-coffee", "pdq", codes.hamming(
        media["coffee"]["pdq"], media["coffee-copy"]["pdq"]))
    assert outcomes["rocket"] == ("unmatched", None, None, None)
    text_distance = codes.hamming(codes.units_of(media["text"]["iscc"]).content,
                                  codes.units_of(media["text-copy"]["iscc"]).content)
    assert outcomes["text"] == ("accrued", "w-text", "iscc", text_distance)
    # the same bytes: the Instance-Code matches exactly
    assert outcomes["text-bytes"] == ("accrued", "w-text", "exact", None)
    # contract §8: a hash of quality below 50 is kept but never matched by similarity
    assert outcomes["low"] == ("unmatched", None, None, None)


def test_a_batch_of_texts_alone_is_matched(catalog, media) -> None:
    # a batch whose only fingerprints are ISCCs (no PDQ hash in it) builds its look-up from
    # the ISCC statements alone
    result = _ingest(catalog, usage("text", item=_item(media["text-copy"], "iscc")),
                     usage("plain", item={"sha256": "ab" * 32}))
    assert result.accepted == 2
    text_distance = codes.hamming(codes.units_of(media["text"]["iscc"]).content,
                                  codes.units_of(media["text-copy"]["iscc"]).content)
    assert _outcomes(catalog) == {"plain": ("unmatched", None, None, None),
                                  "text": ("accrued", "w-text", "iscc", text_distance)}


def test_late_registration_pays_back_a_similar_copy(catalog, cli, media) -> None:
    _ingest(catalog, usage("rocket", item=_item(media["rocket-copy"], "pdq")))
    assert _outcomes(catalog)["rocket"][0] == "unmatched"
    assert cli("import", "works", "-",
               input=jsonl([_work("w-rocket", pdq=media["rocket"]["pdq"])])).code == 0
    with catalog.connect() as conn:
        done = reevaluation.drain(conn)
    assert done.booked == 1
    assert _outcomes(catalog)["rocket"] == ("accrued", "w-rocket", "pdq", codes.hamming(
        media["rocket"]["pdq"], media["rocket-copy"]["pdq"]))


def test_a_large_suspense_is_paid_back_in_one_pass_over_it(catalog, cli) -> None:
    """Registering works re-evaluates every event in suspense. Their fingerprints' candidates
    must be joined to the events once, not once per event, as a planner that guesses a
    handful of candidates does (on the bench catalog, a 10,000-event chunk took 11 s
    instead of 0.9 s)."""
    hashes = [hashlib.sha256(b"unregistered-%d" % i).hexdigest() for i in range(300)]
    copies = [usage(f"copy{i}", item={"pdq": flipped(hashes[i % 300], list(range(i % 5, 24, 4)))})
              for i in range(900)]
    strangers = [usage(f"stranger{i}", item={"pdq": hashlib.sha256(b"s%d" % i).hexdigest()})
                 for i in range(300)]
    _ingest(catalog, *copies, *strangers)
    assert cli("import", "works", "-", input=jsonl([
        _work(f"w-new-{i}", pdq=h) for i, h in enumerate(hashes)])).code == 0
    with catalog.connect() as conn, captured_plans(conn) as plans:
        done = reevaluation.drain(conn)
    assert done.booked == 900
    outcomes = _outcomes(catalog)
    assert {outcomes[f"copy{i}"][:3] for i in range(900) if i % 300 == 7} == {
        ("accrued", "w-new-7", "pdq")}
    assert all(outcomes[f"copy{i}"][1] == f"w-new-{i % 300}" for i in range(900))
    assert all(outcomes[f"stranger{i}"][0] == "unmatched" for i in range(300))
    assert rows_handled(modifying(plans, "reevaluated")) < 100 * (900 + 300)


def test_the_nearest_wins_and_ties_go_to_the_lower_work_key(catalog, cli, media) -> None:
    base = media["rocket"]["pdq"]
    works = [_work("w-b", pdq=flipped(base, [0, 1])), _work("w-a", pdq=flipped(base, [2, 3])),
             _work("w-c", pdq=flipped(base, [4]))]
    assert cli("import", "works", "-", input=jsonl(works)).code == 0
    _ingest(catalog, usage("near", item={"pdq": base}),
            usage("tie", item={"pdq": flipped(base, [0, 1, 2, 3, 4])}))
    outcomes = _outcomes(catalog)
    assert outcomes["near"][1:] == ("w-c", "pdq", 1)
    # w-c is at 4, w-a and w-b at 3: a tie, broken by work key
    assert outcomes["tie"][1:] == ("w-a", "pdq", 3)


def test_bad_fingerprints_in_a_works_file_are_all_reported(cli, ledger, media) -> None:
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    rows = [_work("w-1", pdq="ab" * 31), _work("w-2", pdq=["zz" * 32, media["coffee"]["pdq"]]),
            _work("w-3", iscc="ISCC:ZZZZZZZZZZZZ"), _work("w-4", iscc="ISCC:MEAAAAAAAAAAAAAA")]
    result = cli("import", "works", "-", input=jsonl(rows))
    assert result.code == 2
    err = " ".join(result.stderr.split())
    assert "line 1" in err and "64 hex digits (256 bits), not 62" in err
    assert "line 2" in err and "identifiers.pdq[0]: pdq must be hex digits only" in err
    assert "line 3" in err and "iscc does not decode" in err
    assert "line 4" in err and "unknown type" in err
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM work").fetchone()[0] == 0


@pytest.mark.parametrize(("item", "field"), [
    ({"pdq": "ab" * 31}, "data.item.pdq"),
    ({"pdq": "xy" * 32}, "data.item.pdq"),
    ({"pdq": ["ab" * 32]}, "data.item.pdq"),
    ({"iscc": "ISCC:ZZZZZZZZZZZZ"}, "data.item.iscc"),
    ({"iscc": "ISCC:MEAAAAAAAAAAAAAA"}, "data.item.iscc"),
    ({"pdq": "ab" * 32, "pdq_quality": 101}, "data.item.pdq_quality"),
    ({"pdq": "ab" * 32, "pdq_quality": "high"}, "data.item.pdq_quality"),
])
def test_a_bad_fingerprint_in_an_event_is_dead_lettered_naming_it(catalog, item, field) -> None:
    with catalog.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(usage("bad", item=item)), SINGLE,
                                                   "usage.acme-ai"),
                                     store.Message(orjson.dumps(usage("good")), SINGLE,
                                                   "usage.acme-ai")],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.commit()
        [letter] = deadletters.list_dead_letters(conn)
    assert (result.accepted, result.dead_lettered) == (1, 1)
    assert (letter["reason"], letter["field"]) == ("invalid_event", field)


def test_lookup_answers_was_this_file_used(catalog, cli, media) -> None:
    _ingest(catalog,
            usage("a1", item=_item(media["astronaut-copy"], "pdq")),
            usage("a2", item=_item(media["astronaut-copy"], "pdq"), quantity="2"),
            usage("r1", item=_item(media["rocket-copy"], "pdq", "sha256")))
    result = cli("lookup", media["astronaut"]["file"], media["rocket-copy"]["file"],
                 "--format", "json")
    assert result.code == 0, result.stderr
    astronaut, rocket = orjson.loads(result.stdout)
    assert [(w["work"], w["method"], w["distance"]) for w in astronaut["works"]] == [
        ("w-astronaut", "pdq", 0)]
    [use] = astronaut["uses"]
    assert (use["licensee"], use["model"], use["purpose"], use["dataset"], use["outcome"],
            use["events"], use["quantity"]) == ("acme-ai", "acme-video-2", "ai-train",
                                                "webvid-subset-3", "accrued", 2, "3")
    assert use["method"] == "pdq" and float(use["net"]) > 0
    # the rocket is registered by nobody: its use waits in suspense
    assert rocket["works"] == [] and rocket["in_suspense"][0]["events"] == 1
    assert rocket["in_suspense"][0]["method"] == "exact"
    assert astronaut["in_suspense"] == []
    missing = cli("lookup", "/nonexistent.png")
    assert missing.code == 2 and "no such file" in missing.stderr


def test_lookup_finds_the_copies_of_an_unregistered_file_in_suspense(catalog, cli, media
                                                                   ) -> None:
    """A creator asks about a photograph nobody registered: the training set held a
    re-encoded copy of it, which waits in suspense; a low-quality hash of a copy would
    never be matched, and is not shown either."""
    copy = media["rocket-copy"]
    _ingest(catalog,
            usage("r1", item={"pdq": copy["pdq"], "sha256": copy["sha256"]}),
            usage("r2", item={"pdq": copy["pdq"]}, quantity="4", model="acme-image-9"),
            usage("blurry", item={"pdq": copy["pdq"], "pdq_quality": 20}, model="acme-blur"),
            usage("coffee-like", item={"pdq": flipped(media["coffee"]["pdq"], list(range(40)))}))
    result = cli("lookup", media["rocket"]["file"], "--format", "json")
    assert result.code == 0, result.stderr
    [rocket] = orjson.loads(result.stdout)
    distance = codes.hamming(media["rocket"]["pdq"], copy["pdq"])
    assert 0 < distance <= 31
    assert [(u["model"], u["method"], u["max_distance"], u["events"], u["quantity"])
            for u in rocket["in_suspense"]] == [("acme-image-9", "pdq", distance, 1, "4"),
                                                ("acme-video-2", "pdq", distance, 1, "1")]
    table = cli("lookup", media["rocket"]["file"])
    assert table.code == 0 and "(suspense)" in table.stdout
    assert len(re.findall(rf"│ pdq\s+│\s+{distance} │", table.stdout)) == 2, table.stdout


def test_suspense_groups_copies_by_fingerprint(catalog, cli, media) -> None:
    copy = media["rocket-copy"]
    _ingest(catalog, usage("r1", item={"pdq": copy["pdq"], "sha256": copy["sha256"]}),
            usage("r2", item={"pdq": copy["pdq"], "sha256": "0" * 64}),
            usage("plain", item={"sha256": "1" * 64}))
    rows = orjson.loads(cli("report", "suspense", "--format", "json").stdout)
    assert [(r["identifier"], r["value"], r["events"]) for r in rows] == [
        ("pdq", copy["pdq"], 2), ("sha256", "1" * 64, 1)]


def test_statements_and_transparency_say_how_events_were_matched(catalog, cli, media) -> None:
    _ingest(catalog, usage("a1", item=_item(media["astronaut-copy"], "pdq")),
            usage("a2", item=_item(media["astronaut-copy"], "pdq")),
            usage("x1", item={"sha256": work("w-astronaut")["identifiers"]["sha256"]}))
    assert cli("import", "works", "-", input=jsonl([
        {**_work("w-astronaut", pdq=media["astronaut"]["pdq"],
                 sha256=work("w-astronaut")["identifiers"]["sha256"])}])).code == 0
    _ingest(catalog, usage("x2", item={"sha256": work("w-astronaut")["identifiers"]["sha256"]}))
    distance = codes.hamming(media["astronaut"]["pdq"], media["astronaut-copy"]["pdq"])
    statement = orjson.loads(cli("report", "statement", "--creator", "alice",
                                 "--format", "json").stdout)
    [line] = [li for li in statement["lines"] if li["work"] == "w-astronaut"]
    assert line["events"] == 3 and line["match"] == f"pdq ≤{distance}: 2, exact: 1"
    table = cli("report", "statement", "--creator", "alice").stdout
    assert f"pdq ≤{distance}: 2" in " ".join(table.split())
    html = cli("report", "statement", "--creator", "alice", "--format", "html").stdout
    assert "<th>Matched</th>" in html and f"pdq ≤{distance}: 2, exact: 1" in html
    page = orjson.loads(cli("report", "transparency", "--licensee", "acme-ai",
                            "--format", "json").stdout)
    assert page["by_method"] == {"exact": 1, "pdq": 2}
    assert page["max_distance"] == {"pdq": distance}


def test_a_replaced_fingerprint_no_longer_matches(catalog, cli, media) -> None:
    """Re-importing a work with another hash: the old one is forgotten by the index."""
    assert cli("import", "works", "-", input=jsonl([
        _work("w-astronaut", pdq=media["rocket"]["pdq"])])).code == 0
    _ingest(catalog, usage("a", item=_item(media["astronaut-copy"], "pdq")),
            usage("r", item=_item(media["rocket-copy"], "pdq")))
    outcomes = _outcomes(catalog)
    assert outcomes["a"][:2] == ("unmatched", None)
    assert outcomes["r"][:3] == ("accrued", "w-astronaut", "pdq")
    with catalog.connect() as conn:
        bands = conn.execute("SELECT count(*) FROM fingerprint_band").fetchone()[0]
        fingerprints = conn.execute("SELECT count(*) FROM work_identifier "
                                    "WHERE kind IN ('pdq', 'iscc')").fetchone()[0]
    # 14 bands a PDQ hash, 4 an ISCC Content-Code: none left of the replaced hash
    assert bands == 14 * 3 + 4 * 1 and fingerprints == 4


def test_an_exact_identifier_comes_before_a_fingerprint(catalog, cli, media) -> None:
    """An item that carries a registered sha256 and a fingerprint is its exact work's; the
    fingerprint decides when the exact identifier's work is retired, and for the same hash
    in another event of the batch."""
    assert cli("import", "works", "-", input=jsonl([work("w-plain")])).code == 0
    assert cli("works", "retire", "w-plain", "--at", "2026-11-02T12:00:00Z").code == 0
    plain = work("w-plain")["identifiers"]["sha256"]
    copy, coffee = media["astronaut-copy"]["pdq"], media["coffee-copy"]["pdq"]
    _ingest(catalog, usage("both", item={"sha256": plain, "pdq": copy}),
            usage("copy-only", item={"pdq": copy}),
            usage("both-after-retirement", item={"sha256": plain, "pdq": coffee},
                  time_="2026-11-02T13:00:00Z"))
    outcomes = _outcomes(catalog)
    assert outcomes["both"] == ("accrued", "w-plain", "exact", None)
    assert outcomes["copy-only"] == ("accrued", "w-astronaut", "pdq",
                                     codes.hamming(media["astronaut"]["pdq"], copy))
    assert outcomes["both-after-retirement"] == ("accrued", "w-coffee", "pdq",
                                                 codes.hamming(media["coffee"]["pdq"], coffee))
