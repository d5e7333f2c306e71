"""pytest fixtures for the Stripe fake.

Use from a conftest with ``from tests.fakes.stripe_api.pytest_plugin import stripe_fake``
(or ``pytest_plugins = ["tests.fakes.stripe_api.pytest_plugin"]`` in the top-level
conftest).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import StripeFake


@pytest.fixture
def stripe_fake() -> Iterator[StripeFake]:
    """A fresh fake (own port, own state) per test."""
    with StripeFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def stripe_fake_session() -> Iterator[StripeFake]:
    """One fake for the session; call ``fake.reset()`` where a clean slate matters."""
    with StripeFake() as fake:
        yield fake
