"""The producer binding as recorded (contract §11), on any broker: import, grant, revoke,
and what ``royalty status`` says on the embedded broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.builders import jsonl, licensee


def _producers(cli) -> dict[str, list[str]]:
    listed = json.loads(cli("licensees", "list", "--format", "json").stdout)
    return {row["licensee"]: row["producers"] for row in listed}


def test_licensee_rows_list_producers_and_a_reimport_without_them_keeps_them(cli) -> None:
    rows = [licensee("acme-ai", producers=["acme-pipeline", "acme-rag"]), licensee("beta")]
    assert cli("import", "licensees", "-", input=jsonl(rows)).code == 0
    assert _producers(cli) == {"acme-ai": ["acme-pipeline", "acme-rag"], "beta": []}
    again = cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")]))
    assert "1 unchanged" in again.stdout
    assert _producers(cli)["acme-ai"] == ["acme-pipeline", "acme-rag"]


def test_a_bad_producer_name_is_refused_with_its_line(cli) -> None:
    rows = [licensee("acme-ai", producers=["ok-user", "bad user'; DROP TABLE licensee;--"])]
    result = cli("import", "licensees", "-", input=jsonl(rows))
    assert result.code == 2
    assert "line 1" in result.stderr and "producers" in result.stderr
    assert _producers(cli) == {}


def test_grant_and_revoke_record_the_binding_without_a_broker_admin(cli) -> None:
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    granted = cli("licensees", "grant-producer", "acme-ai", "acme-pipeline")
    assert granted.code == 0
    assert "acme-pipeline may now report usage for acme-ai" in granted.stdout
    assert "ROYALTY_BROKER_ADMIN_URL is not set" in granted.stdout
    assert "already reports" in cli("licensees", "grant-producer", "acme-ai",
                                    "acme-pipeline").stdout
    assert _producers(cli) == {"acme-ai": ["acme-pipeline"]}
    assert cli("licensees", "revoke-producer", "acme-ai", "acme-pipeline").code == 0
    assert _producers(cli) == {"acme-ai": []}


def test_grant_refuses_an_unknown_licensee_and_a_bad_user_name(cli) -> None:
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    unknown = cli("licensees", "grant-producer", "nobody", "acme-pipeline")
    assert unknown.code == 2 and "no licensee 'nobody'" in unknown.stderr
    for bad in ("a b", "x'y", "é", "a/b", "a" * 200, ""):
        result = cli("licensees", "grant-producer", "acme-ai", bad)
        assert result.code == 2, bad
        assert "is not a broker user name" in result.stderr
    assert _producers(cli) == {"acme-ai": []}


def test_on_the_embedded_broker_the_binding_is_off_and_status_says_so(ledger) -> None:
    """The installed command, with no ROYALTY_BROKER_URL: the embedded broker."""
    env = {k: v for k, v in os.environ.items() if k != "ROYALTY_BROKER_URL"}
    royalty = str(Path(sys.executable).with_name("royalty"))
    table = subprocess.run([royalty, "status"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert table.returncode == 0, table.stderr
    assert "producer binding: off: the embedded broker has no users" in table.stdout
    status = json.loads(subprocess.run([royalty, "status", "--format", "json"], env=env,
                                       capture_output=True, text=True, timeout=120).stdout)
    assert status["producers"]["binding"].startswith("off")
    assert set(status) >= {"events", "outcomes"}
