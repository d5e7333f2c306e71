"""Ledger tables. Entries and postings are append-only (database triggers refuse edits);
statement lines fold what entries booked (``ledger.accounting.statement_lines``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY, BigInteger, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric,
    Text, UniqueConstraint, text,
)
from sqlmodel import Field, SQLModel

# license_unallocated: a period's pool no event took (contract §9), owner the license.
ACCOUNT_KINDS = ("licensee_receivable", "creator_payable", "platform_revenue",
                 "payout_clearing", "payout_cash", "license_unallocated")


class Account(SQLModel, table=True):
    """One account per (kind, owner, currency); owner 0 is the platform."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("kind", "owner_id", "currency"),
        CheckConstraint("kind IN ('licensee_receivable', 'creator_payable', "
                        "'platform_revenue', 'payout_clearing', 'payout_cash', "
                        "'license_unallocated')", name="account_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int = Field(sa_column=Column(Integer, nullable=False))
    currency: str = Field(sa_column=Column(Text, nullable=False))


class JournalEntry(SQLModel, table=True):
    __tablename__ = "journal_entry"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    memo: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))


class Posting(SQLModel, table=True):
    """Positive amounts are debits, negative credits; an entry sums to 0 per currency."""

    __tablename__ = "posting"
    __table_args__ = (Index("posting_account", "account_id"), Index("posting_entry", "entry_id"))

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    entry_id: int = Field(sa_column=Column(BigInteger, ForeignKey("journal_entry.id"),
                                           nullable=False))
    account_id: int = Field(sa_column=Column(Integer, ForeignKey("account.id"), nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))


class CatalogChange(SQLModel, table=True):
    """Outbox: what an import changed, until the re-evaluation has handled it."""

    __tablename__ = "catalog_change"
    __table_args__ = (Index("catalog_change_open", "id",
                            postgresql_where=text("processed_at IS NULL")),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    created_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))
    work_ids: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    creator_ids: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    licensee_ids: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class EventReevaluation(SQLModel, table=True):
    """Append-only history: an event's evaluation before and after a catalog change."""

    __tablename__ = "event_reevaluation"
    __table_args__ = (Index("event_reevaluation_event", "event_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))
    old_outcome: str | None = Field(default=None, sa_column=Column(Text))
    new_outcome: str = Field(sa_column=Column(Text, nullable=False))
    old_license_id: int | None = Field(default=None, sa_column=Column(Integer))
    new_license_id: int | None = Field(default=None, sa_column=Column(Integer))
    old_net: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))
    new_net: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))


class EventVoid(SQLModel, table=True):
    """Append-only: an event voided by an operator, why, and the entry that reversed it."""

    __tablename__ = "event_void"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    voided_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))


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
