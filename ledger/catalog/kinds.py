"""What an import file holds (a light module: the CLI names it before anything is run)."""

from __future__ import annotations

from enum import Enum


class ImportKind(str, Enum):
    creators = "creators"
    works = "works"
    licensees = "licensees"
    licenses = "licenses"
