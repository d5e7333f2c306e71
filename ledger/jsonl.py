"""JSON Lines input: every number kept as an exact ``Decimal``, every bad line reported."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from ledger.errors import RowError


@dataclass(frozen=True)
class Line:
    number: int
    value: Any


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def loads(text: str | bytes) -> Any:
    """Parse JSON keeping numbers exact (no floats, no NaN or Infinity)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def open_input(path: str) -> IO[str]:
    """``-`` is standard input; anything else a file path."""
    if path == "-":
        return sys.stdin
    return Path(path).open(encoding="utf-8")


def read_lines(stream: IO[str]) -> tuple[list[Line], list[RowError]]:
    """Every non-blank line parsed; and a ``RowError`` for each line that is not JSON."""
    lines: list[Line] = []
    errors: list[RowError] = []
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            lines.append(Line(number, loads(raw)))
        except (ValueError, RecursionError) as exc:
            errors.append(RowError(number, f"malformed JSON: {exc}"))
    return lines, errors


def iter_objects(lines: list[Line]) -> Iterator[tuple[int, dict]]:
    for line in lines:
        if isinstance(line.value, dict):
            yield line.number, line.value
