"""When a payout in flight is looked at again: the next firing of the payout schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.payouts.schedule import next_run, retry_note

NOW = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(("schedule", "expected"), [
    ("0 6 1 * *", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
    ("*/15 * * * *", datetime(2026, 11, 24, 10, 15, tzinfo=UTC)),
    ("0 6 * * 1", datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),
    ("0 12 * * *", datetime(2026, 11, 24, 12, 0, tzinfo=UTC)),
    ("0 6 1 1 *", datetime(2027, 1, 1, 6, 0, tzinfo=UTC)),
])
def test_next_run(schedule, expected) -> None:
    assert next_run(schedule, NOW) == expected


@pytest.mark.parametrize("schedule", ["bad", "0 6 31 2 *", "99 * * * *"])
def test_a_schedule_that_cannot_be_read_or_never_fires(schedule) -> None:
    assert next_run(schedule, NOW) is None
    assert schedule in retry_note(schedule, NOW)
