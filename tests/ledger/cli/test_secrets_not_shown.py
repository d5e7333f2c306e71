"""Secrets never reach a terminal: failing runs of the installed command, with every
secret set, are grepped for them (the database and broker passwords, the Stripe key, the
webhook secret, the broker admin password)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.builders import jsonl, licensee

ROYALTY = str(Path(sys.executable).with_name("royalty"))
SECRETS = {"db": "S3cretDbPw", "mq": "S3cretMqPw", "stripe": "sk_live_S3cretStripeKey",
           "hook": "whsec_S3cretHook", "admin": "S3cretAdminPw"}


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ROYALTY, *args], env=env, capture_output=True, text=True,
                          timeout=180)


def test_failing_runs_never_print_a_secret(cli, database_url) -> None:
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    base = {**os.environ, "ROYALTY_STRIPE_API_KEY": SECRETS["stripe"],
            "ROYALTY_STRIPE_API_BASE": "http://127.0.0.1:1",
            "ROYALTY_STRIPE_WEBHOOK_SECRET": SECRETS["hook"],
            "ROYALTY_BROKER_ADMIN_URL": f"http://guest:{SECRETS['admin']}@127.0.0.1:15672"}
    db = urlsplit(database_url)
    bad_db = f"postgresql://{db.username or 'postgres'}:{SECRETS['db']}@127.0.0.1:1/x"
    bad_broker = f"amqp://guest:{SECRETS['mq']}@127.0.0.1:1//"
    runs = [
        _run({**base, "ROYALTY_DATABASE_URL": bad_db}, "status"),
        _run({**base, "ROYALTY_DATABASE_URL": bad_db}, "db", "status"),
        _run({**base, "ROYALTY_DATABASE_URL": bad_db}, "report", "balances"),
        _run(base, "payouts", "reconcile"),
        _run(base, "db", "status"),
        _run(base, "licensees", "grant-producer", "acme-ai", "probe-user"),
        _run({**base, "ROYALTY_BROKER_URL": bad_broker}, "status"),
        _run({**base, "ROYALTY_BROKER_URL": bad_broker}, "emit", "/dev/null"),
    ]
    assert all(run.returncode != 0 for run in runs[:4]), [r.returncode for r in runs]
    for run in runs:
        shown = run.stdout + run.stderr
        for name, secret in SECRETS.items():
            assert secret not in shown, (name, run.args, shown[-1500:])
