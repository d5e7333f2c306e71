"""Ingest tables: the event inbox, dead letters, and a log of ingested batches."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, Computed, DateTime, Index, Integer, LargeBinary, Numeric,
    Text, UniqueConstraint, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ledger.catalog.identifiers import IDENTIFIER_KINDS


def _now() -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class UsageEvent(SQLModel, table=True):
    """One accepted usage event; ``(source, event_id)`` is its identity."""

    __tablename__ = "usage_event"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="usage_event_identity"),
        CheckConstraint("outcome IN ('accrued', 'unmatched', 'unlicensed', 'opted_out', "
                        "'unpriced', 'voided')", name="usage_event_outcome"),
        # matched events only: nothing looks an unmatched event up by work
        Index("usage_event_work", "work_id", postgresql_where=text("work_id IS NOT NULL")),
        Index("usage_event_unmatched", "id", postgresql_where=text("outcome = 'unmatched'"),
              postgresql_include=["licensee_id", "time", "quantity", "sha256", "c2pa", "isrc",
                                  "iswc", "isbn", "doi", "url", "pdq", "iscc"]),
        Index("usage_event_unlicensed", "licensee_id", "model", "work_id", "outcome", "purpose",
              postgresql_include=["quantity", "unit"],
              postgresql_where=text("outcome IN ('unlicensed', 'opted_out', 'unpriced')")),
        Index("usage_event_entry", "entry_id", postgresql_where=text("entry_id IS NOT NULL")),
        # the few events matched otherwise than exactly (contract §8)
        Index("usage_event_similar_work", "work_id",
              postgresql_where=text("match_method <> 'exact'")),
        Index("usage_event_similar_licensee", "licensee_id", "model",
              postgresql_where=text("match_method <> 'exact'")),
        # uses awaiting their period's allocation (pool, revenue share), by license and time:
        # a period's close reads them; no per-unit event pays for this index
        Index("usage_event_pooled", "license_id", "time",
              postgresql_where=text("outcome = 'accrued' AND gross IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    # The identity, compared byte for byte ("C"): every event is looked up and inserted in
    # its unique index.
    source: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    event_id: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    content_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    licensee_id: int = Field(sa_column=Column(Integer, nullable=False))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    activity: str | None = Field(default=None, sa_column=Column(Text))
    model: str | None = Field(default=None, sa_column=Column(Text))
    run: str | None = Field(default=None, sa_column=Column(Text))
    dataset: str | None = Field(default=None, sa_column=Column(Text))
    quantity: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    unit: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = Field(default=None, sa_column=Column(Text))
    isrc: str | None = Field(default=None, sa_column=Column(Text))
    iswc: str | None = Field(default=None, sa_column=Column(Text))
    isbn: str | None = Field(default=None, sa_column=Column(Text))
    doi: str | None = Field(default=None, sa_column=Column(Text))
    c2pa: str | None = Field(default=None, sa_column=Column(Text))
    phash: str | None = Field(default=None, sa_column=Column(Text))
    simhash: str | None = Field(default=None, sa_column=Column(Text))
    # content fingerprints (contract §8), matched also when similar
    pdq: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    iscc: str | None = Field(default=None, sa_column=Column(Text(collation="C")))
    extensions: dict | None = Field(default=None, sa_column=Column(JSONB))
    received_at: datetime | None = Field(default=None, sa_column=_now())
    # The evaluation (contract §6): set when the event is booked, changed only by a
    # re-evaluation, which also books the difference and records it in event_reevaluation.
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    work_id: int | None = Field(default=None, sa_column=Column(Integer))
    split_version_id: int | None = Field(default=None, sa_column=Column(Integer))
    license_id: int | None = Field(default=None, sa_column=Column(Integer))
    currency: str | None = Field(default=None, sa_column=Column(Text))
    gross: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))
    fee: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))
    net: Decimal | None = Field(default=None, sa_column=Column(Numeric(38, 9)))
    entry_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # How the work was matched (exact, pdq, iscc, review, claim) and at what Hamming distance.
    match_method: str | None = Field(default=None, sa_column=Column(Text))
    match_distance: int | None = Field(default=None, sa_column=Column(Integer))
    reevaluated_at: datetime | None = Field(default=None,
                                            sa_column=Column(DateTime(timezone=True)))


assert set(IDENTIFIER_KINDS) <= set(UsageEvent.model_fields), "an identifier kind has no column"


class DeadLetter(SQLModel, table=True):
    """An event or a whole message that could not be accepted, with its raw bytes."""

    __tablename__ = "dead_letter"
    __table_args__ = (
        Index("dead_letter_open", "id", postgresql_where=text("resolved_at IS NULL")),
        # one open dead letter per raw body: a redelivery does not add a second
        Index("dead_letter_open_digest", "digest", unique=True,
              postgresql_where=text("resolved_at IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    field: str | None = Field(default=None, sa_column=Column(Text))
    detail: str = Field(sa_column=Column(Text, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text))
    event_id: str | None = Field(default=None, sa_column=Column(Text))
    content_type: str | None = Field(default=None, sa_column=Column(Text))
    routing_key: str | None = Field(default=None, sa_column=Column(Text))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    digest: bytes | None = Field(default=None, sa_column=Column(
        LargeBinary, Computed("sha256(raw)", persisted=True), nullable=False))
    received_at: datetime | None = Field(default=None, sa_column=_now())
    attempts: int = Field(default=1, sa_column=Column(Integer, nullable=False,
                                                      server_default=text("1")))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    # a body kept compressed, as it came (it did not decompress, or beyond the limit)
    content_encoding: str | None = Field(default=None, sa_column=Column(Text))
    # the AMQP user_id the message came with (a replay keeps it)
    user_id: str | None = Field(default=None, sa_column=Column(Text))
    # why it was discarded (resolution ``discarded``)
    note: str | None = Field(default=None, sa_column=Column(Text))


class IngestBatch(SQLModel, table=True):
    """One committed batch: how many events it received and what became of them."""

    __tablename__ = "ingest_batch"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    committed_at: datetime | None = Field(default=None, sa_column=_now())
    messages: int = Field(sa_column=Column(Integer, nullable=False))
    received: int = Field(sa_column=Column(Integer, nullable=False))
    accepted: int = Field(sa_column=Column(Integer, nullable=False))
    duplicates: int = Field(sa_column=Column(Integer, nullable=False))
    dead_lettered: int = Field(sa_column=Column(Integer, nullable=False))
    replayed: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
