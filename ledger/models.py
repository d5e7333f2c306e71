"""Every table model, imported in one place so the metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from ledger.accounting.models import (  # noqa: F401
    Account, CatalogChange, EventReevaluation, EventVoid, JournalEntry, Posting, StatementFolded,
    StatementLine,
)
from ledger.catalog.models import (  # noqa: F401
    Creator, FingerprintBand, Licensee, SplitShare, SplitVersion, Work, WorkIdentifier,
)
from ledger.ingest.models import DeadLetter, IngestBatch, UsageEvent  # noqa: F401
from ledger.matching.models import (  # noqa: F401
    MatchCandidate, MatchClaim, UsageTally, UsageWorkTally,
)
from ledger.payouts.models import Payout, PayoutRun, SandboxTransfer, WebhookEvent  # noqa: F401
from ledger.periods.models import (  # noqa: F401
    LicensePeriod, PeriodAllocation, RevenueReport,
)
from ledger.licensing.models import License, LicenseScopeCreator, LicenseScopeWork  # noqa: F401

metadata = SQLModel.metadata
