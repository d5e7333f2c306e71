"""A statement a creator can read, through the installed command: titles beside keys,
amounts to the cent (exact in JSON and CSV), the unit and the rate on each line, and the
payouts with date, amount and transfer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson

from ledger.ingest import store
from ledger.ingest.events import BATCH
from tests.builders import creator, jsonl, licensee, sha, work
from tests.ingest_helpers import usage
from tests.ledger.payouts.conftest import fund

ROYALTY = str(Path(sys.executable).with_name("royalty"))
LINE_KEYS = ["work", "licensee", "model", "purpose", "usage_period", "events", "quantity",
             "unit", "amount", "match"]  # contract §7's line, and §8's match


def royalty(*args: str) -> str:
    result = subprocess.run([ROYALTY, *args], env={**os.environ, "COLUMNS": "120"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_statement_reads_to_the_cent_with_titles_rates_and_payouts(cli, ledger,
                                                                     tmp_path) -> None:
    fund(cli, ledger, {"alice": 11})  # 11 uses at 1.000000007: 11.000000077 booked
    assert cli("creators", "onboard", "alice").code == 0  # the sandbox pays account holders
    assert cli("payouts", "run").code == 0  # 11.00 paid, 0.000000077 stays
    with ledger.connect() as conn:
        (transfer,) = conn.execute("SELECT transfer_id FROM payout").fetchone()

    table = " ".join(royalty("report", "statement", "--creator", "alice").split())
    assert "Title of w-alice" in table and "w-alice" in table
    assert "11.00" in table and "11.000000077" not in table
    assert "1.000000007" in table  # the rate: 11 uses × 1.000000007 = the amount
    assert "unit uses" in table
    assert "Sub-cent amounts are kept in the balance" in table
    assert "Payouts" in table and transfer in table

    page = tmp_path / "alice.html"
    royalty("report", "statement", "--creator", "alice", "--format", "html", "-o", str(page))
    html = page.read_text()
    assert "Title of w-alice" in html and transfer in html
    assert "1.000000007 USD/uses" in html and "11.00" in html
    assert ">11.000000077<" not in html and "Sub-cent amounts are kept" in html

    data = json.loads(royalty("report", "statement", "--creator", "alice", "--format", "json"))
    assert data["accrued"] == "11.000000077" and data["closing_balance"] == "0.000000077"
    assert [list(line) for line in data["lines"]] == [LINE_KEYS]  # contract §7's shape
    assert data["lines"][0]["match"] == "exact"
    assert data["lines"][0]["amount"] == "11.000000077"
    csv = royalty("report", "statement", "--creator", "alice", "--format", "csv")
    assert "11.000000077" in csv


def test_unlicensed_uses_show_their_unit(cli, ledger) -> None:
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    events = [usage("e1", item={"sha256": sha("w1")}, quantity="250", unit="tokens")]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**6)
        conn.commit()
    rows = json.loads(royalty("report", "unlicensed", "--format", "json"))
    assert [(r["work"], r["quantity"], r["unit"]) for r in rows] == [("w1", "250", "tokens")]
    assert "tokens" in royalty("report", "unlicensed")
