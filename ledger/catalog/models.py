"""Catalog tables: creators, licensees, works, identifiers, effective-dated splits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY, Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric, Text,
    UniqueConstraint, text,
)
from sqlmodel import Field, SQLModel


def _tokens_column() -> Column:
    return Column(ARRAY(Text), nullable=False, server_default=text("'{}'::text[]"))


def _created_column() -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class Creator(SQLModel, table=True):
    __tablename__ = "creator"
    __table_args__ = (CheckConstraint("currency ~ '^[A-Z]{3}$'", name="creator_currency_iso"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(Text))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    stripe_account: str | None = Field(default=None, sa_column=Column(Text))
    payout_threshold: Decimal | None = Field(default=None, sa_column=Column(Numeric))
    opt_out: list[str] = Field(default_factory=list, sa_column=_tokens_column())
    created_at: datetime | None = Field(default=None, sa_column=_created_column())
    # Connect account state, kept current from account.updated webhooks.
    payouts_enabled: bool = Field(default=False, sa_column=Column(
        Boolean, nullable=False, server_default=text("false")))
    requirements_due: list[str] = Field(default_factory=list, sa_column=_tokens_column())
    account_updated_at: datetime | None = Field(default=None,
                                                sa_column=Column(DateTime(timezone=True)))
    # from then on its works are retired (a work retires with any of its creators)
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Licensee(SQLModel, table=True):
    __tablename__ = "licensee"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str | None = Field(default=None, sa_column=Column(Text))
    # broker users allowed to report its usage (contract §11); empty: any producer
    producers: list[str] = Field(default_factory=list, sa_column=_tokens_column())
    created_at: datetime | None = Field(default=None, sa_column=_created_column())
    # the largest quantity one event may report; larger ones are dead-lettered
    max_quantity: Decimal | None = Field(default=None, sa_column=Column(Numeric))


class Work(SQLModel, table=True):
    __tablename__ = "work"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str | None = Field(default=None, sa_column=Column(Text))
    opt_out: list[str] = Field(default_factory=list, sa_column=_tokens_column())
    created_at: datetime | None = Field(default=None, sa_column=_created_column())
    # from this moment on it matches no event
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class WorkIdentifier(SQLModel, table=True):
    """One row per identifier kind and normalised value; a value names one work."""

    __tablename__ = "work_identifier"
    __table_args__ = (Index("work_identifier_work_id", "work_id"),)

    # Compared byte for byte ("C"): matching looks values up by the thousand per batch.
    kind: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    value: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), nullable=False))
    # the work's, kept by triggers: matching reads it from the row it looks up anyway
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SplitVersion(SQLModel, table=True):
    """The shares of a work from ``effective_from`` (``-infinity`` for the first version)."""

    __tablename__ = "split_version"
    __table_args__ = (UniqueConstraint("work_id", "effective_from"),)

    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), nullable=False))
    effective_from: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_created_column())
    # The work's and its creators' opt-outs together; kept by database triggers.
    opt_out: list[str] = Field(default_factory=list, sa_column=_tokens_column())
    # The shares in creator key order (code points), for set-based splitting; kept by the
    # same triggers.
    creator_ids: list[int] = Field(default_factory=list, sa_column=Column(
        ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")))
    shares: list[Decimal] = Field(default_factory=list, sa_column=Column(
        ARRAY(Numeric), nullable=False, server_default=text("'{}'::numeric[]")))


class SplitShare(SQLModel, table=True):
    __tablename__ = "split_share"
    __table_args__ = (
        CheckConstraint("share > 0 AND share <= 1", name="split_share_range"),
        Index("split_share_creator_id", "creator_id"),
    )

    split_version_id: int = Field(
        sa_column=Column(Integer, ForeignKey("split_version.id"), primary_key=True))
    creator_id: int = Field(sa_column=Column(Integer, ForeignKey("creator.id"), primary_key=True))
    share: Decimal = Field(sa_column=Column(Numeric, nullable=False))
