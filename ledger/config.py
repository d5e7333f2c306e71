"""Settings from the environment (contract §1). Reading them has no side effects."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return platformdirs.user_data_path("royalty-ledger")


class Settings(BaseSettings):
    """Every ``ROYALTY_*`` variable the product reads."""

    model_config = SettingsConfigDict(env_prefix="ROYALTY_", extra="ignore")

    database_url: str | None = None
    broker_url: str | None = None
    home: Path = Field(default_factory=_default_home)
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    payout_threshold: Decimal = Decimal("10.00")
    payout_schedule: str = "0 6 1 * *"  # cron: monthly, 06:00 UTC on the 1st
    # A payout run fetches a creator's account state first when it is older than this.
    payout_account_max_age: int = 3600  # seconds
    ingest_batch_events: int = 20_000
    ingest_flush_seconds: float = 0.2
    # Database connections storing batches in parallel. On 2 cores, 3 beat 2 (PostgreSQL,
    # the slowest stage, gets a larger share of the CPU): bench.ingest e2e 57.8k -> 60.9k ev/s.
    ingest_writers: int = 3
    max_message_bytes: int = 16 * 1024 * 1024
    usage_exchange: str = "royalty.usage"
    ingest_queue: str = "royalty.usage.ingest"
    task_queue: str = "royalty.tasks"
    # contract §11: every licensee takes events only from its producers
    require_producer: bool = False
    broker_admin_url: str | None = None  # RabbitMQ's management API, for grant-producer
    # Near-duplicate matching (contract §8): Hamming distances at or below which a
    # fingerprint matches (auto) or is proposed for review. Chosen from the table of
    # bench/fingerprint_thresholds.py (README): no false match on real media.
    match_pdq: int = Field(31, ge=0, le=256)
    match_iscc: int = Field(8, ge=0, le=64)
    review_pdq: int = Field(63, ge=0, le=256)
    review_iscc: int = Field(15, ge=0, le=64)
    # contract §9: a period closes by itself this many days after its end
    period_grace: Decimal = Field(default=Decimal(5), ge=0)

    @property
    def period_grace_delta(self) -> timedelta:
        return timedelta(days=float(self.period_grace))
    # An event dated later than now plus this is dead-lettered (seconds, or ISO 8601: P1D).
    future_tolerance: timedelta = timedelta(days=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
