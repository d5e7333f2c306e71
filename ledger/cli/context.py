"""One ``Ledger`` per command invocation, built from the environment."""

from __future__ import annotations

from functools import lru_cache

from rich.console import Console

from ledger.bootstrap import Ledger

err_console = Console(stderr=True, soft_wrap=True)


@lru_cache(maxsize=1)
def get_ledger() -> Ledger:
    return Ledger()
