"""Engines and connections. Nothing is created at import; callers pass a URL.

SQLAlchemy is imported only where an engine or a URL's parts are needed: commands that
talk to PostgreSQL through psycopg alone start without it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Amounts: up to 10^12 major units (and far beyond) at 9 dp, never rounded by the column.
AMOUNT_PRECISION, AMOUNT_SCALE = 38, 9
# A PostgreSQL URL's scheme, with or without a driver (``postgresql+psycopg://``).
_SCHEME = re.compile(r"(?:postgresql|postgres)(?:\+\w+)?://")


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's psycopg 3 dialect URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://…`` as a plain libpq URL for psycopg.connect: the scheme is
    swapped, the rest left as written (libpq reads it as SQLAlchemy does), unless a ``/``
    stands before the last ``@`` (a password with an unencoded ``/``, which libpq would
    read as the end of the host): SQLAlchemy then spells it again, encoded."""
    scheme = _SCHEME.match(url)
    if scheme is not None:
        rest = url[scheme.end():]
        if "/" not in rest[:rest.rfind("@") + 1]:
            return "postgresql://" + rest
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)


# Hot paths (ingest, re-evaluation) run the same statements over and over on batches
# PostgreSQL cannot estimate (temporary tables): JIT compilation costs more than it saves.
HOT_PATH_OPTIONS = "-c jit=off"


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """A raw psycopg connection, for COPY and set-based statements."""
    return psycopg.connect(libpq_url(url), **kwargs)
