"""Parameter validation helpers, with Stripe's messages and error codes.

All of these raise ``StripeError(stored=False)``: a request that fails
validation never reaches the endpoint, so Stripe does not save an idempotent
result for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import invalid_request, missing_param, unknown_param

# Currencies the fake accepts (a subset of Stripe's; lowercase ISO codes).
CURRENCIES = frozenset(
    [
        "usd",
        "eur",
        "gbp",
        "cad",
        "aud",
        "jpy",
        "chf",
        "sek",
        "nok",
        "dkk",
        "pln",
        "czk",
        "nzd",
        "sgd",
        "hkd",
        "mxn",
        "brl",
        "inr",
    ]
)

MAX_LIMIT = 100


def check_known(params: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed = set(allowed) | {"expand"}
    for key in params:
        if key not in allowed:
            raise unknown_param(key)
    array(params, "expand")  # accepted and validated, but objects are never expanded


def required(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise missing_param(name)
    return value


def string(
    params: dict[str, Any], name: str, *, required_: bool = False, max_len: int = 5000
) -> str | None:
    value = required(params, name) if required_ else params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value!r}", param=name)
    if len(value) > max_len:
        raise invalid_request(
            f"Invalid string: {value[:20]}...; must be at most {max_len} characters", param=name
        )
    return value


def integer(
    params: dict[str, Any], name: str, *, required_: bool = False, minimum: int | None = None
) -> int | None:
    value = required(params, name) if required_ else params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise invalid_request(
            f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        )
    number = int(value)
    if minimum is not None and number < minimum:
        if minimum == 1:
            raise invalid_request(
                "Invalid positive integer", param=name, code="parameter_invalid_integer"
            )
        raise invalid_request(
            f"This value must be greater than or equal to {minimum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return number


def array(params: dict[str, Any], name: str) -> list[Any] | None:
    """A list parameter: ``name[0]=a&name[1]=b`` (or ``name[]=a&name[]=b``)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict) and all(k.isdigit() for k in raw):
        return [raw[k] for k in sorted(raw, key=int)]
    raise invalid_request("Invalid array", param=name)


def boolean(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value in ("true", "false"):
        return value == "true"
    raise invalid_request(f"Invalid boolean: {value}", param=name)


def enum(
    params: dict[str, Any], name: str, choices: Iterable[str], *, required_: bool = False
) -> str | None:
    value = string(params, name, required_=required_)
    if value is None:
        return None
    choices = list(choices)
    if value not in choices:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(choices)}", param=name)
    return value


def currency(
    params: dict[str, Any], name: str = "currency", *, required_: bool = True
) -> str | None:
    value = string(params, name, required_=required_)
    if value is None:
        return None
    value = value.lower()
    if value not in CURRENCIES:
        raise invalid_request(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            param=name,
        )
    return value


def metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    """Apply ``metadata`` params Stripe's way: keys merge into ``current``; a key
    set to "" is removed; ``metadata=""`` clears everything."""
    result = dict(current or {})
    raw = params.get("metadata")
    if raw is None:
        return result
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid hash", param="metadata")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_request(f"Invalid value for metadata[{key}]", param=f"metadata[{key}]")
        if len(key) > 40:
            raise invalid_request(
                f"Metadata key length too long: {key!r} (max 40 characters)",
                param=f"metadata[{key}]",
            )
        if len(value) > 500:
            raise invalid_request(
                f"Metadata values can have up to 500 characters, but you passed in a value that "
                f"is {len(value)} characters.",
                param=f"metadata[{key}]",
            )
        if value == "":
            result.pop(key, None)
        else:
            result[key] = value
    if len(result) > 50:
        raise invalid_request("Metadata may have at most 50 keys.", param="metadata")
    return result


def created_filter(params: dict[str, Any], name: str = "created") -> dict[str, int]:
    """``created=ts`` or ``created[gt|gte|lt|lte]=ts`` -> {"gte": ..., ...}."""
    raw = params.get(name)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        exact = integer(params, name)
        return {"gte": exact, "lte": exact}  # type: ignore[dict-item]
    if not isinstance(raw, dict):
        raise invalid_request(f"Invalid {name}", param=name)
    out: dict[str, int] = {}
    for op, value in raw.items():
        if op not in ("gt", "gte", "lt", "lte"):
            raise unknown_param(f"{name}[{op}]")
        out[op] = integer({op: value}, op)  # type: ignore[assignment]
    return out


def created_matches(created: int, flt: dict[str, int]) -> bool:
    return (
        ("gt" not in flt or created > flt["gt"])
        and ("gte" not in flt or created >= flt["gte"])
        and ("lt" not in flt or created < flt["lt"])
        and ("lte" not in flt or created <= flt["lte"])
    )


def limit(params: dict[str, Any]) -> int:
    value = integer(params, "limit")
    if value is None:
        return 10
    if value < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.",
            param="limit",
            code="parameter_invalid_integer",
        )
    if value > MAX_LIMIT:
        raise invalid_request(
            f"This value must be less than or equal to {MAX_LIMIT}.",
            param="limit",
            code="parameter_invalid_integer",
        )
    return value
