"""Render rows as a Rich table, JSON or CSV; write to the terminal or ``--output FILE``."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger.errors import LedgerError


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


def format_option(*formats: Format) -> Any:
    """``--format`` taking only ``formats`` (table, json and csv when none are named): any
    other is refused as bad usage (exit 2) with the list, and ``--help`` lists them."""
    allowed = formats or (Format.table, Format.json, Format.csv)
    names = [f.value for f in allowed]

    def parse(value: Format | str) -> Format:
        try:
            chosen = Format(value)
        except ValueError:
            chosen = None
        if chosen not in allowed:
            raise typer.BadParameter(f"{value} is not a format of this command; "
                                     f"use {', '.join(names[:-1])} or {names[-1]}")
        return chosen

    return typer.Option(Format.table, "--format", "-f", metavar="[" + "|".join(names) + "]",
                        parser=parse, help="Output format: " + ", ".join(names) + ".")


def to_jsonable(value: Any) -> Any:
    """Decimals as strings (never floats), timestamps as RFC 3339."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def _jsonable_rest(value: Any) -> Any:
    """What orjson does not write itself: Decimals as strings, sets as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


_JSON = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z


def dumps(value: Any) -> str:
    """``value`` as indented JSON, as ``to_jsonable`` spells it. Written by orjson (a
    statement of a million lines takes seconds, not tens of them); what orjson refuses
    (keys that are not strings, integers beyond 64 bits) by the standard encoder."""
    # A statement's million lines share a few hundred Decimals: each is spelt once. (By
    # id: every Decimal met lives in ``value`` until the call returns.)
    spelt: dict[int, str] = {}

    def rest(item: Any) -> Any:
        if type(item) is Decimal:
            text = spelt.get(id(item))
            if text is None:
                text = spelt[id(item)] = format(item, "f")
            return text
        return _jsonable_rest(item)

    try:
        return orjson.dumps(value, default=rest, option=_JSON).decode() + "\n"
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n"


def cell(value: Any) -> str:
    if type(value) is str:  # most cells, first
        return value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(to_jsonable(value))


def to_csv(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        fields = list(rows[0])
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows([cell(row.get(k)) for k in fields] for row in rows)
    return buffer.getvalue()


def table(rows: Sequence[dict], title: str | None = None,
          columns: Sequence[str] | None = None) -> Table:
    columns = list(columns or (rows[0].keys() if rows else []))
    result = Table(title=title, header_style="bold", expand=False)
    for index, name in enumerate(columns):
        numeric = bool(rows) and isinstance(rows[0].get(name), (int, Decimal)) \
            and not isinstance(rows[0].get(name), bool)
        result.add_column(name.replace("_", " "), justify="right" if numeric else "left",
                          overflow="fold", no_wrap=index == 0)
    for row in rows:  # Text: a key such as "[red]x" is data, never markup
        result.add_row(*(Text(cell(row.get(name))) for name in columns))
    return result


def emit(rows: Any, fmt: Format, *, title: str | None = None, output: Path | None = None,
         columns: Sequence[str] | None = None, console: Console | None = None) -> None:
    """Print or write ``rows`` (a list of dicts, or one dict for JSON) in ``fmt``."""
    if fmt is Format.json:
        text = dumps(rows)
    elif fmt is Format.csv:
        text = to_csv(rows if isinstance(rows, list) else [rows])
    else:
        target = Console(file=io.StringIO(), width=100, record=True) if output else (
            console or Console())
        target.print(table(rows if isinstance(rows, list) else [rows], title, columns))
        if output is None:
            return
        text = target.export_text()
    if output is not None:
        write_output(output, text)
    else:
        print(text, end="")


class UnsafeOutput(LedgerError):
    exit_code = 2


def write_output(path: Path, text: str) -> None:
    """Write ``--output FILE`` without following a path the user did not give: a symlink
    at ``path`` (one another user may have planted in a shared folder) is refused, and the
    text goes to a new file in the same folder that then replaces ``path``, so nothing is
    ever written into an existing file's inode (a hard link included)."""
    if path.is_symlink():
        raise UnsafeOutput(f"--output {path} is a symbolic link; refusing to write through "
                           "it (give the path it points to, or remove it)")
    folder = path.parent
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UnsafeOutput(f"--output {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise UnsafeOutput(f"--output {path}: {exc.strerror}") from None


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner on standard error while a report is computed (large ones take seconds);
    nothing when standard error is not a terminal, so output stays clean."""
    with Console(stderr=True).status(what, spinner="dots"):
        yield
