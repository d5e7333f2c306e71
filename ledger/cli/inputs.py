"""Command-line arguments checked before any command sees them: every value a command
passes to SQL is a bound parameter, and these are the values no parameter can carry
(text that is not UTF-8) or that no key can be (beyond any key's length)."""

from __future__ import annotations

# Longer than any key, name or path a command takes; a longer one is a mistake or a probe.
MAX_ARGUMENT = 4096


def argument_problems(argv: list[str]) -> list[str]:
    """Every reason the arguments cannot be used (none: they can)."""
    problems = []
    for position, value in enumerate(argv, start=1):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # bytes the locale could not decode (surrogateescape)
            shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            problems.append(f"argument {position} ({shown[:40]!r}) is not valid UTF-8")
            continue
        if len(value) > MAX_ARGUMENT:
            problems.append(f"argument {position} ({value[:20]!r}…) is {len(value)} characters "
                            f"long; at most {MAX_ARGUMENT}")
    return problems
