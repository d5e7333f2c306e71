"""Advisory lock keys shared by modules that should not import each other."""

from __future__ import annotations

CATALOG_LOCK = 7262002  # imports take it exclusively; booking takes it shared
