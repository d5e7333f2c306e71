"""Dead letters as an operator handles them (issue 19), through the installed `royalty`
command: `dead-letters show` (reason, field, the body decoded when it can be, else a hex
and base64 summary), `dead-letters discard` (kept, marked, never replayed, counted apart
in `status`) and `report dead-letters --all` with each letter's state."""

from __future__ import annotations

import json

import orjson
import pytest

from ledger.ingest import store
from ledger.ingest.events import SINGLE
from tests.builders import licensee
from tests.ingest_helpers import imported, usage
from tests.ledger.cli.test_exit_codes import royalty

TEXT = b'{"specversion": "1.0", "id": "cut-short"'
BINARY = b"\xff\xfe\x00\x01 not text \x9b[31m"


def _json(*args: str):  # noqa: ANN202
    result = royalty(*args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def letters(ledger, cli) -> dict[str, int]:  # noqa: ANN001
    """Four dead letters: a cut-short body, bytes that are not text, an event dated 2099
    and one for a licensee not registered yet; their ids by name."""
    imported(cli, "licensees", [licensee("acme-ai")])
    bodies = [TEXT, BINARY, orjson.dumps(usage("from-2099", time_="2099-01-01T00:00:00Z")),
              orjson.dumps(usage("later-licensee", licensee="beta-ai"))]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(b, SINGLE, "usage.acme-ai") for b in bodies],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.commit()
    ids = [d["id"] for d in json.loads(cli("report", "dead-letters", "--format", "json").stdout)]
    return dict(zip(("text", "binary", "future", "licensee"), ids, strict=True))


def test_show_decodes_the_body_when_it_can(letters) -> None:
    future = _json("dead-letters", "show", str(letters["future"]))
    assert (future["reason"], future["field"], future["state"]) == (
        "invalid_event", "time", "open")
    assert future["body"]["form"] == "json"
    assert json.loads(future["body"]["text"])["id"] == "from-2099"
    shown = royalty("dead-letters", "show", str(letters["future"]))
    assert shown.returncode == 0
    assert "invalid_event" in shown.stdout and '"time": "2099-01-01T00:00:00Z"' in shown.stdout

    text = royalty("dead-letters", "show", str(letters["text"]))
    assert text.returncode == 0 and "malformed_json" in text.stdout
    assert TEXT.decode() in text.stdout

    binary = _json("dead-letters", "show", str(letters["binary"]))
    assert binary["body"]["form"] == "binary" and binary["body"]["hex"].startswith("ff fe 00 01")
    table = royalty("dead-letters", "show", str(letters["binary"]))
    assert table.returncode == 0 and "hex:    ff fe 00 01" in table.stdout
    assert "\x9b" not in table.stdout  # a terminal control byte is never printed as such

    missing = royalty("dead-letters", "show", "999999")
    assert missing.returncode == 2 and "dead letter 999999: no such dead letter" in missing.stderr


def test_discarded_letters_are_kept_never_replayed_and_counted_apart(letters, cli) -> None:
    def status() -> dict:
        return json.loads(cli("status", "--format", "json").stdout)

    assert status()["events"]["dead_letters"] == 4
    bad = royalty("dead-letters", "discard", str(letters["text"]), "999999",
                  "--reason", "a test producer")
    assert bad.returncode == 2 and "dead letter 999999: no such dead letter" in bad.stderr
    assert status()["corrections"]["discarded_dead_letters"] == 0  # all or none
    no_reason = royalty("dead-letters", "discard", str(letters["text"]))
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr

    result = royalty("dead-letters", "discard", str(letters["text"]), str(letters["binary"]),
                     "--reason", "a test producer's garbage")
    assert result.returncode == 0, result.stderr
    assert "discarded 2 dead letters" in result.stdout
    counts = status()
    assert counts["events"]["dead_letters"] == 2
    assert counts["corrections"]["discarded_dead_letters"] == 2
    assert "discarded dead letters (kept, never replayed): 2" in cli("status").stdout

    again = royalty("dead-letters", "replay", str(letters["text"]))
    assert again.returncode == 2 and "already discarded, not open" in again.stderr
    imported(cli, "licensees", [licensee("beta-ai")])
    replay = royalty("dead-letters", "replay")  # every open one: not the discarded
    assert replay.returncode == 0 and "replayed 2 dead letters" in replay.stdout

    states = {d["id"]: (d["state"], d["note"]) for d in json.loads(
        cli("report", "dead-letters", "--all", "--format", "json").stdout)}
    assert states == {letters["text"]: ("discarded", "a test producer's garbage"),
                      letters["binary"]: ("discarded", "a test producer's garbage"),
                      letters["future"]: ("open", None),
                      letters["licensee"]: ("replayed", None)}
    listing = royalty("report", "dead-letters", "--all", COLUMNS="200")
    assert listing.returncode == 0 and "discarded" in listing.stdout
    assert "replayed" in listing.stdout and "open" in listing.stdout
    shown = _json("dead-letters", "show", str(letters["binary"]))
    assert (shown["state"], shown["note"]) == ("discarded", "a test producer's garbage")
