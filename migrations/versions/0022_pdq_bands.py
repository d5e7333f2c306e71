"""Wider PDQ bands: 14 bands of 19 or 18 bits instead of 16 of 16 (contract §8).

A registered PDQ hash is found through any band it shares with the item's hash. With
16-bit bands every band key of a catalog of N random hashes holds N / 65,536 of them, all
compared bit by bit: 244 an item at a million hashes, most of the look-up's cost. Bands of
18 and 19 bits hold a quarter to an eighth of that (46 an item at a million, 14 index
ranges instead of 16). Two hashes within 13 bits always share a band (15 before); on the
project's real media every copy within the auto-match threshold of 31 that 16-bit bands
found is still found (``bench/fingerprint_thresholds.py``, "found by the index").

``pdq_keys`` returns the new keys, from 2^23 up (the ISCC keys lie below 2^22 and do not
change); ``work_identifier.bands`` is computed again (a generated column is not recomputed
when its function changes) and ``fingerprint_band`` rebuilt from it. Its bits are now
zero-padded to 256 (an ISCC Content-Code's 64 bits too), so that any two of them XOR and
a look-up compares them with no test of their length first.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BANDS = ("CASE WHEN kind = 'pdq' THEN pdq_keys(value) "
         "WHEN kind = 'iscc' THEN iscc_keys(value) END")

# Band i keyed as 2^23 + i * 2^19 + its value.
_WIDTHS = (19,) * 4 + (18,) * 10


def _keys() -> str:
    parts, offset = [], 1
    for i, width in enumerate(_WIDTHS):
        parts.append(f"{8388608 + i * 524288} + CAST(CAST(substring(b FROM {offset} FOR {width})"
                     f" AS bit({width})) AS integer)")
        offset += width
    assert offset == 257
    return ",\n             ".join(parts)


WIDE_KEYS = f"""
CREATE OR REPLACE FUNCTION pdq_keys(hash text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT ARRAY[{_keys()}]
        FROM (SELECT pdq_bits(hash) AS b OFFSET 0) AS x);
"""

NARROW_KEYS = "\n".join([
    "CREATE OR REPLACE FUNCTION pdq_keys(hash text) RETURNS integer[]",
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE",
    "RETURN ARRAY[" + ",\n             ".join(
        f"{i} * 65536 + CAST(CAST('x' || substr(hash, {4 * i + 1}, 4) AS bit(16)) AS integer)"
        for i in range(16)) + "];",
])


def _padded(column: str, pad: bool) -> str:
    if not pad:
        return column
    return f"{column} || CAST(repeat('0', 256 - length({column})) AS bit varying)"


def _triggers(pad: bool) -> str:
    """fingerprint_band's triggers (migration 0021's), its bits zero-padded to 256 or not."""
    return f"""
CREATE OR REPLACE FUNCTION fingerprint_bands_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, {_padded("n.bits", pad)}, n.work_id, n.via
    FROM added n CROSS JOIN LATERAL unnest(n.bands) AS k(band)
    WHERE n.bands IS NOT NULL;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION fingerprint_bands_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fingerprint_band b
    USING (SELECT k.band, {_padded("o.bits", pad)} AS bits, o.work_id FROM removed o
           CROSS JOIN LATERAL unnest(o.bands) AS k(band) WHERE o.bands IS NOT NULL) AS r
    WHERE b.band = r.band AND b.work_id = r.work_id AND b.bits = r.bits;
    -- another identifier of the same work with the same bits keeps its rows
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, {_padded("i.bits", pad)}, i.work_id, i.via
    FROM work_identifier i CROSS JOIN LATERAL unnest(i.bands) AS k(band)
    WHERE i.bands IS NOT NULL AND (i.work_id, i.bits) IN (SELECT work_id, bits FROM removed);
    RETURN NULL;
END $$;
"""


def _rebuild(keys: str, pad: bool) -> None:
    op.drop_index("work_identifier_bands", table_name="work_identifier")
    op.drop_column("work_identifier", "bands")
    op.execute(keys)
    op.add_column("work_identifier", sa.Column("bands", postgresql.ARRAY(sa.Integer()),
                                               sa.Computed(BANDS, persisted=True)))
    op.create_index("work_identifier_bands", "work_identifier", ["bands"],
                    postgresql_using="gin", postgresql_where=sa.text("bands IS NOT NULL"),
                    postgresql_with={"fastupdate": "off"})
    op.drop_index("fingerprint_band_band", table_name="fingerprint_band")
    op.execute(_triggers(pad))
    op.execute("TRUNCATE fingerprint_band")
    op.execute(f"""
        INSERT INTO fingerprint_band (band, bits, work_id, via)
        SELECT k.band, {_padded("i.bits", pad)}, i.work_id, i.via
        FROM work_identifier i CROSS JOIN LATERAL unnest(i.bands) AS k(band)
        WHERE i.bands IS NOT NULL""")
    op.create_index("fingerprint_band_band", "fingerprint_band", ["band"],
                    postgresql_include=["bits", "work_id", "via"])


def upgrade() -> None:
    _rebuild(WIDE_KEYS, pad=True)


def downgrade() -> None:
    _rebuild(NARROW_KEYS, pad=False)
