"""Import a catalog or license file: the entry point the CLI and the demo call."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from sqlalchemy import Engine

from ledger import imports
from ledger.catalog.importer import plan_creators, plan_licensees, plan_works
from ledger.catalog.kinds import ImportKind
from ledger.catalog.schemas import CreatorRow, LicenseeRow, LicenseRow, WorkRow
from ledger.licensing.importer import plan_licenses


_IMPORTERS = {
    ImportKind.creators: (CreatorRow, "creator", plan_creators),
    ImportKind.works: (WorkRow, "work", plan_works),
    ImportKind.licensees: (LicenseeRow, "licensee", plan_licensees),
    ImportKind.licenses: (LicenseRow, "license", plan_licenses),
}


def import_file(engine: Engine, kind: ImportKind, stream: IO[str],
                after_commit: Callable[[imports.Plan], None] | None = None
                ) -> imports.ImportResult:
    model, key_field, planner = _IMPORTERS[kind]
    return imports.run(engine, stream, kind=kind.value, model=model, key_field=key_field,
                       planner=planner, after_commit=after_commit)
