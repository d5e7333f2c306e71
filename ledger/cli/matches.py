"""``royalty matches review|accept|reject`` and ``royalty claims import`` (contract §8)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import print as rprint

from ledger import jsonl
from ledger.cli.context import get_ledger
from ledger.cli.output import Format, emit, format_option, working
from ledger.errors import InvalidInput

matches_app = typer.Typer(help="Near-duplicate candidates: review, accept, reject.",
                          no_args_is_help=True)
claims_app = typer.Typer(help="Creators' claims on items in suspense.", no_args_is_help=True)

FORMAT = format_option()
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal.")
BY = typer.Option(..., "--by", help="Who decides (kept with the decision).")
COLUMNS = ("id", "kind", "value", "work", "method", "distance", "events", "quantity", "gross",
           "net", "claim", "creator", "dispute", "matched_elsewhere", "note")


@matches_app.command("review")
def review(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Open candidates, nearest first: fingerprints in suspense near a registered work
    (beyond the auto-match threshold, within the review threshold) and creators' claims,
    with their events in suspense and what accepting would book (gross, net)."""
    from ledger.matching import review as reviewing

    with get_ledger().connect() as conn, working("looking for candidates …"):
        reviewing.propose(conn)
        conn.commit()
        rows = reviewing.open_candidates(conn)
    if not rows and fmt is Format.table and output is None:
        rprint("no open candidates")
        return
    emit([{c: row[c] for c in COLUMNS} for row in rows], fmt, title="Candidates for review",
         output=output, columns=COLUMNS)


def _decide(verb: str, ids: list[int], by: str) -> None:
    from ledger.matching import reevaluation
    from ledger.matching import review as reviewing

    with get_ledger().connect() as conn:
        decided = getattr(reviewing, verb)(conn, ids, by)
        conn.commit()
        rprint(f"[green]{verb}ed[/green] {len(decided.ids)} candidate(s) for "
               f"{', '.join(decided.works)}")
        if verb == "accept":
            with working("re-evaluating the events they affect …"):
                done = reevaluation.drain(conn)
            rprint(f"re-evaluated: {done.changed} event(s) changed, {done.booked} booked")


@matches_app.command("accept")
def accept(ids: list[int] = typer.Argument(..., help="Candidate ids (from review)."),
           by: str = BY) -> None:
    """Accept: the item's identifier is added to the work; its events are paid back."""
    _decide("accept", ids, by)


@matches_app.command("reject")
def reject(ids: list[int] = typer.Argument(..., help="Candidate ids (from review)."),
           by: str = BY) -> None:
    """Reject: the pair is never proposed again."""
    _decide("reject", ids, by)


@claims_app.command("import")
def claims_import(file: str = typer.Argument(..., help="JSON Lines file; - for standard input."),
                  by: str | None = typer.Option(None, "--by",
                                                help="Who files them (default: each creator).")
                  ) -> None:
    """File creators' claims: each identifier becomes a candidate for review (all or none)."""
    from ledger.matching import review as reviewing

    with jsonl.open_input(file) as stream:
        lines, errors = jsonl.read_lines(stream)
    if errors:
        raise InvalidInput(errors)
    with get_ledger().connect() as conn:
        filed, unchanged = reviewing.import_claims(conn, lines, by)
        conn.commit()
    rprint(f"[green]claims filed[/green]: {filed} new, {unchanged} unchanged "
           f"(see royalty matches review)")
