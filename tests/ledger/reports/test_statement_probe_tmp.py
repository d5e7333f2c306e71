import json
from ledger.reports.statement import statement
from ledger.cli.output import dumps

def test_probe(scenario, ledger):
    out = open("/tmp/rl/probe.json", "w")
    with ledger.connect() as conn:
        for who in ("alice", "bob", "dave"):
            for p in [None, *scenario.months]:
                out.write(f"{who} {p} {dumps(statement(conn, who, p))}")
                conn.rollback()
        out.write(dumps(statement(conn, "alice", None, "EUR")))
