"""License tables: terms, and the works or creators a scoped license names."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, Numeric, Text, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class License(SQLModel, table=True):
    __tablename__ = "license"
    __table_args__ = (
        CheckConstraint("scope_kind IN ('works', 'creators', 'catalog')", name="license_scope_kind"),
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="license_validity"),
        CheckConstraint("price >= 0", name="license_price"),
        CheckConstraint("platform_fee >= 0 AND platform_fee <= 1", name="license_fee"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="license_currency_iso"),
        Index("license_licensee_id", "licensee_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    licensee_id: int = Field(sa_column=Column(Integer, ForeignKey("licensee.id"), nullable=False))
    scope_kind: str = Field(sa_column=Column(Text, nullable=False))
    purposes: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    valid_from: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    valid_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    currency: str = Field(sa_column=Column(Text, nullable=False))
    rate_type: str = Field(sa_column=Column(Text, nullable=False))
    rate_unit: str = Field(sa_column=Column(Text, nullable=False))
    price: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    platform_fee: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    rate: dict = Field(sa_column=Column(JSONB, nullable=False))
    # from this moment on it covers no use
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()")))


class LicenseScopeWork(SQLModel, table=True):
    __tablename__ = "license_scope_work"
    __table_args__ = (Index("license_scope_work_work_id", "work_id"),)

    license_id: int = Field(sa_column=Column(Integer, ForeignKey("license.id"), primary_key=True))
    work_id: int = Field(sa_column=Column(Integer, ForeignKey("work.id"), primary_key=True))


class LicenseScopeCreator(SQLModel, table=True):
    __tablename__ = "license_scope_creator"
    __table_args__ = (Index("license_scope_creator_creator_id", "creator_id"),)

    license_id: int = Field(sa_column=Column(Integer, ForeignKey("license.id"), primary_key=True))
    creator_id: int = Field(
        sa_column=Column(Integer, ForeignKey("creator.id"), primary_key=True))
