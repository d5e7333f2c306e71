"""Every hand-written statement of licensing: reading the licenses' terms for the import
plan (which license covers a use is decided in ``ledger.matching.sql``, by the rules of
``ledger.licensing.rules``)."""

from __future__ import annotations

from sqlalchemy import text

# Every license of the licensees ``:keys`` (all when NULL), with its terms.
LICENSES = text("""
SELECT l.id, l.key, le.key AS licensee, l.scope_kind, l.purposes, l.valid_from,
       l.valid_until, l.currency, l.rate_type, l.rate_unit, l.price, l.platform_fee,
       l.rate, l.retired_at
FROM license l JOIN licensee le ON le.id = l.licensee_id
WHERE CAST(:keys AS text[]) IS NULL OR le.key = ANY(CAST(:keys AS text[]))
""")
SCOPE_WORKS = text("""
SELECT s.license_id, w.key FROM license_scope_work s JOIN work w ON w.id = s.work_id
WHERE s.license_id = ANY(:ids)
""")
SCOPE_CREATORS = text("""
SELECT s.license_id, c.key FROM license_scope_creator s JOIN creator c ON c.id = s.creator_id
WHERE s.license_id = ANY(:ids)
""")
