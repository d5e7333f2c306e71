"""Engines and connections. Nothing is created at import; callers pass a URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

# Amounts: up to 10^12 major units (and far beyond) at 9 dp, never rounded by the column.
AMOUNT_PRECISION, AMOUNT_SCALE = 38, 9


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's psycopg 3 dialect URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://…`` as a plain libpq URL for psycopg.connect."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, **kwargs)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with Session(engine) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Hot paths (ingest, re-evaluation) run the same statements over and over on batches
# PostgreSQL cannot estimate (temporary tables): JIT compilation costs more than it saves.
HOT_PATH_OPTIONS = "-c jit=off"


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    """A raw psycopg connection, for COPY and set-based statements."""
    return psycopg.connect(libpq_url(url), **kwargs)
