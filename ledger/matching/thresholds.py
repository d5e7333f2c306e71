"""The similarity thresholds of contract §8, as the matching statements take them."""

from __future__ import annotations

from ledger.config import get_settings
from ledger.fingerprints.codes import PDQ_MIN_QUALITY


def params() -> dict[str, int]:
    """The statement parameters: ``ROYALTY_MATCH_PDQ`` / ``_ISCC`` (auto-match) and
    ``ROYALTY_REVIEW_PDQ`` / ``_ISCC`` (proposed for review)."""
    settings = get_settings()
    return {"match_pdq": settings.match_pdq, "match_iscc": settings.match_iscc,
            "review_pdq": max(settings.review_pdq, settings.match_pdq),
            "review_iscc": max(settings.review_iscc, settings.match_iscc),
            "min_pdq_quality": PDQ_MIN_QUALITY}
