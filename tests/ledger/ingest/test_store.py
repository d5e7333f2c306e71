"""The ingest store on the real PostgreSQL: deduplication, dead letters, replay."""

from __future__ import annotations

import hashlib
import json
from array import array

import orjson
import pytest

from ledger.ingest import deadletters, store
from ledger.ingest import sql as ingest_sql
from ledger.matching import accrual, thresholds
from ledger.matching import sql as matching_sql
from ledger.ingest.events import BATCH, SINGLE
from tests.builders import creator, expected_net, flipped, jsonl, license, licensee, sha, work
from tests.ingest_helpers import scalar, usage, wait_for
from tests.plans import captured_plans, modifying, nodes, rows_handled


@pytest.fixture
def registered(cli, ledger):
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    return ledger


def ingest(ledger, *bodies: tuple[bytes, str]) -> store.BatchResult:
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(b, ct, "usage.acme-ai") for b, ct in bodies],
                              licensees=store.licensee_ids(conn), max_message_bytes=1_000_000)
        conn.commit()
    return result


def batch(*events: object) -> tuple[bytes, str]:
    return orjson.dumps(list(events)), BATCH


@pytest.fixture
def handed(monkeypatch) -> list[int]:
    """How many staged events each insert statement ``store.write`` ran was handed, in
    order (what deduplication left in the stage)."""
    counts: list[int] = []
    real = accrual.accrue

    def spy(conn, columns, source, kinds=None):  # noqa: ANN001, ANN202
        counts.append(conn.execute("SELECT count(*) FROM ingest_stage").fetchone()[0])
        return real(conn, columns, source, kinds)

    monkeypatch.setattr(accrual, "accrue", spy)
    return counts


def dead_letters(ledger) -> list[dict]:
    with ledger.connect() as conn:
        return deadletters.list_dead_letters(conn)


def test_events_are_stored_with_identifiers_normalised_and_extras_kept(registered) -> None:
    event = usage("e1", item={"sha256": "AB" * 32, "url": "HTTPS://Example.org:443/a.mp4#t=1",
                              "frame": 12}, quantity="2.5", unit="seconds", shard=7)
    event["traceparent"] = "00-abc-01"
    result = ingest(registered, (orjson.dumps(event), SINGLE))
    assert (result.received, result.accepted, result.duplicates) == (1, 1, 0)
    with registered.connect() as conn:
        row = conn.execute("SELECT sha256, url, quantity, unit, extensions, time, model "
                           "FROM usage_event").fetchone()
    assert row[0] == "ab" * 32 and row[1] == "https://example.org/a.mp4"
    assert str(row[2]) == "2.5" and row[3] == "seconds" and row[6] == "acme-video-2"
    assert row[4] == {"traceparent": "00-abc-01", "data": {"shard": 7}, "item": {"frame": 12}}


def test_a_duplicate_has_no_effect_and_is_counted(registered) -> None:
    ingest(registered, batch(usage("e1"), usage("e2")))
    # Same content, keys in another order and other white space: still a duplicate.
    reordered = json.loads(json.dumps(usage("e1"), sort_keys=True))
    again = ingest(registered, (json.dumps(reordered, indent=2).encode(), SINGLE),
                   batch(usage("e2"), usage("e2")))
    assert (again.received, again.accepted, again.duplicates, again.dead_lettered) == (3, 0, 3, 0)
    assert scalar(registered, "SELECT count(*) FROM usage_event") == 2


def test_a_conflicting_duplicate_is_dead_lettered_and_the_first_stands(registered) -> None:
    ingest(registered, batch(usage("e1", quantity="1")))
    result = ingest(registered, batch(usage("e1", quantity="5"), usage("e3"),
                                      usage("e3", quantity="9")))
    assert (result.accepted, result.dead_lettered) == (1, 2)
    assert [d["reason"] for d in dead_letters(registered)] == ["conflicting_duplicate"] * 2
    assert scalar(registered, "SELECT quantity FROM usage_event WHERE event_id = 'e1'") == 1


@pytest.mark.parametrize(("body", "content_type", "reason", "field"), [
    (b'{"specversion": "1.0", "id": ', SINGLE, "malformed_json", None),
    (b'{"not": "a list"}', BATCH, "malformed_json", None),
    (orjson.dumps(usage("x")), "application/json", "unsupported_content_type", None),
    (orjson.dumps(usage("x", licensee="nobody")), SINGLE, "unknown_licensee", "data.licensee"),
    (orjson.dumps({**usage("x"), "specversion": "0.3"}), SINGLE, "invalid_event", "specversion"),
    (orjson.dumps({**usage("x"), "time": "yesterday"}), SINGLE, "invalid_event", "time"),
    (orjson.dumps({**usage("x"), "time": "2026-11-02T10:00:00"}), SINGLE, "invalid_event", "time"),
    (orjson.dumps({k: v for k, v in usage("x").items() if k != "source"}), SINGLE,
     "invalid_event", "source"),
    (orjson.dumps(usage("x", purpose="ai-dream")), SINGLE, "invalid_event", "data.purpose"),
    (orjson.dumps(usage("x", item={"md5": "x"})), SINGLE, "invalid_event", "data.item"),
    (orjson.dumps(usage("x", item={"sha256": "xyz"})), SINGLE, "invalid_event",
     "data.item.sha256"),
    (orjson.dumps(usage("x", quantity="-1")), SINGLE, "invalid_event", "data.quantity"),
    (orjson.dumps(usage("x", quantity="lots")), SINGLE, "invalid_event", "data.quantity"),
    (b"x" * 2_000_000, BATCH, "too_large", None),
])
def test_every_reason_is_dead_lettered_with_the_raw_bytes(
        registered, body, content_type, reason, field) -> None:
    result = ingest(registered, (body, content_type))
    assert result.accepted == 0 and result.dead_lettered == 1
    [letter] = dead_letters(registered)
    assert (letter["reason"], letter["field"]) == (reason, field)
    with registered.connect() as conn:
        raw = deadletters.raw_of(conn, letter["id"])
    if reason in ("malformed_json", "unsupported_content_type", "too_large"):
        assert raw == body  # the whole body, as it came
    else:
        assert orjson.loads(raw) == orjson.loads(body)


def test_one_bad_event_does_not_hold_back_the_good_ones(registered) -> None:
    result = ingest(registered, batch(usage("g1"), {**usage("b1"), "time": 5}, "not an event",
                                      usage("g2", licensee="ghost"), usage("g3")))
    assert (result.received, result.accepted, result.dead_lettered) == (5, 2, 3)
    assert sorted(d["reason"] for d in dead_letters(registered)) == [
        "invalid_event", "invalid_event", "unknown_licensee"]


def test_exact_quantities_even_as_long_json_numbers(registered) -> None:
    event = usage("q1")
    event["data"]["quantity"] = "placeholder"
    raw = orjson.dumps([event]).replace(b'"placeholder"', b"0.12345678901234567890123")
    # the same, with the key spelt with a JSON escape
    escaped = orjson.dumps([usage("q2", quantity="placeholder")]).replace(
        b'"quantity":"placeholder"', b'"quantit\\u0079": 0.98765432109876543210987')
    ingest(registered, (raw, BATCH), (escaped, BATCH))
    with registered.connect() as conn:
        stored = [str(q) for (q,) in conn.execute(
            "SELECT quantity FROM usage_event ORDER BY event_id")]
    assert stored == ["0.12345678901234567890123", "0.98765432109876543210987"]


def test_a_redelivered_batch_leaves_no_second_dead_letter(cli, registered) -> None:
    # The commit landed, the acknowledgement was lost: the broker delivers it all again.
    delivery = (batch(usage("g1"), {**usage("b1"), "time": 5}, usage("g2", licensee="ghost")),
                (b"{broken", SINGLE))
    first = ingest(registered, *delivery)
    assert (first.received, first.accepted, first.duplicates, first.dead_lettered) == (4, 1, 0, 3)
    again = ingest(registered, *delivery)
    assert (again.received, again.accepted, again.duplicates, again.dead_lettered) == (4, 0, 4, 0)
    assert sorted(d["reason"] for d in dead_letters(registered)) == [
        "invalid_event", "malformed_json", "unknown_licensee"]
    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["events"] | {"pending": 0} == {"received": 8, "accepted": 1, "duplicates": 4,
                                                 "dead_letters": 3, "pending": 0}
    # Replayed once the licensee is registered, the letter is resolved; the same bytes sent
    # again are then an event already stored, not a new dead letter.
    assert cli("import", "licensees", "-", input=jsonl([licensee("ghost")])).code == 0
    assert "1 events accepted" in cli("dead-letters", "replay").stdout
    third = ingest(registered, batch(usage("g2", licensee="ghost")))
    assert (third.accepted, third.duplicates, third.dead_lettered) == (0, 1, 0)
    assert len(dead_letters(registered)) == 2


def test_a_fault_of_ours_on_a_redelivered_message_is_set_aside_once(registered) -> None:
    with registered.connect() as conn:
        message = store.Message(b'[{"id": "x"}]', BATCH, "usage.acme-ai")
        store.set_aside(conn, message, "RuntimeError: bug reached")
        store.set_aside(conn, message, "RuntimeError: bug reached")
        conn.commit()
    assert [d["reason"] for d in dead_letters(registered)] == ["unprocessable"]
    assert scalar(registered, "SELECT sum(duplicates) FROM ingest_batch") == 1
    assert scalar(registered, "SELECT sum(dead_lettered) FROM ingest_batch") == 1


def test_unknown_licensee_is_replayed_once_registered(cli, registered) -> None:
    ingest(registered, batch(usage("late-1", licensee="late-co"), usage("late-2",
                                                                        licensee="late-co")))
    assert len(dead_letters(registered)) == 2
    result = cli("dead-letters", "replay")
    assert "2 still bad" in result.stdout
    assert cli("import", "licensees", "-", input=jsonl([licensee("late-co")])).code == 0
    result = cli("dead-letters", "replay")
    assert result.code == 0 and "2 events accepted" in result.stdout and "0 still bad" in result.stdout
    assert dead_letters(registered) == []
    assert scalar(registered, "SELECT count(*) FROM usage_event") == 2
    status = json.loads(cli("status", "--format", "json").stdout)
    assert status["events"] | {"pending": 0} == {"received": 2, "accepted": 2, "duplicates": 0,
                                                 "dead_letters": 0, "pending": 0}
    report = json.loads(cli("report", "dead-letters", "--all", "--format", "json").stdout)
    assert [r["resolution"] for r in report] == ["replayed", "replayed"]


def test_letters_replayed_in_one_transaction_are_each_stored_and_booked_once(cli, registered
                                                                             ) -> None:
    """A replay stores its letters one after another in one transaction: no batch may
    carry the staged or accrued rows of the one before it into its own insert or booking."""
    from ledger.matching import reevaluation
    from tests.builders import license

    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    ingest(registered, batch(*(usage(f"late-{i}", licensee="late-co", item={"sha256": sha("w1")})
                               for i in range(3))))
    assert cli("import", "licensees", "-", input=jsonl([licensee("late-co")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l-late", "late-co")])).code == 0
    with registered.connect() as conn:
        reevaluation.drain(conn)
        conn.commit()
    result = cli("dead-letters", "replay")
    assert result.code == 0 and "3 events accepted" in result.stdout, result.stdout
    assert scalar(registered, "SELECT count(*) FROM usage_event WHERE outcome = 'accrued'") == 3
    owed = scalar(registered, """
        SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
        WHERE a.kind = 'creator_payable'""")
    assert owed == 3 * expected_net("1", "0.0023", "0.15")
    assert scalar(registered, "SELECT sum(events) FROM usage_tally") == 3
    assert scalar(registered, "SELECT sum(accrued) FROM usage_work_tally") == 3


def test_replaying_a_still_bad_letter_keeps_it_with_its_reason(cli, registered) -> None:
    ingest(registered, (b"{broken", SINGLE))
    [letter] = dead_letters(registered)
    assert "1 still bad" in cli("dead-letters", "replay", str(letter["id"])).stdout
    [again] = dead_letters(registered)
    assert again["id"] == letter["id"] and again["attempts"] == 2
    assert again["reason"] == "malformed_json"


@pytest.mark.parametrize("padding", [0, 20])
def test_two_writers_storing_the_same_event_at_once_store_and_book_it_once(
        cli, registered, padding, handed) -> None:
    """A redelivery racing its first delivery on another writer: the second writer waits
    for the first one's commit, leaves the event out, counts it as a duplicate and books
    only its own events. With ``padding``, the messages are large enough for the second
    batch to look new (its first event is not stored) and be inserted whole at first: the
    shared event makes it take the stored events out and insert again."""
    import threading

    import psycopg

    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l1")])).code == 0
    shared = usage("shared", item={"sha256": sha("w1")})
    first, second = registered.connect(), registered.connect()
    try:
        licensees = store.licensee_ids(first)
        one = store.ingest(first, [store.Message(*batch(
            shared, usage("a"), *(usage(f"a{i}") for i in range(padding))))],
                           licensees=licensees, max_message_bytes=1_000_000)
        results: list[store.BatchResult] = []
        racer = threading.Thread(target=lambda: results.append(store.ingest(
            second, [store.Message(*batch(usage("b", item={"sha256": sha("w1")}),
                                          *(usage(f"b{i}") for i in range(padding)), shared))],
            licensees=licensees, max_message_bytes=1_000_000)))
        racer.start()
        # the second writer waits on the first one's uncommitted copy of the shared event
        pid = second.info.backend_pid
        with psycopg.connect(registered.database_url, autocommit=True) as watcher:
            wait_for(lambda: watcher.execute(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                (pid,)).fetchone()[0])
        first.commit()
        racer.join(timeout=30)
        second.commit()
    finally:
        first.close()
        second.close()
    # the second batch is handed over whole (the first one's copy is not committed when it
    # looks), refused, and handed over again without the shared event
    assert handed == [2 + padding, 2 + padding, 1 + padding]
    assert (one.accepted, one.duplicates) == (2 + padding, 0)
    assert (results[0].accepted, results[0].duplicates, results[0].dead_lettered) == (
        1 + padding, 1, 0)
    assert scalar(registered, "SELECT count(*) FROM usage_event") == 3 + 2 * padding
    # two accrued events (shared, b) booked once each: the creator is owed two nets
    owed = scalar(registered, """
        SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
        WHERE a.kind = 'creator_payable'""")
    assert owed == 2 * expected_net("1", "0.0023", "0.15")


def test_a_message_that_trips_a_fault_of_ours_is_set_aside_and_the_rest_goes_through(
        registered, monkeypatch) -> None:
    real_read = store.read

    def faulty(body: bytes, content_type: str | None):  # a bug only this one message reaches
        if b'"boom"' in body:
            raise RuntimeError("bug reached")
        return real_read(body, content_type)

    monkeypatch.setattr(store, "read", faulty)
    culprit = batch(usage("c1"), usage("boom"))
    result = ingest(registered, batch(usage("a1"), usage("a2")), culprit, batch(usage("b1")))
    assert (result.messages, result.received, result.accepted, result.dead_lettered) == (3, 4, 3, 1)
    [letter] = dead_letters(registered)
    assert letter["reason"] == "unprocessable" and "RuntimeError: bug reached" in letter["detail"]
    with registered.connect() as conn:
        stored = {r[0] for r in conn.execute("SELECT event_id FROM usage_event")}
        assert bytes(conn.execute("SELECT raw FROM dead_letter").fetchone()[0]) == culprit[0]
    assert stored == {"a1", "a2", "b1"}


def test_a_batch_is_matched_by_index_probes_even_against_a_small_analysed_catalog(
        cli, registered) -> None:
    # With statistics that call the catalog small and a staging table the planner cannot
    # size, joining the identifiers once scanned the whole identifier table for every
    # event (a 1,000-work catalog: 1 s a batch instead of 0.1 s).
    works = [work(f"w{i}") for i in range(300)]
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "works", "-", input=jsonl(works)).code == 0
    events = [usage(f"e{i}", item={"sha256": sha(f"w{i % 600}"),
                                   "url": f"https://example.org/w{i % 600}.jpg"})
              for i in range(2000)]
    with registered.connect() as conn:
        conn.execute("ANALYZE work_identifier")
        prepared = store.prepare(conn, [store.Message(*batch(*events))],
                                 licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.execute(ingest_sql.CREATE_STAGE)
        conn.execute(matching_sql.CREATE_ACCRUED_TABLE)
        store.copy_staged(conn, prepared.staged)
        insert = matching_sql.insert_evaluated(ingest_sql.COLUMNS, ingest_sql.STAGED_EVENTS)
        params = {"entry": None, **thresholds.params()}
        accrual.look_up(conn, matching_sql.fill_near(ingest_sql.STAGED_EVENTS), params)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + insert, params))
        conn.execute(insert, params)
        matched = conn.execute("SELECT count(work_id) FROM usage_event").fetchone()[0]
        conn.rollback()
    assert "Seq Scan on work_identifier" not in plan, plan
    assert "Index Scan using work_identifier_pkey" in plan, plan
    assert matched == 1100  # i % 600 < 300


def test_a_batch_of_small_messages_looks_its_fingerprints_up_once(cli, registered) -> None:
    """Messages of one event each are deduplicated before matching. Matching must still
    join the batch's fingerprints to their candidates once, not once per event: read
    through a filter that sized the new events at 0.5 % of the stage, the candidates were
    scanned for every event (a 20,000-event batch took 13 s instead of 1.5 s)."""
    hashes = [hashlib.sha256(b"painting-%d" % i).hexdigest() for i in range(200)]
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        {**work(f"w{i}"), "identifiers": {"pdq": h}} for i, h in enumerate(hashes)])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l1")])).code == 0
    events = [usage(f"copy{i}", item={"pdq": flipped(hashes[i % 200], range(i % 7, 20, 3))})
              for i in range(600)]
    events += [usage(f"stranger{i}", item={"pdq": hashlib.sha256(b"x%d" % i).hexdigest()})
               for i in range(200)]
    with registered.connect() as conn, captured_plans(conn) as plans:
        messages = [store.Message(*batch(e)) for e in events]
        prepared = store.prepare(conn, messages, licensees=store.licensee_ids(conn),
                                 max_message_bytes=10**6)
        assert not store._fresh(conn, prepared)  # one event a message
        result = store.write(conn, prepared)
        conn.commit()
    # about 30 rows an event; joined once per event, the 600 copies' candidates alone
    # made 600 times the events
    assert rows_handled(modifying(plans, "usage_event")) < 100 * len(events)
    assert result.accepted == 800
    with registered.connect() as conn:
        matched = dict(conn.execute("""
            SELECT e.event_id, w.key FROM usage_event e JOIN work w ON w.id = e.work_id
            WHERE e.match_method = 'pdq'""").fetchall())
    assert matched == {f"copy{i}": f"w{i % 200}" for i in range(600)}
    # the look-up probes each band position's part of the band table once a fingerprint,
    # and no other part: 800 distinct hashes, 14 positions
    probes = [(n["Relation Name"], n["Actual Loops"])
              for n in nodes(modifying(plans, "near_candidate"))
              if n["Node Type"] == "Index Only Scan" and n["Actual Loops"]]
    assert sorted(probes) == [(f"fingerprint_band_pdq_{i:02d}", 800) for i in range(14)]


def test_a_unique_violation_no_concurrent_writer_explains_is_raised_not_retried(registered
                                                                                ) -> None:
    """The insert runs again only while a refusal leaves fewer new events (a concurrent
    copy); two staged rows of one identity (a fault of ours) end in the error instead."""
    import psycopg

    with registered.connect() as conn:
        prepared = store.prepare(conn, [store.Message(*batch(usage("twice")))],
                                 licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.execute(ingest_sql.CREATE_STAGE)
        store.copy_staged(conn, prepared.staged)
        [row] = conn.execute(f"SELECT seq, {', '.join(ingest_sql.COLUMNS)} FROM ingest_stage").fetchall()
        conn.rollback()
        doubled = store.Prepared(store.staged(conn, [row, (1, *row[1:])]), 2,
                                 array("q", [0, 0]), prepared.result, prepared.kinds,
                                 prepared.messages)
        with pytest.raises(psycopg.errors.UniqueViolation):
            store.write(conn, doubled)
        conn.rollback()
    assert scalar(registered, "SELECT count(*) FROM usage_event") == 0


def test_a_batch_that_looks_new_but_holds_a_stored_event_stores_the_rest_once(
        cli, registered, handed) -> None:
    """A message's first event decides whether its batch is inserted whole (nothing taken
    out first); one stored event further on makes that insert fail, and the batch is stored
    again with the stored events taken out: they count as duplicates (or conflicts), the
    rest once, tallied and booked once."""
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l1")])).code == 0
    item = {"sha256": sha("w1")}
    ingest(registered, batch(usage("old1", item=item), usage("old2", item=item)))
    fresh = [usage(f"n{i}", item=item) for i in range(40)]
    with registered.connect() as conn:
        prepared = store.prepare(conn, [store.Message(*batch(
            *fresh[:20], usage("old1", item=item), *fresh[20:],
            usage("old2", item=item, quantity="7")))], licensees=store.licensee_ids(conn),
            max_message_bytes=10**6)
        conn.execute(ingest_sql.CREATE_STAGE)
        store.copy_staged(conn, prepared.staged)
        assert store._fresh(conn, prepared)  # the sample sees only n0
        conn.rollback()
        handed.clear()
        result = store.write(conn, prepared)
        conn.commit()
    assert handed == [42, 40]  # inserted whole, refused, inserted without the stored two
    assert (result.accepted, result.duplicates, result.dead_lettered) == (40, 1, 1)
    assert [d["reason"] for d in dead_letters(registered)] == ["conflicting_duplicate"]
    assert scalar(registered, "SELECT count(*) FROM usage_event") == 42
    assert scalar(registered, "SELECT sum(events) FROM usage_tally") == 42
    owed = scalar(registered, """
        SELECT -sum(p.amount) FROM posting p JOIN account a ON a.id = p.account_id
        WHERE a.kind = 'creator_payable'""")
    assert owed == 42 * expected_net("1", "0.0023", "0.15")


def test_a_batch_whose_first_event_is_stored_has_it_taken_out_first(registered,
                                                                    handed) -> None:
    events = [usage(f"r{i}") for i in range(40)]
    ingest(registered, batch(*events[:1]))
    with registered.connect() as conn:
        prepared = store.prepare(conn, [store.Message(*batch(*events))],
                                 licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        small = store.prepare(conn, [store.Message(*batch(*events[1:3]))],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        assert not store._fresh(conn, prepared)  # a resend: its first event is stored
        assert not store._fresh(conn, small)  # two events a message: not worth a sample
        handed.clear()
        result = store.write(conn, prepared)
        conn.commit()
    assert handed == [39]
    assert (result.accepted, result.duplicates) == (39, 1)
