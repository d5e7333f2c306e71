"""Usage errors exit 2 with the reason, as contract §7 says."""

from __future__ import annotations


def test_missing_option_exits_2(cli) -> None:
    result = cli("report", "statement")
    assert result.code == 2 and "--creator" in result.stderr


def test_bad_choice_exits_2(cli) -> None:
    result = cli("report", "balances", "--format", "yaml")
    assert result.code == 2 and "yaml" in result.stderr


def test_unknown_command_exits_2(cli) -> None:
    assert cli("frobnicate").code == 2


def test_keys_are_never_taken_for_markup(cli) -> None:
    from rich.console import Console

    from ledger.cli.output import table

    console = Console(record=True, width=80)
    console.print(table([{"creator": "[red]x", "amount": 1}]))
    assert "[red]x" in console.export_text()
