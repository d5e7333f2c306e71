"""Matching's tables: the usage tallies (kept by ``ledger.matching.tally``), and the
review of near-duplicate candidates and creators' claims (``ledger.matching.review``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, Numeric, Text,
    UniqueConstraint, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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


def _created() -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class MatchClaim(SQLModel, table=True):
    """A creator's claim that items are renditions of their work (contract §8), as filed."""

    __tablename__ = "match_claim"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    creator_id: int = Field(sa_column=Column(Integer, ForeignKey("creator.id"), nullable=False))
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), nullable=False))
    identifiers: dict = Field(sa_column=Column(JSONB, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_created())


class MatchCandidate(SQLModel, table=True):
    """An item's identifier proposed as a rendition of a work: from review (a fingerprint
    in suspense near a registered one) or a claim; decided once, with who and when."""

    __tablename__ = "match_candidate"
    __table_args__ = (
        UniqueConstraint("kind", "value", "work_id", name="match_candidate_pair"),
        CheckConstraint("status IN ('open', 'accepted', 'rejected')",
                        name="match_candidate_status"),
        CheckConstraint("method IN ('review', 'claim')", name="match_candidate_method"),
        Index("match_candidate_open", "id", postgresql_where=text("status = 'open'")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    kind: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    value: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), nullable=False))
    method: str = Field(sa_column=Column(Text, nullable=False))
    distance: int | None = Field(default=None, sa_column=Column(Integer))
    claim_id: int | None = Field(default=None, sa_column=Column(
        BigInteger, ForeignKey("match_claim.id")))
    status: str = Field(default="open", sa_column=Column(Text, nullable=False,
                                                        server_default=text("'open'")))
    decided_by: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime | None = Field(default=None, sa_column=_created())


class ProposedFingerprint(SQLModel, table=True):
    """A fingerprint in suspense that review has looked up (``reach``: the review threshold
    it was looked up with), so that the next proposal skips it. Forgotten when a fingerprint
    sharing one of its ``bands`` is registered (a trigger on ``work_identifier``) or when a
    candidate of it is rejected."""

    __tablename__ = "proposed_fingerprint"
    __table_args__ = (
        Index("proposed_fingerprint_bands", "bands", postgresql_using="gin",
              postgresql_with={"fastupdate": "off"}),
    )

    kind: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    value: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    reach: int = Field(sa_column=Column(Integer, nullable=False))
    bands: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    proposed_at: datetime | None = Field(default=None, sa_column=_created())


class ProposalStale(SQLModel, table=True):
    """A note that fingerprints review has looked up must be looked up again: the one named
    (``kind``, ``value``: a rejected candidate's), those sharing a band with ``bands`` (a
    registered fingerprint's), or every one (all null). The next proposal applies and
    deletes the notes it sees."""

    __tablename__ = "proposal_stale"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    kind: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    value: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    bands: list[int] | None = Field(default=None, sa_column=Column(ARRAY(Integer)))
    created_at: datetime | None = Field(default=None, sa_column=_created())
