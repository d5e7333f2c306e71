"""What went wrong, in one line a person can act on, for failures no command raises on
purpose: a file that is a directory, PostgreSQL or the broker out of reach, a database
without the ledger's schema. Contract §7: 1 at run time, 2 for bad input."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    message: str
    exit_code: int


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (SQLAlchemy's ``orig``, ``raise … from``), outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "orig", None) or exc.__cause__


# Typer reads options through pydantic; its phrases, said plainly.
_PLAIN = ((re.compile(r"Value error, "), ""),
          (re.compile(r"Input should be a valid integer, unable to parse string as an integer"),
           "expected a whole number"),
          (re.compile(r"Input should be a valid number, unable to parse string as a number"),
           "expected a number"),
          (re.compile(r"Input should be greater than or equal to (\S+)"), r"must be at least \1"),
          (re.compile(r"Input should be less than or equal to (\S+)"), r"must be at most \1"))


def plain(message: str) -> str:
    for pattern, replacement in _PLAIN:
        message = pattern.sub(replacement, message)
    return message


def explain(exc: BaseException) -> Failure | None:
    """The one-line reason and exit status for ``exc``, or None when it is not one of the
    failures an operator meets (a bug: let its traceback through)."""
    for cause in _causes(exc):
        failure = _file(cause) or _database(cause) or _broker(cause)
        if failure is not None:
            return failure
    return None


def _file(exc: BaseException) -> Failure | None:
    if isinstance(exc, IsADirectoryError):
        return Failure(f"{exc.filename} is a directory: give a JSON Lines file "
                       "(or - for standard input)", 2)
    if isinstance(exc, FileNotFoundError):
        return Failure(f"no such file: {exc.filename}", 2)
    if isinstance(exc, PermissionError):
        return Failure(f"cannot read {exc.filename}: permission denied", 2)
    if isinstance(exc, UnicodeDecodeError):
        return Failure("the file is not UTF-8 text: give a JSON Lines file", 2)
    return None


def _database(exc: BaseException) -> Failure | None:
    import psycopg

    if isinstance(exc, psycopg.errors.UndefinedTable):
        relation = str(exc).strip().splitlines()[0]
        return Failure(f"database: the ledger's tables are missing ({relation}): "
                       "run `royalty db upgrade`", 1)
    if not isinstance(exc, psycopg.OperationalError):
        return None
    reason = str(exc).strip().splitlines()[0]
    if "does not exist" in reason and "database" in reason:
        hint = "create it (e.g. createdb) or correct ROYALTY_DATABASE_URL"
    elif "resolve host" in reason or "Name or service not known" in reason:
        hint = "check the host name in ROYALTY_DATABASE_URL"
    elif "connection failed" in reason or "Connection refused" in reason:
        hint = "is PostgreSQL running? check ROYALTY_DATABASE_URL"
    else:
        hint = None
    return Failure(f"database: {reason}" + (f"; {hint}" if hint else ""), 1)


def _broker(exc: BaseException) -> Failure | None:
    import kombu.exceptions

    broker_errors: tuple[type[BaseException], ...] = (kombu.exceptions.OperationalError,)
    try:
        import amqp.exceptions
    except ImportError:
        pass
    else:
        broker_errors += (amqp.exceptions.AMQPError,)
    if not isinstance(exc, broker_errors):
        return None
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = ("check the host name in ROYALTY_BROKER_URL" if "Name or service not known" in reason
            else "is RabbitMQ running? check ROYALTY_BROKER_URL")
    return Failure(f"broker: {reason}; {hint}", 1)
