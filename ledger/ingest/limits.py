"""How large and how deep an event's values may be. An event beyond them is a dead letter
(``invalid_event`` naming the field) rather than a row PostgreSQL refuses (a NUL in text
or jsonb) or a value every report would carry (a megabyte model name), and its reason
never repeats the value whole."""

from __future__ import annotations

from typing import Any

MAX_TEXT = 4096  # characters in any string of an event (ids, names, identifiers, extensions)
MAX_DEPTH = 32  # nesting of objects and arrays in an event, the event itself being 1
NUL_ESCAPE = b"\\u0000"  # how JSON spells the one character text cannot store


def problem(value: Any, where: str = "", depth: int = 1) -> tuple[str, str] | None:
    """The field and reason of the first string too long or holding a NUL, or nesting too
    deep, in ``value`` (None: there is none)."""
    if type(value) is str:
        if len(value) > MAX_TEXT:
            return where, f"{where or 'a value'} is {len(value)} characters long; " \
                          f"at most {MAX_TEXT}"
        if "\x00" in value:
            return where, f"{where or 'a value'} holds a NUL character (\\u0000)"
        return None
    if type(value) is dict or type(value) is list:
        if depth > MAX_DEPTH:
            return where, f"{where or 'the event'} is nested deeper than {MAX_DEPTH} levels"
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            name = f"{where}.{key}" if where else str(key)
            found = (problem(key, name, depth) if type(key) is str else None) or \
                problem(item, name, depth + 1)
            if found:
                return found
    return None
