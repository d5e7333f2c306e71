"""SIGKILL the real worker in the middle of a large ingest, repeatedly: after a restart
every published event is stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ledger.ingest import topology
from ledger.ingest.producer import UsageProducer
from tests.builders import jsonl, licensee
from tests.ingest_helpers import scalar, stop_worker, usage, wait_for, worker_process



def start_worker(settings, log: Path) -> subprocess.Popen:  # noqa: ANN001
    return worker_process(log)


def kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.slow
def test_sigkill_mid_ingest_loses_nothing_and_doubles_nothing(cli, ledger, tmp_path) -> None:
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    total, step = 0, 2_000

    def publish(n: int) -> int:  # n more events, ids after the ones published before
        with UsageProducer(ledger.broker_url, batch_size=250,
                           topology=ledger.topology) as producer:
            producer.publish(usage(f"k{i}") for i in range(total, total + n))
        return total + n

    total = publish(60_000)

    def stored() -> int:
        return scalar(ledger, "SELECT count(*) FROM usage_event")

    log = tmp_path / "worker.log"
    kills = 0
    for _ in range(8):  # until it has been killed mid-ingest three times
        if kills == 3:
            break
        before = stored()
        if before == total:  # a fast worker stored the whole backlog: give it more
            total = publish(60_000)
        worker = start_worker(ledger.settings, log)
        try:
            # Kill it while it is busy: some progress made, the backlog not yet done.
            wait_for(lambda: stored() > before + step or stored() == total, timeout=120,
                     interval=0.02)
        finally:
            kill(worker)
        if stored() < total:
            kills += 1
    assert kills >= 1, "the worker always finished before it could be killed"

    worker = start_worker(ledger.settings, log)
    try:
        wait_for(lambda: stored() == total, timeout=300)

        def drained() -> bool:  # redelivered messages are consumed too (as duplicates)
            with topology.connection(ledger.broker_url) as conn:
                return ledger.topology.depth(conn) == 0
        wait_for(drained, timeout=120)
        time.sleep(1.0)
    finally:
        stop_worker(worker)
    assert stored() == total
    assert scalar(ledger, "SELECT count(DISTINCT (source, event_id)) FROM usage_event") == total
    assert scalar(ledger, "SELECT sum(accepted) FROM ingest_batch") == total
    with topology.connection(ledger.broker_url) as conn:
        assert ledger.topology.depth(conn) == 0
