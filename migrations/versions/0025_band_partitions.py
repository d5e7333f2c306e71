"""The band index in one part per PDQ band position, and no NULL in its rows (contract §8).

A batch's similarity look-up reads ``fingerprint_band``'s index once per band key of each
of its fingerprints: 14 walks from the root an item. At a million PDQ hashes the index
holds 14 million rows and is four levels deep; split by band position, each part holds a
million and is three levels deep, and a batch probes each part with its fingerprints'
keys of that position only, sorted (14 small sorts, not one of 14 times the rows).

``via`` was NULL in almost every row, and a row with a NULL carries a null bitmap that
widens every index entry by 8 bytes: it is now ``''`` for "imported" (NOT NULL), and with
the work before the bits the entries are 60 bytes instead of 68.

The parts are range partitions of the band key (``rules.PDQ_KEY_BASE`` + i * 2^19 for
position i; the ISCC keys lie below 2^23, in one part). Statements that name a position's
key range are planned against that part alone.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

PDQ_KEY_BASE = 2 ** 23
PDQ_POSITIONS = 14
POSITION_SPAN = 2 ** 19
# the fixed-width columns first: an entry without alignment padding
_INCLUDE = "INCLUDE (work_id, bits, via)"


def _triggers(via: str) -> str:
    """fingerprint_band's triggers (migration 0022's), ``via`` written as ``via``."""
    return f"""
CREATE OR REPLACE FUNCTION fingerprint_bands_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, n.bits || CAST(repeat('0', 256 - length(n.bits)) AS bit varying),
           n.work_id, {via.format(column="n.via")}
    FROM added n CROSS JOIN LATERAL unnest(n.bands) AS k(band)
    WHERE n.bands IS NOT NULL;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION fingerprint_bands_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fingerprint_band b
    USING (SELECT k.band, o.bits || CAST(repeat('0', 256 - length(o.bits)) AS bit varying)
                  AS bits, o.work_id FROM removed o
           CROSS JOIN LATERAL unnest(o.bands) AS k(band) WHERE o.bands IS NOT NULL) AS r
    WHERE b.band = r.band AND b.work_id = r.work_id AND b.bits = r.bits;
    -- another identifier of the same work with the same bits keeps its rows
    INSERT INTO fingerprint_band (band, bits, work_id, via)
    SELECT k.band, i.bits || CAST(repeat('0', 256 - length(i.bits)) AS bit varying),
           i.work_id, {via.format(column="i.via")}
    FROM work_identifier i CROSS JOIN LATERAL unnest(i.bands) AS k(band)
    WHERE i.bands IS NOT NULL AND (i.work_id, i.bits) IN (SELECT work_id, bits FROM removed);
    RETURN NULL;
END $$;
"""


def _rebuild(definition: str, parts: list[str], via: str, include: str, triggers: str) -> None:
    """fingerprint_band made again by ``definition`` (and its ``parts``), its rows copied
    with ``via`` as ``via``, then its index and triggers."""
    op.execute("ALTER TABLE fingerprint_band RENAME TO fingerprint_band_before")
    op.execute("ALTER INDEX fingerprint_band_band RENAME TO fingerprint_band_before_band")
    op.execute(f"CREATE TABLE fingerprint_band {definition}")
    for part in parts:
        op.execute(part)
    op.execute(f"""
        INSERT INTO fingerprint_band (band, bits, work_id, via)
        SELECT band, bits, work_id, {via} FROM fingerprint_band_before""")
    op.execute("DROP TABLE fingerprint_band_before")  # its parts with it
    # after the load: an index built from sorted rows, its pages full
    op.execute(f"CREATE INDEX fingerprint_band_band ON fingerprint_band (band) {include}")
    op.execute(triggers)


_COLUMNS = "band integer NOT NULL, bits bit varying NOT NULL, work_id integer NOT NULL"


def _part(name: str, low: str, high: str) -> str:
    return (f"CREATE TABLE fingerprint_band_{name} PARTITION OF fingerprint_band "
            f"FOR VALUES FROM ({low}) TO ({high})")


def upgrade() -> None:
    lows = [PDQ_KEY_BASE + i * POSITION_SPAN for i in range(PDQ_POSITIONS)]
    _rebuild(f"({_COLUMNS}, via text NOT NULL DEFAULT '') PARTITION BY RANGE (band)",
             [_part("iscc", "MINVALUE", str(PDQ_KEY_BASE))]
             + [_part(f"pdq_{i:02d}", str(low), str(low + POSITION_SPAN))
                for i, low in enumerate(lows)],
             "coalesce(via, '')", _INCLUDE, _triggers("coalesce({column}, '')"))


def downgrade() -> None:
    _rebuild(f"({_COLUMNS}, via text)", [], "nullif(via, '')", "INCLUDE (bits, work_id, via)",
             _triggers("{column}"))
