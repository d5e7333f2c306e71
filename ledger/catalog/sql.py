"""Every hand-written statement of the catalog (creators, works, identifiers, splits) and
of its listings; the import plans write through SQLAlchemy Core in ``repository``."""

from __future__ import annotations

from sqlalchemy import text

CREATORS = text("""
SELECT c.key AS creator, c.name, c.email, c.currency, c.stripe_account,
       c.payout_threshold, c.opt_out, c.payouts_enabled, c.requirements_due,
       c.account_updated_at AS account_checked_at, c.retired_at,
       (SELECT count(DISTINCT v.work_id) FROM split_share s
          JOIN split_version v ON v.id = s.split_version_id
         WHERE s.creator_id = c.id) AS works
FROM creator c ORDER BY c.key
""")
LICENSEES = text("""
SELECT le.key AS licensee, le.name, le.email,
       (SELECT count(*) FROM license l WHERE l.licensee_id = le.id) AS licenses,
       le.producers
FROM licensee le ORDER BY le.key
""")
# Producers (contract §11): the binding, read under a lock and written whole.
PRODUCERS_OF = text("SELECT producers FROM licensee WHERE key = :licensee FOR UPDATE")
SET_PRODUCERS = text("UPDATE licensee SET producers = :producers WHERE key = :licensee")
LICENSEES_OF_PRODUCER = text("""
SELECT key FROM licensee WHERE CAST(:user AS text) = ANY(producers) ORDER BY key
""")
WORKS = text("""
SELECT w.key AS work, w.title, w.kind, w.opt_out, w.retired_at,
       (SELECT count(*) FROM work_identifier i WHERE i.work_id = w.id) AS identifiers,
       (SELECT count(*) FROM split_version v WHERE v.work_id = w.id) AS split_versions
FROM work w ORDER BY w.key LIMIT :limit
""")
WORK = text("""
SELECT id, key, title, kind, opt_out, retired_at FROM work WHERE key = :k
""")
WORK_IDENTIFIERS = text("""
SELECT kind, value FROM work_identifier WHERE work_id = :id ORDER BY kind, value
""")
WORK_SPLITS = text("""
SELECT v.effective_from, c.key, s.share FROM split_version v
JOIN split_share s ON s.split_version_id = v.id JOIN creator c ON c.id = s.creator_id
WHERE v.work_id = :id ORDER BY v.effective_from, c.key
""")
LICENSES = text("""
SELECT l.key AS license, le.key AS licensee, l.scope_kind AS scope, l.purposes,
       l.valid_from, l.valid_until, l.currency, l.rate_type, l.rate_unit, l.price,
       l.platform_fee, l.rate, l.retired_at,
       ARRAY(SELECT w.key FROM license_scope_work s JOIN work w ON w.id = s.work_id
             WHERE s.license_id = l.id ORDER BY w.key) AS works,
       ARRAY(SELECT c.key FROM license_scope_creator s JOIN creator c ON c.id = s.creator_id
             WHERE s.license_id = l.id ORDER BY c.key) AS creators
FROM license l JOIN licensee le ON le.id = l.licensee_id
WHERE CAST(:licensee AS text) IS NULL OR le.key = :licensee
ORDER BY le.key, l.key
""")
SPLITS_OF_WORKS = text("""
SELECT v.work_id, v.effective_from, c.key, s.share
FROM split_version v
JOIN split_share s ON s.split_version_id = v.id
JOIN creator c ON c.id = s.creator_id
WHERE v.work_id = ANY(:ids)
""")
IDENTIFIER_OWNERS = text("""
SELECT i.kind, i.value, w.key
FROM unnest(CAST(:kinds AS text[]), CAST(:values AS text[])) AS p(kind, value)
JOIN work_identifier i ON i.kind = p.kind AND i.value = p.value
JOIN work w ON w.id = i.work_id
""")
CREATORS_OF_WORKS = text("""
SELECT v.work_id, c.key FROM split_version v
JOIN split_share s ON s.split_version_id = v.id JOIN creator c ON c.id = s.creator_id
WHERE v.work_id = ANY(:ids)
""")

# The works whose split version in force at :at names the creator, retired at :at unless
# retired earlier (the trigger carries it to their identifiers).
RETIRE_WORKS_OF_CREATOR = text("""
UPDATE work w SET retired_at = :at
FROM (SELECT DISTINCT v.work_id FROM split_share s
      JOIN split_version v ON v.id = s.split_version_id
      WHERE s.creator_id = :creator
        AND v.id = (SELECT x.id FROM split_version x
                    WHERE x.work_id = v.work_id AND x.effective_from <= :at
                    ORDER BY x.effective_from DESC LIMIT 1)) AS named
WHERE w.id = named.work_id AND (w.retired_at IS NULL OR w.retired_at > :at)
RETURNING w.id
""")
