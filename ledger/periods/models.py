"""Tables of accounting periods (contract §9): closed license-periods, the per-event amounts
of each allocation run, and the revenue licensees report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric, Table,
    Text, UniqueConstraint, text,
)
from sqlmodel import Field, SQLModel


class LicensePeriod(SQLModel, table=True):
    """A license-period once closed, with the figures of its latest allocation run. The
    unique key is what makes a period closed twice at once book once."""

    __tablename__ = "license_period"
    __table_args__ = (
        UniqueConstraint("license_id", "starts_at"),
        CheckConstraint("state IN ('closed', 'adjusted')", name="license_period_state"),
        CheckConstraint("pool >= 0 AND allocated + unallocated = pool",
                        name="license_period_pool"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    license_id: int = Field(sa_column=Column(Integer, ForeignKey("license.id"), nullable=False))
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    label: str = Field(sa_column=Column(Text, nullable=False))  # 2026-11, 2026-Q4, 2026
    state: str = Field(sa_column=Column(Text, nullable=False))
    run: int = Field(sa_column=Column(Integer, nullable=False))  # 1 at close, +1 per adjustment
    currency: str = Field(sa_column=Column(Text, nullable=False))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    quantity: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    revenue: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))
    pool: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    allocated: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    unallocated: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    # What the latest run had seen: anything newer that touches the period re-allocates it.
    event_mark: int = Field(sa_column=Column(BigInteger, nullable=False))
    reevaluation_mark: int = Field(sa_column=Column(BigInteger, nullable=False))
    revenue_mark: int = Field(sa_column=Column(BigInteger, nullable=False))
    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    closed_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))
    adjusted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


# Each event's amount in one allocation run of a period: its gross (its part of the pool),
# fee and net (contract §5). Append-only (triggers); an adjustment adds a run. A plain
# table: a close writes one row per event of the period, and a unique index would cost it
# a third of its time; one INSERT ... SELECT over distinct events makes each row once, and
# a BRIN index (rows arrive in period and run order) finds a run for its reversal.
PeriodAllocation = Table(
    "period_allocation", SQLModel.metadata,
    Column("license_period_id", BigInteger, nullable=False),
    Column("run", Integer, nullable=False),
    Column("event_id", BigInteger, nullable=False),
    Column("licensee_id", Integer, nullable=False),
    Column("work_id", Integer, nullable=False),
    Column("split_version_id", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("quantity", Numeric, nullable=False),
    Column("gross", Numeric(38, 9), nullable=False),
    Column("fee", Numeric(38, 9), nullable=False),
    Column("net", Numeric(38, 9), nullable=False),
    # the entry that booked the run: the statement-line fold reads a run by it
    Column("entry_id", BigInteger),
    Index("period_allocation_run", "license_period_id", "run", postgresql_using="brin"),
)


class RevenueReport(SQLModel, table=True):
    """A licensee's revenue for a license-period (``io.royaltyledger.revenue.v1``),
    deduplicated by ``(source, id)`` like usage."""

    __tablename__ = "revenue_report"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        Index("revenue_report_period", "license_id", "starts_at"),
        CheckConstraint("amount >= 0", name="revenue_report_amount"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    source: str = Field(sa_column=Column(Text, nullable=False))
    event_id: str = Field(sa_column=Column(Text, nullable=False))
    licensee_id: int = Field(sa_column=Column(Integer, ForeignKey("licensee.id"), nullable=False))
    license_id: int = Field(sa_column=Column(Integer, ForeignKey("license.id"), nullable=False))
    period: str = Field(sa_column=Column(Text, nullable=False))  # as reported: 2026-11
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    digest: str = Field(sa_column=Column(Text, nullable=False))  # of the report's content
    received_at: datetime | None = Field(default=None, sa_column=Column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")))
