"""Payout tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric, Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


def _now() -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class PayoutRun(SQLModel, table=True):
    __tablename__ = "payout_run"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    provider: str = Field(sa_column=Column(Text, nullable=False))
    transfer_group: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    started_at: datetime | None = Field(default=None, sa_column=_now())
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Payout(SQLModel, table=True):
    """One transfer to one creator in one currency. ``submitted`` until the provider's
    answer is known; the amount is held in the ledger from the moment it is created."""

    __tablename__ = "payout"
    __table_args__ = (
        CheckConstraint("status IN ('submitted', 'paid', 'failed', 'reversed')",
                        name="payout_status"),
        CheckConstraint("amount > 0", name="payout_amount"),
        Index("payout_one_in_flight", "creator_id", "currency", unique=True,
              postgresql_where=text("status = 'submitted'")),
        Index("payout_by_run", "run_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    run_id: int = Field(sa_column=Column(BigInteger, ForeignKey("payout_run.id"), nullable=False))
    creator_id: int = Field(sa_column=Column(Integer, ForeignKey("creator.id"), nullable=False))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    amount: Decimal = Field(sa_column=Column(Numeric(38, 9), nullable=False))
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    destination: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    transfer_id: str | None = Field(default=None, sa_column=Column(Text, unique=True))
    reversed_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False,
                                                            server_default=text("0")))
    failure: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())


class WebhookEvent(SQLModel, table=True):
    """Every Stripe event id received: a redelivery finds its id and changes nothing."""

    __tablename__ = "webhook_event"

    id: str = Field(sa_column=Column(Text, primary_key=True))
    type: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime | None = Field(default=None, sa_column=_now())
    payload: dict = Field(sa_column=Column(JSONB, nullable=False))


class SandboxTransfer(SQLModel, table=True):
    """Transfers of the sandbox provider: no money moves, but runs and reconcile work."""

    __tablename__ = "sandbox_transfer"

    id: str = Field(sa_column=Column(Text, primary_key=True))
    idempotency_key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    destination: str = Field(sa_column=Column(Text, nullable=False))
    transfer_group: str = Field(sa_column=Column(Text, nullable=False))
    metadata_: dict = Field(sa_column=Column("metadata", JSONB, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now())
