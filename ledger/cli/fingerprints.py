"""``royalty fingerprint PATH…``: each file's ``sha256``, ``pdq`` and ``iscc`` (contract
§8), one JSON line per file, computed in parallel with a progress bar."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from enum import Enum
from pathlib import Path

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.cli.context import err_console
from ledger.cli.output import table, write_output


class FingerprintFormat(str, Enum):
    jsonl = "jsonl"
    table = "table"


def _files(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every file named or under a folder named (sorted), and the paths that are neither."""
    found: list[Path] = []
    missing: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            missing.append((str(path), "no such file or folder"))
    return found, missing


def _one(path: str) -> tuple[str, dict | None, str | None]:
    from ledger.fingerprints.files import Unreadable, fingerprint

    try:
        return path, fingerprint(path).as_identifiers(), None
    except Unreadable as exc:
        return path, None, str(exc)


def fingerprint_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    fmt: FingerprintFormat = typer.Option(FingerprintFormat.jsonl, "--format", "-f",
                                          help="jsonl (one line per file) or table."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write to this file instead of the terminal."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0,
                             help="Worker processes (0: one per core)."),
) -> None:
    """sha256, PDQ and ISCC of each file: usable as a manifest line or a work's identifiers.
    Unreadable files are listed with the reason (exit 2); the others are still printed."""
    files, problems = _files(paths)
    results: dict[str, dict] = {}
    workers = jobs or os.cpu_count() or 1
    with Progress(TextColumn("fingerprinting"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task("files", total=len(files))
        if workers == 1 or len(files) <= 1:
            outcomes = map(_one, map(str, files))
            for path, line, problem in outcomes:
                _keep(results, problems, path, line, problem)
                progress.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for path, line, problem in pool.map(_one, map(str, files), chunksize=4):
                    _keep(results, problems, path, line, problem)
                    progress.advance(task)
    lines = [results[str(f)] for f in files if str(f) in results]
    if fmt is FingerprintFormat.jsonl:
        text = "".join(orjson.dumps(line).decode() + "\n" for line in lines)
        if output is not None:
            write_output(output, text)
        else:
            print(text, end="")
    else:
        from rich.console import Console

        # Hashes are not folded: a hash cut over lines cannot be copied.
        console = Console(record=True, width=240) if output else Console(width=240)
        console.print(table(lines, columns=["file", "sha256", "pdq", "pdq_quality", "iscc"]))
        if output is not None:
            write_output(output, console.export_text())
    for path, reason in problems:
        err_console.print(f"[red]unreadable:[/red] {escape(path)}: {escape(reason)}",
                          highlight=False)
    if problems:
        err_console.print(f"[red]{len(problems)} path(s) without a fingerprint; "
                          f"{len(lines)} printed[/red]", highlight=False)
        raise typer.Exit(2)


def _keep(results: dict, problems: list, path: str, line: dict | None,
          problem: str | None) -> None:
    if line is not None:
        results[path] = line
    else:
        problems.append((path, problem))
