"""``royalty report …``: every report takes --format table|json|csv and --output FILE."""

from __future__ import annotations

import typer

from ledger.cli import ingest

app = typer.Typer(help="Reports for creators and operators.", no_args_is_help=True)
app.command("dead-letters")(ingest.dead_letters_report)
