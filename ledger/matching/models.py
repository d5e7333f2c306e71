"""Matching's tables: the usage tallies (kept by ``ledger.matching.tally``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Date, Index, Integer, Numeric, Text
from sqlmodel import Field, SQLModel


class UsageTally(SQLModel, table=True):
    """Events (and their gross and net) by licensee, model, outcome, purpose, dataset, usage
    month and currency, as deltas: each ingest batch
    and re-evaluation adds rows in its own transaction (no row is ever contended), and
    compaction folds them into one row per key. Transparency and status read it."""

    __tablename__ = "usage_tally"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    licensee_id: int = Field(sa_column=Column(Integer, nullable=False))
    model: str | None = Field(default=None, sa_column=Column(Text))
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    dataset: str | None = Field(default=None, sa_column=Column(Text))
    month: date = Field(sa_column=Column(Date, nullable=False))  # of the events' time, UTC
    currency: str | None = Field(default=None, sa_column=Column(Text))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    gross: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    net: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))


class UsageWorkTally(SQLModel, table=True):
    """Matched events (and how many of them accrued) by licensee, model, work and split
    version, as deltas kept like the usage tally's and compacted with it. Transparency
    counts a model's distinct works and creators here, and its page ranks the works."""

    __tablename__ = "usage_work_tally"
    __table_args__ = (
        # a licensee's works in order: the distinct (work, split version) pairs stream out
        Index("usage_work_tally_licensee", "licensee_id", "work_id", "split_version_id",
              postgresql_include=["model", "events", "accrued"]),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    licensee_id: int = Field(sa_column=Column(Integer, nullable=False))
    model: str | None = Field(default=None, sa_column=Column(Text))
    work_id: int = Field(sa_column=Column(Integer, nullable=False))
    split_version_id: int | None = Field(default=None, sa_column=Column(Integer))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    accrued: int = Field(sa_column=Column(BigInteger, nullable=False))
