"""Report tables: what a report reads instead of every event."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, Numeric, Text, text
from sqlmodel import Field, SQLModel

# Keys compare in code point order ("C"), so that the statement's order is the index's.
KEY = Text(collation="C")


class StatementLine(SQLModel, table=True):
    """A creator's accrued events by currency, usage month, work, licensee, model, purpose
    and unit, with the creator's part of their net: the all-time statement's lines, folded.

    A booking entry's standing events are added once it is folded (``statement_folded``);
    a re-evaluation adds and takes away what it changes in its own transaction. Until its
    entry is folded, a statement reads an entry's events from ``usage_event``."""

    __tablename__ = "statement_line"
    __table_args__ = (
        # covering: a statement reads its lines from the index alone, in order
        Index("statement_line_key", "creator_id", "currency", "month", "work", "licensee",
              "model", "purpose", "unit", unique=True, postgresql_nulls_not_distinct=True,
              postgresql_include=["events", "quantity", "amount"]),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    creator_id: int = Field(sa_column=Column(Integer, nullable=False))
    currency: str = Field(sa_column=Column(KEY, nullable=False))
    month: date = Field(sa_column=Column(Date, nullable=False))  # of the events' time, UTC
    work: str = Field(sa_column=Column(KEY, nullable=False))  # the work's key
    licensee: str = Field(sa_column=Column(KEY, nullable=False))  # the licensee's key
    model: str | None = Field(default=None, sa_column=Column(KEY))
    purpose: str = Field(sa_column=Column(KEY, nullable=False))
    unit: str = Field(sa_column=Column(KEY, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    quantity: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))


class StatementFolded(SQLModel, table=True):
    """The booking entries (accrual, re-evaluation) whose events ``statement_line`` holds."""

    __tablename__ = "statement_folded"

    entry_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    folded_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))
