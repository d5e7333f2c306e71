"""The three-month statement scenario (``scenario.py``) as a fixture."""

from tests.ledger.reports.scenario import scenario  # noqa: F401 - a fixture
