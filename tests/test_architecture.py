"""The import graph shows the architecture (README "Layout"): dependencies point one way,
ingest → matching → accounting; accounting imports none of ingest, matching or reports;
reports only read. Read from the source with ``ast``, function-level imports included (a
function-level import that hides a cycle is a cycle)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ledger

ROOT = Path(ledger.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The ledger modules ``name`` imports, anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name) for name in MODULES}


def _package(name: str) -> str:
    return ".".join(name.split(".")[:2])


def test_the_module_graph_has_no_cycle() -> None:
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        path.append(name)
        for other in sorted(GRAPH[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def _arrows(source: str, targets: tuple[str, ...]) -> list[str]:
    return sorted(f"{name} -> {other}" for name, imported in GRAPH.items()
                  if _package(name) == source for other in imported
                  if _package(other) in targets)


def test_accounting_imports_nothing_from_ingest_matching_or_reports() -> None:
    assert _arrows("ledger.accounting", ("ledger.ingest", "ledger.matching", "ledger.reports",
                                         "ledger.periods")) == []


def test_periods_book_through_accounting_and_import_no_ingest_or_reports() -> None:
    """Periods (contract §9) sit beside matching: they read evaluated events and book
    through accounting; ingest, reports and the CLI are above them."""
    assert _arrows("ledger.periods", ("ledger.ingest", "ledger.reports", "ledger.cli",
                                      "ledger.payouts")) == []
    assert _arrows("ledger.matching", ("ledger.periods",)) == []


def test_matching_does_not_import_ingest_or_reports() -> None:
    assert _arrows("ledger.matching", ("ledger.ingest", "ledger.reports")) == []


def test_ingest_does_not_import_reports() -> None:
    assert _arrows("ledger.ingest", ("ledger.reports",)) == []


# What reports may read outside their package: statement text and pure rules, no module
# that executes a statement.
_READABLE = re.compile(r"ledger\.(errors|[a-z]+\.sql|[a-z]+\.rules|accounting\.money)$")


def test_reports_import_nothing_that_writes() -> None:
    outside = sorted(f"{name} -> {other}" for name, imported in GRAPH.items()
                     if _package(name) == "ledger.reports" for other in imported
                     if _package(other) != "ledger.reports" and not _READABLE.match(other))
    assert outside == []
    for other in {o for n, i in GRAPH.items() if _package(n) == "ledger.reports" for o in i}:
        if other.endswith(".sql") or _package(other) == "ledger.reports":
            continue
        assert ".execute(" not in MODULES[other].read_text(), other


_WRITES = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|TRUNCATE|"
                     r"CREATE\s+(TEMP|TABLE|INDEX))\b", re.IGNORECASE)


def test_the_reports_statements_only_read() -> None:
    for name, path in MODULES.items():
        if _package(name) == "ledger.reports":
            assert not _WRITES.search(path.read_text()), name


def test_statements_are_not_built_by_string_replacement() -> None:
    for name, path in MODULES.items():
        if name.endswith((".sql", "_sql")):
            assert ".replace(" not in path.read_text(), name


def test_fingerprints_are_pure() -> None:
    """Computing a fingerprint needs no database, broker or settings: it imports nothing
    of the product outside its own package."""
    outside = sorted(f"{name} -> {other}" for name, imported in GRAPH.items()
                     if _package(name) == "ledger.fingerprints" for other in imported
                     if _package(other) != "ledger.fingerprints")
    assert outside == []
    for name, path in MODULES.items():
        if _package(name) == "ledger.fingerprints":
            source = path.read_text()
            for layer in ("psycopg", "sqlalchemy", "sqlmodel", "kombu", "celery"):
                assert f"import {layer}" not in source and f"from {layer}" not in source, name
