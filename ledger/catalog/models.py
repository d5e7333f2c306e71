"""Catalog tables: creators, licensees, works, identifiers, effective-dated splits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY, Boolean, CheckConstraint, Column, Computed, DateTime, ForeignKey, Index, Integer, Numeric,
    Text,
    UniqueConstraint, text,
)
from sqlalchemy.dialects.postgresql import BIT
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


_BITS = ("CASE WHEN kind = 'pdq' THEN CAST(pdq_bits(value) AS bit varying) "
         "WHEN kind = 'iscc' THEN CAST(iscc_content(value) AS bit varying) END")
_BANDS = ("CASE WHEN kind = 'pdq' THEN pdq_keys(value) "
          "WHEN kind = 'iscc' THEN iscc_keys(value) END")
_INSTANCE = "CASE WHEN kind = 'iscc' THEN iscc_instance(value) END"


class WorkIdentifier(SQLModel, table=True):
    """One row per identifier kind and normalised value; a value names one work."""

    __tablename__ = "work_identifier"
    __table_args__ = (
        Index("work_identifier_work_id", "work_id"),
        # Multi-index hashing (contract §8): the registered fingerprints by band.
        Index("work_identifier_bands", "bands", postgresql_using="gin",
              postgresql_where=text("bands IS NOT NULL"), postgresql_with={"fastupdate": "off"}),
        Index("work_identifier_instance", "instance",
              postgresql_where=text("instance IS NOT NULL")),
    )

    # Compared byte for byte ("C"): matching looks values up by the thousand per batch.
    kind: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    value: str = Field(sa_column=Column(Text(collation="C"), primary_key=True))
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), nullable=False))
    # How it came to the work: NULL imported, "review" or "claim" an accepted candidate (a
    # match through it says so). Its pdq and iscc values are found by the bands of their
    # bits (GIN indexes on pdq_keys / iscc_keys, made by migrations 0021 and 0022).
    via: str | None = Field(default=None, sa_column=Column(Text))
    # A pdq's or iscc's bits (the ISCC Content-Code's), band keys and ISCC Instance-Code,
    # decoded by the SQL functions of migration 0021 when the row is written.
    bits: str | None = Field(default=None, sa_column=Column(
        BIT(varying=True), Computed(_BITS, persisted=True)))
    bands: list[int] | None = Field(default=None, sa_column=Column(
        ARRAY(Integer), Computed(_BANDS, persisted=True)))
    instance: str | None = Field(default=None, sa_column=Column(
        BIT(64), Computed(_INSTANCE, persisted=True)))
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


class FingerprintBand(SQLModel, table=True):
    """One row per band of each registered fingerprint (``rules.PDQ_BANDS``, ``ISCC_BANDS``),
    with its bits zero-padded to 256 (an ISCC Content-Code's 64): the index an event's
    similarity look-up reads (kept by triggers on ``work_identifier``). Partitioned by the
    band key's range, one part per PDQ band position and one for ISCC codes (migration
    0025 creates them: ``BAND_PARTITIONS``); ``via`` is ``''`` for an imported identifier."""

    __tablename__ = "fingerprint_band"
    __table_args__ = (Index("fingerprint_band_band", "band",
                            postgresql_include=["work_id", "bits", "via"]),
                      {"postgresql_partition_by": "RANGE (band)"})
    __mapper_args__ = {"primary_key": ["band", "work_id"]}

    band: int = Field(sa_column=Column(Integer, nullable=False))
    bits: str = Field(sa_column=Column(BIT(varying=True), nullable=False))
    work_id: int = Field(sa_column=Column(Integer, nullable=False))
    via: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


# fingerprint_band's parts, as migration 0025 names them
BAND_PARTITIONS = ("fingerprint_band_iscc",
                   *(f"fingerprint_band_pdq_{i:02d}" for i in range(14)))
