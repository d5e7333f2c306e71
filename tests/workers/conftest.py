"""The real worker, started for a test against its ledger's broker (queue purged first)."""

from __future__ import annotations

import pytest

from ledger.ingest import topology
from tests.ingest_helpers import stop_worker, worker_process


@pytest.fixture
def worker(ledger, tmp_path):
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    process = worker_process(tmp_path / "worker.log")
    yield process
    stop_worker(process)
