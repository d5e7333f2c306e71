"""RSL 1.0 usage tokens and the umbrella tokens that stand for several of them."""

from __future__ import annotations

from collections.abc import Iterable

USAGE_TOKENS = ("ai-train", "ai-input", "ai-index", "search")
UMBRELLA_TOKENS = ("ai-all", "all")
ALL_TOKENS = USAGE_TOKENS + UMBRELLA_TOKENS


def expand(tokens: Iterable[str]) -> frozenset[str]:
    """The concrete usage tokens a list of tokens (umbrellas included) stands for."""
    out: set[str] = set()
    for token in tokens:
        if token == "all":
            out.update(USAGE_TOKENS)
        elif token == "ai-all":
            out.update(t for t in USAGE_TOKENS if t.startswith("ai-"))
        elif token in USAGE_TOKENS:
            out.add(token)
    return frozenset(out)


def covers(tokens: Iterable[str], purpose: str) -> bool:
    """Whether ``tokens`` (a license's purposes or an opt-out list) cover ``purpose``."""
    tokens = tuple(tokens)
    return (
        purpose in tokens
        or "all" in tokens
        or ("ai-all" in tokens and purpose.startswith("ai-"))
    )
