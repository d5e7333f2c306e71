"""Database URLs as psycopg gets them: the scheme swapped, the rest as libpq must read it."""

from __future__ import annotations

import psycopg
import pytest

from ledger.db import libpq_url


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql+psycopg://u:p%40ss@db.example:5433/ledger",
     "postgresql://u:p%40ss@db.example:5433/ledger"),
    ("postgres://u@[::1]/ledger?host=/run/postgresql",
     "postgresql://u@[::1]/ledger?host=/run/postgresql"),
    ("postgresql://h/ledger?options=-c%20jit%3Doff", "postgresql://h/ledger?options=-c%20jit%3Doff"),
    # a "/" in the password, unencoded, would end libpq's host part: it is encoded
    ("postgresql://u:pa/ss@h:5433/ledger", "postgresql://u:pa%2Fss@h:5433/ledger"),
])
def test_libpq_url(url: str, expected: str) -> None:
    assert libpq_url(url) == expected


def test_libpq_reads_the_password_with_a_slash() -> None:
    info = psycopg.conninfo.conninfo_to_dict(libpq_url("postgresql://u:pa/ss@h:5433/ledger"))
    assert (info["user"], info["password"], info["host"], info["port"], info["dbname"]) == \
        ("u", "pa/ss", "h", "5433", "ledger")
