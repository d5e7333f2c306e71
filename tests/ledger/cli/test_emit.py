"""`royalty emit` through the real broker: CloudEvents files and dataset manifests."""

from __future__ import annotations

import json

import pytest

from ledger.ingest import topology
from tests.builders import jsonl, licensee, sha
from tests.ingest_helpers import running_consumer, scalar, usage, wait_for


@pytest.fixture
def registered(cli, ledger):
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    return ledger


def received(ledger) -> int:
    return scalar(ledger, "SELECT coalesce(sum(received), 0) FROM ingest_batch")


def test_emit_a_manifest_twice_is_a_no_op_the_second_time(cli, registered, tmp_path) -> None:
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(jsonl([{"sha256": sha(f"m{i}"), "quantity": str(i + 1), "unit": "images"}
                               for i in range(300)] + [{"url": "https://example.org/x.jpg"}]))
    args = ["emit", str(manifest), "--licensee", "acme-ai", "--purpose", "ai-train",
            "--model", "acme-video-2", "--run", "pretrain-07", "--dataset", "webvid-subset-3"]
    with running_consumer(registered):
        first = cli(*args)
        assert first.code == 0 and "published 301 events" in first.stdout
        wait_for(lambda: received(registered) == 301)
        assert cli(*args).code == 0
        wait_for(lambda: received(registered) == 602)
        other_run = cli(*args[:-4], "--run", "pretrain-08", "--dataset", "webvid-subset-3")
        assert other_run.code == 0
        wait_for(lambda: received(registered) == 903)
    status = json.loads(cli("status", "--format", "json").stdout)["events"]
    assert (status["accepted"], status["duplicates"], status["dead_letters"]) == (602, 301, 0)
    assert scalar(registered, "SELECT sum(quantity) FROM usage_event WHERE run = 'pretrain-07'") \
        == sum(range(1, 301)) + 1


@pytest.mark.parametrize("compression", [None, "gzip", "none"])
def test_emit_cloudevents_jsonl(cli, registered, tmp_path, compression) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([usage(f"c{i}") for i in range(10)]))
    options = [] if compression is None else ["--compression", compression]
    with running_consumer(registered):
        assert cli("emit", str(path), *options).code == 0
        wait_for(lambda: scalar(registered, "SELECT count(*) FROM usage_event") == 10)


@pytest.mark.parametrize(("option", "encoding"), [
    ([], "zstd"), (["--compression", "gzip"], "gzip"), (["--compression", "none"], "utf-8")])
def test_emit_sends_the_compression_asked_for(cli, registered, tmp_path, option, encoding
                                              ) -> None:
    """What goes on the wire (no consumer running): the content encoding names the
    compression, and the body decompresses to the batch of events."""
    from ledger.ingest.encoding import decompress

    path = tmp_path / "events.jsonl"
    events = [usage(f"w{i}") for i in range(5)]
    path.write_text(jsonl(events))
    assert cli("emit", str(path), *option).code == 0
    with topology.connection(registered.broker_url) as conn:
        message = registered.topology.queue(conn.default_channel).get(no_ack=True)
        assert message is not None
        body = message.body if isinstance(message.body, bytes) else message.body.encode()
        assert message.content_encoding == encoding
        assert json.loads(decompress(body, encoding, 1 << 20)) == events
        assert registered.topology.queue(conn.default_channel).get(no_ack=True) is None


def test_emit_refuses_an_unknown_compression(cli, registered, tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([usage("c")]))
    result = cli("emit", str(path), "--compression", "brotli")
    assert result.code == 2 and "--compression 'brotli'" in result.stderr


def test_emit_refuses_a_file_that_is_not_json_lines(cli, registered, tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([usage("ok")]) + "{nope\n" + "also bad\n")
    result = cli("emit", str(path))
    assert result.code == 2
    assert "line 2: malformed JSON" in result.stderr and "line 3: malformed JSON" in result.stderr


def test_emit_refuses_an_unknown_purpose(cli, registered, tmp_path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text(jsonl([{"sha256": sha("x")}]))
    result = cli("emit", str(path), "--licensee", "acme-ai", "--purpose", "ai-dream")
    assert result.code == 2 and "--purpose 'ai-dream'" in result.stderr
