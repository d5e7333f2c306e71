"""What the ingest and booking benchmarks share (``bench.ingest``, ``bench.booking``): the
bench database and broker, the end-to-end pass through the real worker, the rows the
store COPYs, and the bare-PostgreSQL helpers. Not a benchmark itself."""

from __future__ import annotations

import hashlib
import inspect
import io
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from pathlib import Path

import orjson
import psutil
import psycopg
from sqlalchemy.engine import make_url

from ledger import db as ledger_db
from ledger.ingest import sql as ingest_sql
from ledger.ingest import store, topology
from ledger.ingest.consumer import IngestConsumer
from ledger.ingest.events import staged_row, validate
from ledger.ingest.producer import UsageProducer

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BENCH_DB = "royalty_bench"
LICENSEE = "bench-ai"
BENCH_TASK_QUEUE = "royalty.bench.tasks"
POLL = 0.2  # RSS sampling
DONE_POLL = 0.05  # how often the stored count is read: the clock's resolution
ROYALTY = Path(sys.executable).with_name("royalty")


def say(text: str = "") -> None:
    print(text, flush=True)


# --- set-up ---------------------------------------------------------------------------------

def bench_url(server_url: str) -> str:
    return make_url(server_url).set(database=BENCH_DB, drivername="postgresql") \
        .render_as_string(hide_password=False)


def work_sha256(k: int) -> str:
    return hashlib.sha256(b"bench-work-%d" % k).hexdigest()


def jsonl(rows: list[dict]) -> io.StringIO:
    return io.StringIO("".join(orjson.dumps(row).decode() + "\n" for row in rows))


def drop_database(server_url: str) -> None:
    with psycopg.connect(ledger_db.libpq_url(server_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def bench_topology():
    """The exchange and queue the worker will use: the contract's names, or those of
    ``ROYALTY_USAGE_EXCHANGE`` / ``ROYALTY_INGEST_QUEUE`` (the worker inherits them)."""
    kind = getattr(topology, "Topology", None)
    if kind is None:
        return None
    return kind(os.environ.get("ROYALTY_USAGE_EXCHANGE") or "royalty.usage",
                os.environ.get("ROYALTY_INGEST_QUEUE") or "royalty.usage.ingest")


TOPOLOGY = bench_topology()
INGEST_QUEUE = TOPOLOGY.queue if TOPOLOGY is not None else topology.INGEST_QUEUE


def declare(conn) -> None:
    if TOPOLOGY is not None:
        TOPOLOGY.declare(conn)
    else:
        topology.declare(conn)


def queue_state(broker_url: str) -> tuple[int, int]:
    """(messages ready, consumers) of the ingest queue, declaring the topology first."""
    with topology.connection(broker_url) as conn:
        declare(conn)
        _, messages, consumers = INGEST_QUEUE(conn.default_channel).queue_declare(passive=True)
        return int(messages or 0), int(consumers or 0)


def purge_queue(broker_url: str) -> int:
    with topology.connection(broker_url) as conn:
        declare(conn)
        return int(INGEST_QUEUE(conn.default_channel).purge() or 0)


def producer(broker_url: str, batch_size: int) -> UsageProducer:
    if TOPOLOGY is not None and "topology" in inspect.signature(UsageProducer).parameters:
        return UsageProducer(broker_url, batch_size=batch_size, topology=TOPOLOGY)
    return UsageProducer(broker_url, batch_size=batch_size)


# --- events ---------------------------------------------------------------------------------

def stored_rows(events: list[dict], licensee_id: int) -> list[tuple]:
    """The rows ``store.ingest`` COPYs (without the per-batch ``seq``), same layout."""
    return [(licensee_id, *staged_row(validate(event))) for event in events]


def consumer_flush_events(events: list[dict], batch_size: int) -> tuple[int, int, int]:
    """Events per consumer flush at the consumer's default limits (messages or bytes),
    and the average message body size: (events, messages, bytes per message)."""
    params: dict[str, inspect.Parameter] = {}
    for kind in reversed(IngestConsumer.__mro__):  # defaults may live on a base class
        if "__init__" in vars(kind):
            params.update(inspect.signature(vars(kind)["__init__"]).parameters)
    max_messages = params["max_messages"].default
    max_bytes = params["max_bytes"].default
    sample = events[:batch_size]
    msg_bytes = len(orjson.dumps(sample, default=str)) * batch_size // max(len(sample), 1)
    per_flush = min(max_messages, max(1, math.ceil(max_bytes / max(msg_bytes, 1))))
    return per_flush * batch_size, per_flush, msg_bytes


# --- worker ---------------------------------------------------------------------------------

class RssSampler(threading.Thread):
    """Peak RSS of a process and all its descendants, sampled every ``POLL`` seconds."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def sample(self) -> None:
        total = 0
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(POLL)


class CpuShare:
    """CPU seconds (user + system) that each part of the run used between ``start`` and
    ``stop``: the worker (its process tree), PostgreSQL's processes, RabbitMQ's, and this
    process (the publisher); and how busy the machine's CPUs were."""

    PARTS = ("worker", "postgres", "rabbitmq", "publisher")

    def __init__(self, worker_pid: int) -> None:
        self.worker_pid = worker_pid

    def _part(self, proc: psutil.Process, worker: set[int]) -> str | None:
        if proc.pid in worker:
            return "worker"
        if proc.pid == os.getpid():
            return "publisher"
        name = proc.info["name"] or ""
        return ("postgres" if name.startswith("postgres")
                else "rabbitmq" if name.startswith("beam") else None)

    def _sample(self) -> dict[int, tuple[str, float]]:
        try:
            root = psutil.Process(self.worker_pid)
            worker = {root.pid, *(c.pid for c in root.children(recursive=True))}
        except psutil.Error:
            worker = set()
        seen = {}
        for proc in psutil.process_iter(["name", "cpu_times"]):
            part = self._part(proc, worker)
            times = proc.info["cpu_times"]
            if part is not None and times is not None:
                seen[proc.pid] = (part, times.user + times.system)
        return seen

    def start(self) -> None:
        self._t, self._machine, self._before = time.perf_counter(), psutil.cpu_times(), \
            self._sample()

    def stop(self) -> dict:
        after, machine = self._sample(), psutil.cpu_times()
        wall = time.perf_counter() - self._t
        used = dict.fromkeys(self.PARTS, 0.0)
        for pid, (part, seconds) in after.items():
            used[part] += seconds - self._before.get(pid, (part, 0.0))[1]
        idle = (machine.idle + machine.iowait) - (self._machine.idle + self._machine.iowait)
        cpus = psutil.cpu_count() or 1
        return {"cpu": used, "busy": 1 - idle / (wall * cpus), "wall": wall}


def start_worker(database_url: str, broker_url: str, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, ROYALTY_DATABASE_URL=database_url, ROYALTY_BROKER_URL=broker_url)
    env.setdefault("ROYALTY_TASK_QUEUE", BENCH_TASK_QUEUE)
    log = log_path.open("wb")
    return subprocess.Popen(
        [str(ROYALTY), "worker", "--concurrency", "1", "--loglevel", "WARNING"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_consuming(broker_url: str, worker: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}")
        if queue_state(broker_url)[1] >= 1:
            return
        time.sleep(POLL)
    raise RuntimeError(f"the worker did not start consuming within {timeout:.0f}s")


def stop_worker(worker: subprocess.Popen, timeout: float = 60) -> int:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"  worker did not stop within {timeout:.0f}s after SIGTERM; killing it")
            worker.kill()
            worker.wait()
    return worker.returncode


def accepted(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(sum(accepted), 0) FROM ingest_batch").fetchone()[0]


def end_to_end(url: str, broker_url: str, events: list[dict], batch_size: int,
               log_path: Path) -> dict:
    n = len(events)
    ready, consumers = queue_state(broker_url)
    if consumers:
        raise RuntimeError(f"{consumers} other consumer(s) already on {INGEST_QUEUE.name}"
                           "; they would take the bench's messages")
    purged = purge_queue(broker_url)
    say(f"  purged {purged} message(s) from {INGEST_QUEUE.name}")

    worker = start_worker(url, broker_url, log_path)
    sampler = RssSampler(worker.pid)
    sampler.start()
    try:
        t_start = time.monotonic()
        wait_consuming(broker_url, worker)
        say(f"  worker pid {worker.pid} consuming after {time.monotonic() - t_start:.1f}s")
        _, consumers = queue_state(broker_url)
        if consumers != 1:
            raise RuntimeError(f"{consumers} consumers on the queue, expected only the worker")
        idle_rss = sampler.peak

        with producer(broker_url, batch_size) as publisher, \
                psycopg.connect(ledger_db.libpq_url(url), autocommit=True) as conn:
            cpu = CpuShare(worker.pid)
            cpu.start()
            t0 = time.perf_counter()
            publisher.publish(events)
            t_published = time.perf_counter() - t0
            messages = publisher.published_messages
            limit = max(120.0, n / 2_000)
            done = 0
            while True:
                done = accepted(conn)
                if done >= n:
                    break
                if time.perf_counter() - t0 > limit:
                    raise RuntimeError(f"only {done:,} of {n:,} events stored after {limit:.0f}s")
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with status {worker.returncode}")
                time.sleep(DONE_POLL)
            t_e2e = time.perf_counter() - t0
            share = cpu.stop()
            batches, avg_batch, max_batch = conn.execute(
                "SELECT count(*), coalesce(avg(received), 0), coalesce(max(received), 0) "
                "FROM ingest_batch").fetchone()
        sampler.sample()
    finally:
        sampler.stop.set()
        sampler.join()
        status = stop_worker(worker)
    return {"publish_s": t_published, "e2e_s": t_e2e, "messages": messages,
            "peak_rss": sampler.peak, "idle_rss": idle_rss, "worker_status": status,
            "batches": batches, "avg_batch": float(avg_batch), "max_batch": max_batch,
            "accepted": done, **share}


def end_to_end_or_report(url: str, broker_url: str, events: list[dict], batch_size: int,
                         log_name: str) -> dict | None:
    """``end_to_end``, or ``None`` after printing why it failed and the worker log's tail."""
    log_path = Path(tempfile.gettempdir()) / log_name
    try:
        return end_to_end(url, broker_url, events, batch_size, log_path)
    except RuntimeError as exc:
        say(f"  FAILED: {exc}")
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        if tail:
            say(f"  worker log ({log_path}):\n{tail}")
        return None


# --- bare PostgreSQL ------------------------------------------------------------------------

class Clock:
    """Seconds spent per step, summed over the chunks."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.spent[step] = self.spent.get(step, 0.0) + now - self._t
        self._t = now


_EVENT_COLUMNS = ", ".join(store.COLUMNS)
# The "deduplicating insert": the staged rows into the inbox, duplicates skipped.
BARE_DEDUPE = (f"INSERT INTO usage_event ({_EVENT_COLUMNS}) SELECT {ingest_sql.STAGED} "
               "FROM ingest_stage ON CONFLICT ON CONSTRAINT usage_event_identity DO NOTHING")


def empty_events(conn: psycopg.Connection) -> None:
    conn.execute("SET LOCAL royalty.maintenance = on")  # else usage_event refuses TRUNCATE
    conn.execute("TRUNCATE usage_event, ingest_batch")
    conn.commit()


def chunks_of(rows: list[tuple], chunk: int) -> list[list[tuple]]:
    """The rows in transactions of ``chunk``, each row with its staging ``seq`` first."""
    return [[(seq, *row) for seq, row in enumerate(rows[i:i + chunk])]
            for i in range(0, len(rows), chunk)]


_SEQ = 1  # a staged row: seq, then store.COLUMNS


def bare_store(url: str, parts: list[list[tuple]]) -> dict:
    """``store.write`` (the consumer's SQL half: stage, COPY, evaluate, insert, book, batch
    log) on the same chunks, then commit."""
    with psycopg.connect(ledger_db.libpq_url(url), options=ledger_db.HOT_PATH_OPTIONS) as conn:
        empty_events(conn)
        t0 = time.perf_counter()
        accepted = 0
        for part in parts:
            kinds = frozenset(k for k in store.IDENTIFIERS  # as store.prepare finds them
                              if any(r[_SEQ + store.COLUMNS.index(k)] is not None for r in part))
            prepared = store.Prepared(store.staged(conn, part), len(part), array("q"),
                                      store.BatchResult(messages=1, received=len(part)), kinds)
            accepted += store.write(conn, prepared).accepted
            conn.commit()
        elapsed = time.perf_counter() - t0
    return {"seconds": elapsed, "accepted": accepted}


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"
