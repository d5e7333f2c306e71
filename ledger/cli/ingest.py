"""``royalty emit``, ``royalty worker``, ``royalty status`` and ``royalty dead-letters``."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich import print as rprint
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ledger import jsonl
from ledger.cli.context import err_console, get_ledger
from ledger.cli.output import Format, cell, dumps, emit, format_option
from ledger.matching import reevaluation
from ledger.errors import InvalidInput, RowError
from ledger.ingest import deadletters, producer_rules, topology
from ledger.reports import status as ingest_status
from ledger.ingest.manifest import ManifestContext, events_from_manifest
from ledger.ingest.encoding import COMPRESSIONS
from ledger.ingest.producer import UsageProducer
from ledger.licensing.purposes import USAGE_TOKENS

dead_letters_app = typer.Typer(help="Events and messages that could not be accepted.",
                               no_args_is_help=True)


def _manifest_time(file: str, given: str | None) -> datetime:
    if given:
        try:
            moment = datetime.fromisoformat(given)
        except ValueError:
            raise InvalidInput([RowError(0, f"--time {given!r} is not RFC 3339")]) from None
        if moment.tzinfo is None:
            raise InvalidInput([RowError(0, "--time needs a time zone (e.g. Z)")])
        return moment
    if file != "-":
        return datetime.fromtimestamp(int(os.stat(file).st_mtime), tz=UTC)
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def emit_command(
    file: str = typer.Argument(..., help="CloudEvents JSONL, or with --licensee a manifest."),
    licensee: str | None = typer.Option(None, help="Treat FILE as a dataset manifest of this "
                                                   "licensee's usage."),
    purpose: str = typer.Option("ai-train", help=f"Usage token: {', '.join(USAGE_TOKENS)}."),
    model: str | None = typer.Option(None, help="Model the manifest was used for."),
    run: str | None = typer.Option(None, help="Training or inference run."),
    dataset: str | None = typer.Option(None, help="Dataset name."),
    activity: str | None = typer.Option(None, help="pretrain, finetune, eval, rag…"),
    at: str | None = typer.Option(None, "--time", help="Moment of use for manifest lines "
                                  "(default: the file's modification time)."),
    batch_size: int = typer.Option(1000, min=1, help="Events per message (at least 1)."),
    compression: str = typer.Option("zstd", help="Message body compression (AMQP "
                                    "content-encoding): zstd, gzip or none."),
) -> None:
    """Publish usage events to the royalty.usage exchange (persistent, confirmed)."""
    if compression != "none" and compression not in COMPRESSIONS:
        raise InvalidInput([RowError(0, f"--compression {compression!r} is not one of "
                                        f"{', '.join(sorted(COMPRESSIONS))}, none")])
    with jsonl.open_input(file) as stream:
        lines, errors = jsonl.read_lines(stream)
    if errors and licensee is None:
        raise InvalidInput(errors)
    if licensee is not None:
        if purpose not in USAGE_TOKENS:
            raise InvalidInput([RowError(0, f"--purpose {purpose!r} is not one of "
                                            f"{', '.join(USAGE_TOKENS)}")])
        if errors:
            raise InvalidInput(errors)
        ctx = ManifestContext(licensee=licensee, purpose=purpose, time=_manifest_time(file, at),
                              model=model, run=run, dataset=dataset, activity=activity)
        events = list(events_from_manifest(((l.number, l.value) for l in lines), ctx))
    else:
        events = [line.value for line in lines]
    if not events:
        raise InvalidInput([RowError(0, f"{file}: the file has no rows, nothing to publish")])
    ledger = get_ledger()
    with _bar("publishing") as progress:
        task = progress.add_task("events", total=len(events))
        with UsageProducer(ledger.broker_url, batch_size=batch_size, topology=ledger.topology,
                           compression=None if compression == "none" else compression
                           ) as producer:
            producer.publish(events, progress=lambda n: progress.advance(task, n))
    rprint(f"published {producer.published_events} events in "
           f"{producer.published_messages} messages to exchange royalty.usage")


def _bar(what: str) -> Progress:
    """A progress bar on standard error (drawn in a terminal only)."""
    return Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console)


def worker_command(
    concurrency: int = typer.Option(2, "--concurrency", "-c", help="Task threads."),
    loglevel: str = typer.Option("INFO", help="Log level."),
    beat: bool = typer.Option(True, help="Also run the scheduler (payouts, safety sweeps); "
                                         "turn off when a separate `celery beat` runs."),
) -> None:
    """Run the Celery worker: the ingest consumer plus the task queue
    (the same as: celery -A workers worker --pool threads [-B])."""
    from workers import app

    args = ["worker", "--loglevel", loglevel, "--pool", "threads",
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
            "--hostname", f"royalty-{os.getpid()}@%h"]
    if beat:
        home = get_ledger().settings.home
        home.mkdir(parents=True, exist_ok=True)
        args += ["--beat", "--schedule", str(home / f"beat-schedule-{os.getpid()}")]
    app.worker_main(args)


def _snapshot() -> dict:
    ledger = get_ledger()
    with ledger.connect() as conn:
        data = ingest_status.counts(conn)
        data["events"]["pending"] += reevaluation.pending_changes(conn)
    with topology.connection(ledger.broker_url) as broker:
        queued = ledger.topology.depth(broker)
    data["events"]["pending"] += queued
    data["queued_messages"] = queued
    with ledger.connect() as conn:
        data["producers"] = _producer_binding(ledger, conn)
    return data


def _producer_binding(ledger, conn) -> dict:  # noqa: ANN001 - Ledger, psycopg.Connection
    """Whether events are checked against their licensee's producers (contract §11)."""
    if ledger.broker_is_embedded:
        binding = "off: the embedded broker has no users to check user_id against"
    elif ledger.settings.require_producer:
        binding = "on: every licensee takes events only from its producers"
    else:
        binding = "on: licensees that list producers take events only from them"
    return {"binding": binding, "refused_by_user": ingest_status.refused_by_user(conn)}


def status_command(
    fmt: Format = format_option(Format.table, Format.json),
    wait_idle: bool = typer.Option(False, "--wait-idle", help="Wait until nothing is queued "
                                   "or pending; exit 1 on timeout."),
    timeout: float = typer.Option(300, help="Seconds --wait-idle waits."),
) -> None:
    """Events received, accepted, duplicates, dead letters, pending, and outcomes."""
    data = _snapshot()
    if wait_idle:
        with err_console.status("waiting for the workers …") as spinner:
            data = _wait_idle(data, timeout, spinner)
        if data is None:
            _print_status(_snapshot(), fmt)
            err_console.print(f"not idle after {timeout:g}s")
            raise typer.Exit(1)
    _print_status(data, fmt)


def _wait_idle(data: dict, timeout: float, spinner) -> dict | None:  # noqa: ANN001
    """The snapshot once nothing is pending and the counts held still for a second; None
    at the deadline."""
    deadline = time.monotonic() + timeout
    quiet_since, last = None, None
    while True:
        busy = data["events"]["pending"] > 0
        totals = (data["events"], data["outcomes"])
        if busy or totals != last:
            quiet_since = None if busy else time.monotonic()
        elif quiet_since is not None and time.monotonic() - quiet_since >= 1.0:
            return data
        last = totals
        if time.monotonic() > deadline:
            return None
        spinner.update(f"waiting for the workers: {data['events']['pending']:,} pending, "
                       f"{data['events']['received']:,} received")
        time.sleep(0.25)
        data = _snapshot()


def _print_status(data: dict, fmt: Format) -> None:
    if fmt is Format.json:
        sys.stdout.write(dumps({"events": data["events"], "outcomes": data["outcomes"],
                                "awaiting_allocation": data["awaiting_allocation"],
                                "corrections": data["corrections"],
                                "producers": data["producers"]}))
        return
    rows = [{"": "events", **data["events"]}]
    emit(rows, Format.table, title="Usage events")
    emit([data["outcomes"]], Format.table, title="Outcomes")
    if data["awaiting_allocation"]["events"]:
        rprint(f"accrued, awaiting allocation (pool and revenue-share periods not closed): "
               f"{data['awaiting_allocation']['events']:,} events")
    corrections = data["corrections"]
    rprint(f"voided events: {corrections['voided']:,}; discarded dead letters (kept, never "
           f"replayed): {corrections['discarded_dead_letters']:,}")
    rprint(f"producer binding: {data['producers']['binding']}")
    refused = data["producers"]["refused_by_user"]
    if refused:
        emit([{"user_id": k, "events refused": v} for k, v in refused.items()], Format.table,
             title="Refused: not a producer of the licensee")


@dead_letters_app.command("replay")
def dead_letters_replay(ids: list[int] = typer.Argument(None, help="Dead letter ids; none: all.")
                        ) -> None:
    """Re-ingest dead letters; those still bad stay dead letters with their latest reason."""
    ledger = get_ledger()
    with ledger.connect() as conn, _bar("replaying") as bar:
        producers = None if ledger.broker_is_embedded else producer_rules.load(
            conn, ledger.settings.require_producer)
        task = bar.add_task("dead letters", total=None)
        result = deadletters.replay(conn, ids or None, producers=producers,
                                    max_message_bytes=ledger.settings.max_message_bytes,
                                    progress=lambda done, total: bar.update(
                                        task, completed=done, total=total))
        conn.commit()
    rprint(f"replayed {result.replayed} dead letters: {result.accepted} events accepted, "
           f"{result.duplicates} duplicates, {result.still_bad} still bad")


@dead_letters_app.command("show")
def dead_letters_show(
    dead_letter_id: int = typer.Argument(..., metavar="ID", help="The dead letter's id."),
    fmt: Format = format_option(Format.table, Format.json),
) -> None:
    """A dead letter: reason, field at fault, state, and its body decoded."""
    ledger = get_ledger()
    with ledger.connect() as conn:
        letter = deadletters.dead_letter(conn, dead_letter_id,
                                         max_message_bytes=ledger.settings.max_message_bytes)
    if fmt is Format.json:
        sys.stdout.write(dumps(letter))
        return
    body = letter["body"]
    fields = {k: letter[k] for k in ("id", "state", "reason", "field", "detail", "source",
                                     "event_id", "content_type", "content_encoding",
                                     "routing_key", "user_id", "received_at", "attempts",
                                     "resolved_at", "note")}
    fields["body"] = f"{body['bytes']:,} bytes" + (
        f", {body['decompressed_bytes']:,} decompressed" if "decompressed_bytes" in body else "")
    emit([{"field": k.replace("_", " "), "value": cell(v)} for k, v in fields.items()
          if v not in (None, "")], Format.table, title=f"Dead letter {letter['id']}")
    if body.get("note"):
        rprint(escape(body["note"]))
    if body["form"] == "binary":
        rprint(f"not text; the first {min(64, body['bytes'])} bytes:")
        print(f"hex:    {body['hex']}\nbase64: {body['base64']}")
    else:
        print(_printable(body["text"]))
    if body["truncated"]:
        rprint(f"… ({body['bytes']:,} bytes in all)")


def _printable(text: str) -> str:
    """Control characters of a body (a terminal would act on them) shown as escapes."""
    return "".join(c if c.isprintable() or c in "\n\t" else f"\\x{ord(c):02x}"
                   if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


@dead_letters_app.command("discard")
def dead_letters_discard(
    ids: list[int] = typer.Argument(..., metavar="ID...", help="Dead letter ids."),
    reason: str = typer.Option(..., "--reason", help="Why (kept with each letter)."),
) -> None:
    """Discard dead letters: kept and marked, never replayed, counted apart."""
    with get_ledger().connect() as conn:
        discarded = deadletters.discard(conn, ids, reason)
        conn.commit()
    rprint(f"discarded {discarded} dead letters (kept; `royalty report dead-letters --all` "
           "lists them)")


def dead_letters_report(
    include_resolved: bool = typer.Option(False, "--all", help="Also replayed and discarded "
                                          "ones, each with its state."),
    fmt: Format = format_option(),
    output: Path | None = typer.Option(None, "--output", "-o"),
) -> None:
    """Dead letters: state, reason, field at fault, source, id, received time."""
    with get_ledger().connect() as conn:
        rows = deadletters.list_dead_letters(conn, include_resolved=include_resolved)
    if fmt is Format.table:
        rows = [{"id": r["id"], "state": r["state"], "reason": r["reason"],
                 "field": r["field"], "source": r["source"], "event id": r["event_id"],
                 "user": r["user_id"], "received": f"{r['received_at']:%Y-%m-%d %H:%M:%S}",
                 "detail": r["detail"] + (f" [{r['state']}: {r['note']}]" if r["note"] else "")}
                for r in rows]
    emit(rows, fmt, title="Dead letters", output=output)
