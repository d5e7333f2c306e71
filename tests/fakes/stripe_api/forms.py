"""Decoding of Stripe's form-encoded parameters.

The SDK encodes nested parameters the way Stripe's API expects them
(``stripe/_encode.py::_api_encode``)::

    metadata[order]=42
    capabilities[transfers][requested]=true
    expand[0]=destination           (lists are always indexed by the SDK)
    created[gte]=1700000000

``decode`` turns such a query string into nested dicts of strings.  Indexed
lists stay dicts keyed "0", "1", ... (so ``metadata[0]=x`` keeps key "0");
``params.array`` reads a parameter that is meant to be a list.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid_request

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    m = _KEY.match(key)
    if not m:
        return [key]
    return [m.group(1), *_PART.findall(m.group(2))]


def decode(qs: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(qs, keep_blank_values=True):
        parts = _split_key(key)
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part == "":  # "expand[]=a&expand[]=b" (the form Stripe also accepts)
                part = str(len(node))
            if last:
                if isinstance(node.get(part), dict):
                    raise invalid_request(f"Invalid hash for parameter {key!r}", param=parts[0])
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    if child == "":
                        # ``metadata=`` followed by ``metadata[k]=v``: the later wins.
                        child = node[part] = {}
                    else:
                        raise invalid_request(
                            f"Invalid hash for parameter {parts[0]!r}", param=parts[0]
                        )
                node = child
    return root


def fingerprint(qs: str) -> tuple[tuple[str, str], ...]:
    """Order-insensitive identity of a request's parameters (for idempotency)."""
    return tuple(sorted(parse_qsl(qs, keep_blank_values=True)))
