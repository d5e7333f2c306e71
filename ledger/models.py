"""Every table model, imported in one place so the metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from ledger.accounting.models import (  # noqa: F401
    Account, CatalogChange, EventReevaluation, JournalEntry, Posting,
)
from ledger.catalog.models import (  # noqa: F401
    Creator, Licensee, SplitShare, SplitVersion, Work, WorkIdentifier,
)
from ledger.ingest.models import (  # noqa: F401
    DeadLetter, IngestBatch, UsageEvent, UsageTally,
)
from ledger.payouts.models import Payout, PayoutRun, SandboxTransfer, WebhookEvent  # noqa: F401
from ledger.licensing.models import License, LicenseScopeCreator, LicenseScopeWork  # noqa: F401
from ledger.reports.models import StatementFolded, StatementLine  # noqa: F401

metadata = SQLModel.metadata
