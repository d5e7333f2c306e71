"""The composition root: settings → database, broker and Stripe client, created on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ledger import db, embedded
from ledger.config import Settings, get_settings
from ledger.ingest.topology import Topology

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass
class Ledger:
    """What a command or a worker needs, built lazily from one ``Settings``."""

    settings: Settings = field(default_factory=get_settings)

    @cached_property
    def database_url(self) -> str:
        """libpq URL of the ledger database (the embedded one when none is configured)."""
        if self.settings.database_url:
            return db.libpq_url(self.settings.database_url)
        return embedded.ensure_running(self.settings.home)

    @property
    def database_is_embedded(self) -> bool:
        return not self.settings.database_url

    @cached_property
    def broker_url(self) -> str:
        """Celery/kombu broker URL: RabbitMQ when configured, else kombu's SQL transport
        on the ledger's own PostgreSQL (no extra service)."""
        if self.settings.broker_url:
            return self.settings.broker_url
        return "sqla+" + db.sqlalchemy_url(self.database_url)

    @property
    def broker_is_embedded(self) -> bool:
        return not self.settings.broker_url

    @cached_property
    def topology(self) -> Topology:
        return Topology(self.settings.usage_exchange, self.settings.ingest_queue)

    @cached_property
    def engine(self) -> Engine:
        return db.make_engine(self.database_url)

    @cached_property
    def payout_provider(self):  # noqa: ANN201 - ledger.payouts.providers.PayoutProvider
        """Stripe when a key is configured; the sandbox (no money moves) otherwise."""
        if self.settings.stripe_api_key:
            from ledger.payouts.stripe_provider import StripeProvider

            return StripeProvider(self.settings.stripe_api_key, self.settings.stripe_api_base)
        from ledger.payouts.sandbox import SandboxProvider

        return SandboxProvider(self.database_url)

    def connect(self, **kwargs: object):  # noqa: ANN201 - psycopg.Connection
        return db.connect(self.database_url, **kwargs)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
