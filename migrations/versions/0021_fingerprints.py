"""Fingerprints and near-duplicate matching (contract §8).

- ``usage_event.pdq``, ``.iscc``: the content fingerprints an item carries (identifier
  columns like the others); ``.match_method`` and ``.match_distance``: how the event's
  work was matched (``exact``, ``pdq``, ``iscc``, ``review``, ``claim``) and at what
  Hamming distance.
- ``work_identifier.via``: how an identifier came to the work (NULL: imported;
  ``review`` or ``claim``: an accepted candidate), which a match through it reports.
- SQL functions that read the bits of a PDQ hash and the units of an ISCC (base32, as
  ``iscc-core`` encodes it), and the band keys of multi-index hashing: a fingerprint's
  16-bit bands, each keyed by its position, so that a GIN index finds every registered
  fingerprint that agrees with a query on at least one band without scanning the catalog.
  ``work_identifier.bits``, ``.bands`` and ``.instance`` hold them for each registered
  fingerprint (generated columns: decoded once, when the identifier is written).
  Two fingerprints within distance b - 1 of each other (b bands) always share a band.
- ``match_claim``: a creator's claim that items are renditions of their work; and
  ``match_candidate``: a proposed (kind, value, work) pair, from review (a fingerprint
  in suspense near a registered one) or a claim, with its decision, who and when. A pair
  is proposed once: decided, it is never proposed again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_UNMATCHED_INCLUDE = ("licensee_id", "time", "quantity", "sha256", "c2pa", "isrc", "iswc", "isbn",
                      "doi", "url")

BITS = ("CASE WHEN kind = 'pdq' THEN CAST(pdq_bits(value) AS bit varying) "
        "WHEN kind = 'iscc' THEN CAST(iscc_content(value) AS bit varying) END")
BANDS = ("CASE WHEN kind = 'pdq' THEN pdq_keys(value) "
         "WHEN kind = 'iscc' THEN iscc_keys(value) END")
INSTANCE = "CASE WHEN kind = 'iscc' THEN iscc_instance(value) END"

BAND_TRIGGERS = """
CREATE FUNCTION fingerprint_bands_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, n.bits, n.work_id, n.via
    FROM added n CROSS JOIN LATERAL unnest(n.bands) AS k(band)
    WHERE n.bands IS NOT NULL;
    RETURN NULL;
END $$;
CREATE FUNCTION fingerprint_bands_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fingerprint_band b
    USING (SELECT k.band, o.bits, o.work_id FROM removed o
           CROSS JOIN LATERAL unnest(o.bands) AS k(band) WHERE o.bands IS NOT NULL) AS r
    WHERE b.band = r.band AND b.work_id = r.work_id AND b.bits = r.bits;
    -- another identifier of the same work with the same bits keeps its rows
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, i.bits, i.work_id, i.via
    FROM work_identifier i CROSS JOIN LATERAL unnest(i.bands) AS k(band)
    WHERE i.bands IS NOT NULL AND (i.work_id, i.bits) IN (SELECT work_id, bits FROM removed);
    RETURN NULL;
END $$;
CREATE TRIGGER work_identifier_bands_added AFTER INSERT ON work_identifier
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION fingerprint_bands_added();
CREATE TRIGGER work_identifier_bands_removed AFTER DELETE ON work_identifier
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION fingerprint_bands_removed();
"""

FUNCTIONS = r"""
CREATE FUNCTION pdq_bits(hash text) RETURNS bit(256)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CAST(CAST('x' || hash AS bit(256)) AS bit(256));

-- 16 bands of 16 bits, band i keyed as i * 65536 + its value (written out: a function
-- the planner can inline, and no per-call set to build).
CREATE FUNCTION pdq_keys(hash text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY[0 * 65536 + CAST(CAST('x' || substr(hash, 1, 4) AS bit(16)) AS integer),
             1 * 65536 + CAST(CAST('x' || substr(hash, 5, 4) AS bit(16)) AS integer),
             2 * 65536 + CAST(CAST('x' || substr(hash, 9, 4) AS bit(16)) AS integer),
             3 * 65536 + CAST(CAST('x' || substr(hash, 13, 4) AS bit(16)) AS integer),
             4 * 65536 + CAST(CAST('x' || substr(hash, 17, 4) AS bit(16)) AS integer),
             5 * 65536 + CAST(CAST('x' || substr(hash, 21, 4) AS bit(16)) AS integer),
             6 * 65536 + CAST(CAST('x' || substr(hash, 25, 4) AS bit(16)) AS integer),
             7 * 65536 + CAST(CAST('x' || substr(hash, 29, 4) AS bit(16)) AS integer),
             8 * 65536 + CAST(CAST('x' || substr(hash, 33, 4) AS bit(16)) AS integer),
             9 * 65536 + CAST(CAST('x' || substr(hash, 37, 4) AS bit(16)) AS integer),
             10 * 65536 + CAST(CAST('x' || substr(hash, 41, 4) AS bit(16)) AS integer),
             11 * 65536 + CAST(CAST('x' || substr(hash, 45, 4) AS bit(16)) AS integer),
             12 * 65536 + CAST(CAST('x' || substr(hash, 49, 4) AS bit(16)) AS integer),
             13 * 65536 + CAST(CAST('x' || substr(hash, 53, 4) AS bit(16)) AS integer),
             14 * 65536 + CAST(CAST('x' || substr(hash, 57, 4) AS bit(16)) AS integer),
             15 * 65536 + CAST(CAST('x' || substr(hash, 61, 4) AS bit(16)) AS integer)];

-- An ISCC's bits: its base32 (RFC 4648, no padding) after 'ISCC:'.
CREATE FUNCTION iscc_bits(code text) RETURNS bit varying
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CAST(string_agg(CAST(CAST(position(c.ch IN 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') - 1
                                         AS bit(5)) AS text), '' ORDER BY c.n) AS bit varying)
        FROM unnest(string_to_array(substr(code, 6), NULL)) WITH ORDINALITY AS c(ch, n));

-- (OFFSET 0: the decoded bits are computed once, not once per reference.)
-- The header's four nibbles (main type, subtype, version, length) and the 64-bit units
-- after it: a unit alone, or an ISCC-CODE whose length says which of Meta-, Semantic- and
-- Content-Code precede its Data- and Instance-Code (a wide ISCC-CODE, subtype 7, has no
-- 64-bit units).
CREATE FUNCTION iscc_content_type(code text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CASE WHEN mt = 2 AND st <= 4 THEN st
                    WHEN mt = 5 AND st <= 4 AND len & 1 = 1 THEN st END
        FROM (SELECT CAST(substring(b FROM 1 FOR 4) AS integer) AS mt,
                     CAST(substring(b FROM 5 FOR 4) AS integer) AS st,
                     CAST(substring(b FROM 13 FOR 4) AS integer) AS len
              FROM (SELECT iscc_bits(code) AS b OFFSET 0) AS x) AS h);

CREATE FUNCTION iscc_content(code text) RETURNS bit(64)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CASE WHEN mt = 2 AND st <= 4 THEN CAST(substring(b FROM 17 FOR 64) AS bit(64))
                    WHEN mt = 5 AND st <= 4 AND len & 1 = 1
                    THEN CAST(substring(b FROM 17 + 64 * ((len >> 2 & 1) + (len >> 1 & 1))
                                        FOR 64) AS bit(64)) END
        FROM (SELECT b, CAST(substring(b FROM 1 FOR 4) AS integer) AS mt,
                     CAST(substring(b FROM 5 FOR 4) AS integer) AS st,
                     CAST(substring(b FROM 13 FOR 4) AS integer) AS len
              FROM (SELECT iscc_bits(code) AS b OFFSET 0) AS x) AS h);

CREATE FUNCTION iscc_instance(code text) RETURNS bit(64)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CASE WHEN mt = 4 THEN CAST(substring(b FROM 17 FOR 64) AS bit(64))
                    WHEN mt = 5 AND st <> 7 THEN CAST(substring(
                        b FROM 17 + 64 * ((len & 1) + (len >> 1 & 1) + (len >> 2 & 1) + 1)
                        FOR 64) AS bit(64)) END
        FROM (SELECT b, CAST(substring(b FROM 1 FOR 4) AS integer) AS mt,
                     CAST(substring(b FROM 5 FOR 4) AS integer) AS st,
                     CAST(substring(b FROM 13 FOR 4) AS integer) AS len
              FROM (SELECT iscc_bits(code) AS b OFFSET 0) AS x) AS h);

-- 4 bands of 16 bits of the Content-Code, keyed apart per media type (and apart from
-- PDQ's keys: from 2^20 up); empty without a Content-Code.
CREATE FUNCTION iscc_keys(code text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT CASE WHEN c IS NULL THEN CAST('{}' AS integer[]) ELSE ARRAY[
            (16 + t * 4) * 65536 + CAST(substring(c FROM 1 FOR 16) AS integer),
            (17 + t * 4) * 65536 + CAST(substring(c FROM 17 FOR 16) AS integer),
            (18 + t * 4) * 65536 + CAST(substring(c FROM 33 FOR 16) AS integer),
            (19 + t * 4) * 65536 + CAST(substring(c FROM 49 FOR 16) AS integer)] END
        FROM (SELECT iscc_content(code) AS c, iscc_content_type(code) AS t OFFSET 0) AS x);
"""


def upgrade() -> None:
    op.add_column("usage_event", sa.Column("pdq", sa.Text(collation="C")))
    op.add_column("usage_event", sa.Column("iscc", sa.Text(collation="C")))
    op.add_column("usage_event", sa.Column("match_method", sa.Text()))
    op.add_column("usage_event", sa.Column("match_distance", sa.Integer()))
    op.add_column("work_identifier", sa.Column("via", sa.Text()))
    # The few events matched otherwise than exactly, for statements and transparency.
    op.create_index("usage_event_similar_work", "usage_event", ["work_id"],
                    postgresql_where=sa.text("match_method <> 'exact'"))
    op.create_index("usage_event_similar_licensee", "usage_event", ["licensee_id", "model"],
                    postgresql_where=sa.text("match_method <> 'exact'"))
    # Every event matched so far was matched exactly; said so, a re-evaluation finds no
    # change in them.
    op.execute("UPDATE usage_event SET match_method = 'exact' WHERE work_id IS NOT NULL")
    op.execute(FUNCTIONS)
    # Suspense is grouped by fingerprint too: the index it reads carries them.
    op.drop_index("usage_event_unmatched", table_name="usage_event")
    op.create_index("usage_event_unmatched", "usage_event", ["id"],
                    postgresql_where=sa.text("outcome = 'unmatched'"),
                    postgresql_include=[*_UNMATCHED_INCLUDE, "pdq", "iscc"])
    op.create_table(
        "match_claim",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("creator_id", sa.Integer(), sa.ForeignKey("creator.id"), nullable=False),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("work.id"), nullable=False),
        sa.Column("identifiers", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.create_table(
        "match_candidate",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.Text(collation="C"), nullable=False),
        sa.Column("value", sa.Text(collation="C"), nullable=False),
        sa.Column("work_id", sa.Integer(), sa.ForeignKey("work.id"), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("distance", sa.Integer()),
        sa.Column("claim_id", sa.BigInteger(), sa.ForeignKey("match_claim.id")),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'open'")),
        sa.Column("decided_by", sa.Text()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.UniqueConstraint("kind", "value", "work_id", name="match_candidate_pair"),
        sa.CheckConstraint("status IN ('open', 'accepted', 'rejected')",
                           name="match_candidate_status"),
        sa.CheckConstraint("method IN ('review', 'claim')", name="match_candidate_method"),
    )
    op.create_index("match_candidate_open", "match_candidate", ["id"],
                    postgresql_where=sa.text("status = 'open'"))
    # A registered fingerprint's bits and band keys, decoded once when it is written.
    op.add_column("work_identifier", sa.Column("bits", postgresql.BIT(varying=True), sa.Computed(
        BITS, persisted=True)))
    op.add_column("work_identifier", sa.Column("bands", postgresql.ARRAY(sa.Integer()),
                                               sa.Computed(BANDS, persisted=True)))
    op.add_column("work_identifier", sa.Column("instance", postgresql.BIT(64), sa.Computed(
        INSTANCE, persisted=True)))
    # fastupdate off: a pending list would be read whole by every look-up until merged
    op.create_index("work_identifier_bands", "work_identifier", ["bands"],
                    postgresql_using="gin", postgresql_where=sa.text("bands IS NOT NULL"),
                    postgresql_with={"fastupdate": "off"})
    op.create_index("work_identifier_instance", "work_identifier", ["instance"],
                    postgresql_where=sa.text("instance IS NOT NULL"))
    # One row per band of each registered fingerprint, its bits beside the key in the index:
    # an event's look-up reads 16 index ranges and compares the bits found there, with no
    # visit to the table (kept by statement triggers on work_identifier).
    op.create_table(
        "fingerprint_band",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("bits", postgresql.BIT(varying=True), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.Text()),
    )
    op.create_index("fingerprint_band_band", "fingerprint_band", ["band"],
                    postgresql_include=["bits", "work_id", "via"])
    op.execute(BAND_TRIGGERS)


def downgrade() -> None:
    op.drop_index("usage_event_unmatched", table_name="usage_event")
    op.create_index("usage_event_unmatched", "usage_event", ["id"],
                    postgresql_where=sa.text("outcome = 'unmatched'"),
                    postgresql_include=list(_UNMATCHED_INCLUDE))
    op.execute("DROP TRIGGER work_identifier_bands_added ON work_identifier")
    op.execute("DROP TRIGGER work_identifier_bands_removed ON work_identifier")
    op.execute("DROP FUNCTION fingerprint_bands_added()")
    op.execute("DROP FUNCTION fingerprint_bands_removed()")
    op.drop_table("fingerprint_band")
    op.drop_index("usage_event_similar_licensee", table_name="usage_event")
    op.drop_index("usage_event_similar_work", table_name="usage_event")
    op.drop_table("match_candidate")
    op.drop_table("match_claim")
    for column in ("instance", "bands", "bits"):  # their indexes go with them
        op.drop_column("work_identifier", column)
    for name in ("iscc_keys", "iscc_instance", "iscc_content", "iscc_content_type", "iscc_bits",
                 "pdq_keys", "pdq_bits"):
        op.execute(f"DROP FUNCTION {name}(text)")
    op.drop_column("work_identifier", "via")
    for column in ("match_distance", "match_method", "iscc", "pdq"):
        op.drop_column("usage_event", column)
