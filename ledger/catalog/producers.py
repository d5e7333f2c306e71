"""The producers a licensee takes usage from (contract §11): the binding as recorded."""

from __future__ import annotations

import re

from sqlalchemy import Connection

from ledger.catalog import sql
from ledger.errors import InvalidInput, NotFound, RowError

# RabbitMQ takes almost any user name; these are the ones that read safely in a routing
# key pattern, a URL path and a terminal.
USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


def check_user(user: str) -> str:
    if not USER.fullmatch(user):
        raise InvalidInput([RowError(0, f"USER {user[:80]!r} is not a broker user name "
                                        "(letters, digits, '.', '_', '@', '-'; at most 128)")])
    return user


def _producers(conn: Connection, licensee: str) -> list[str]:
    row = conn.execute(sql.PRODUCERS_OF, {"licensee": licensee}).first()
    if row is None:
        raise NotFound(f"no licensee {licensee[:200]!r}")
    return list(row[0])


def grant(conn: Connection, licensee: str, user: str) -> bool:
    """Add ``user`` to the licensee's producers; False when it was one already."""
    producers = _producers(conn, licensee)
    if check_user(user) in producers:
        return False
    conn.execute(sql.SET_PRODUCERS, {"licensee": licensee,
                                     "producers": sorted([*producers, user])})
    return True


def revoke(conn: Connection, licensee: str, user: str) -> bool:
    """Remove ``user`` from the licensee's producers; False when it was not one."""
    producers = _producers(conn, licensee)
    if user not in producers:
        return False
    conn.execute(sql.SET_PRODUCERS, {"licensee": licensee,
                                     "producers": [p for p in producers if p != user]})
    return True


def licensees_of(conn: Connection, user: str) -> list[str]:
    return [key for key, in conn.execute(sql.LICENSEES_OF_PRODUCER, {"user": user})]
