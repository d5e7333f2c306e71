"""Domain errors. The CLI turns them into exit codes, the consumer into dead-letter reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


class LedgerError(Exception):
    """Base of every error the product raises on purpose."""

    exit_code = 1


class ConfigurationError(LedgerError):
    """The environment does not describe a usable setup."""


@dataclass
class RowError:
    """One bad input row: where it is and every reason it is bad."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class InvalidInput(LedgerError):
    """Bad input from a user; carries every reason, not just the first."""

    errors: list[RowError] = field(default_factory=list)
    exit_code = 2

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class NotFound(LedgerError):
    """A key that names nothing registered."""

    exit_code = 2
