"""Read-side queries of the catalog and licenses, as plain JSON-ready dicts."""

from __future__ import annotations

from sqlalchemy import Connection, text

from ledger.errors import NotFound


def list_creators(conn: Connection) -> list[dict]:
    rows = conn.execute(text("""
        SELECT c.key AS creator, c.name, c.email, c.currency, c.stripe_account,
               c.payout_threshold, c.opt_out, c.payouts_enabled, c.requirements_due,
               c.account_updated_at AS account_checked_at,
               (SELECT count(DISTINCT v.work_id) FROM split_share s
                  JOIN split_version v ON v.id = s.split_version_id
                 WHERE s.creator_id = c.id) AS works
        FROM creator c ORDER BY c.key
    """)).mappings()
    return [dict(r) for r in rows]


def list_licensees(conn: Connection) -> list[dict]:
    rows = conn.execute(text("""
        SELECT le.key AS licensee, le.name, le.email,
               (SELECT count(*) FROM license l WHERE l.licensee_id = le.id) AS licenses
        FROM licensee le ORDER BY le.key
    """)).mappings()
    return [dict(r) for r in rows]


def list_works(conn: Connection, limit: int | None = None) -> list[dict]:
    rows = conn.execute(text("""
        SELECT w.key AS work, w.title, w.kind, w.opt_out,
               (SELECT count(*) FROM work_identifier i WHERE i.work_id = w.id) AS identifiers,
               (SELECT count(*) FROM split_version v WHERE v.work_id = w.id) AS split_versions
        FROM work w ORDER BY w.key LIMIT :limit
    """), {"limit": limit}).mappings()
    return [dict(r) for r in rows]


def show_work(conn: Connection, key: str) -> dict:
    work = conn.execute(text("SELECT id, key, title, kind, opt_out FROM work WHERE key = :k"),
                        {"k": key}).mappings().first()
    if work is None:
        raise NotFound(f"no work {key!r}")
    identifiers = dict(conn.execute(text(
        "SELECT kind, value FROM work_identifier WHERE work_id = :id ORDER BY kind"),
        {"id": work["id"]}).all())
    versions: dict = {}
    for effective_from, creator, share in conn.execute(text("""
            SELECT v.effective_from, c.key, s.share FROM split_version v
            JOIN split_share s ON s.split_version_id = v.id JOIN creator c ON c.id = s.creator_id
            WHERE v.work_id = :id ORDER BY v.effective_from, c.key"""), {"id": work["id"]}):
        versions.setdefault(effective_from, []).append({"creator": creator, "share": share})
    return {
        "work": work["key"], "title": work["title"], "kind": work["kind"],
        "opt_out": list(work["opt_out"]), "identifiers": identifiers,
        "splits": [{"effective_from": None if at.year == 1 else at, "shares": shares}
                   for at, shares in versions.items()],
    }


def list_licenses(conn: Connection, licensee: str | None = None) -> list[dict]:
    rows = conn.execute(text("""
        SELECT l.key AS license, le.key AS licensee, l.scope_kind AS scope, l.purposes,
               l.valid_from, l.valid_until, l.currency, l.rate_type, l.rate_unit, l.price,
               l.platform_fee,
               ARRAY(SELECT w.key FROM license_scope_work s JOIN work w ON w.id = s.work_id
                     WHERE s.license_id = l.id ORDER BY w.key) AS works,
               ARRAY(SELECT c.key FROM license_scope_creator s JOIN creator c ON c.id = s.creator_id
                     WHERE s.license_id = l.id ORDER BY c.key) AS creators
        FROM license l JOIN licensee le ON le.id = l.licensee_id
        WHERE CAST(:licensee AS text) IS NULL OR le.key = :licensee
        ORDER BY le.key, l.key
    """), {"licensee": licensee}).mappings()
    return [dict(r) for r in rows]
