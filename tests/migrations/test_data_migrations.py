"""Migrations that change data, run on databases that already hold some."""

from __future__ import annotations

from collections.abc import Iterator

import iscc_core
import psycopg
import pytest
from alembic import command

from ledger import migrate
from ledger.matching import rules
from tests.conftest import migrated_database


@pytest.fixture
def at_0007(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_mig", "0007")


@pytest.fixture
def at_0008(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_mig", "0008")


def test_repeated_open_dead_letters_are_closed_but_the_first(at_0007: str) -> None:
    with psycopg.connect(at_0007) as conn:
        conn.cursor().executemany(
            "INSERT INTO dead_letter (reason, detail, raw, resolved_at) VALUES (%s, 'd', %s, %s)",
            [("malformed_json", b"{broken", None), ("malformed_json", b"{broken", None),
             ("malformed_json", b"{broken", "2026-01-01+00"), ("too_large", b"x" * 10, None),
             ("malformed_json", b"{broken", None)])
    migrate.upgrade(at_0007)
    with psycopg.connect(at_0007) as conn:
        rows = conn.execute("SELECT id, resolution, digest = sha256(raw) FROM dead_letter "
                            "ORDER BY id").fetchall()
        assert rows == [(1, None, True), (2, "duplicate", True), (3, None, True),
                        (4, None, True), (5, "duplicate", True)]
        assert conn.execute("SELECT received, accepted, duplicates, dead_lettered "
                            "FROM ingest_batch").fetchall() == [(0, 0, 2, 0)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO dead_letter (reason, detail, raw) "
                         "VALUES ('too_large', 'again', %s)", (b"x" * 10,))


def test_the_usage_tally_starts_from_the_stored_events(at_0008: str) -> None:
    with psycopg.connect(at_0008) as conn:
        conn.execute("INSERT INTO licensee (key, name) VALUES ('a', 'A'), ('b', 'B')")
        conn.cursor().executemany("""
            INSERT INTO usage_event (source, event_id, content_hash, time, licensee_id, purpose,
                                     model, dataset, quantity, unit, sha256, outcome)
            VALUES ('s', %s, '\\x00', now(), %s, 'ai-train', %s, %s, 1, 'uses', 'x', %s)""",
            [("e1", 1, "m", "d", "accrued"), ("e2", 1, "m", "d", "accrued"),
             ("e3", 1, "m", None, "unmatched"), ("e4", 2, None, "d", "accrued")])
    migrate.upgrade(at_0008)
    with psycopg.connect(at_0008) as conn:
        rows = conn.execute("SELECT licensee_id, model, outcome, dataset, events FROM usage_tally "
                            "ORDER BY 1, 2, 3").fetchall()
    assert rows == [(1, "m", "accrued", "d", 2), (1, "m", "unmatched", None, 1),
                    (2, None, "accrued", "d", 1)]


@pytest.fixture
def at_0012(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_mig", "0012")


def test_the_usage_work_tally_starts_from_the_stored_events(at_0012: str) -> None:
    with psycopg.connect(at_0012) as conn:
        conn.execute("INSERT INTO licensee (key, name) VALUES ('a', 'A')")
        conn.cursor().executemany("""
            INSERT INTO usage_event (source, event_id, content_hash, time, licensee_id, purpose,
                                     model, quantity, unit, sha256, outcome, work_id,
                                     split_version_id)
            VALUES ('s', %s, '\\x00', now(), 1, 'ai-train', %s, 1, 'uses', 'x', %s, %s, %s)""",
            [("e1", "m", "accrued", 7, 70), ("e2", "m", "unlicensed", 7, 70),
             ("e3", "m", "accrued", 7, 71), ("e4", None, "accrued", 8, 80),
             ("e5", "m", "unmatched", None, None)])
    migrate.upgrade(at_0012)
    with psycopg.connect(at_0012) as conn:
        rows = conn.execute("SELECT licensee_id, model, work_id, split_version_id, events, "
                            "accrued FROM usage_work_tally ORDER BY 3, 4").fetchall()
    assert rows == [(1, "m", 7, 70, 2, 1), (1, "m", 7, 71, 1, 1), (1, None, 8, 80, 1, 1)]


@pytest.fixture
def at_0021(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_mig", "0021")


def _pdq_keys(value: str, bands: tuple[int, ...], base: int, step: int) -> list[int]:
    number, end, keys = int(value, 16), 256, []
    for i, width in enumerate(bands):
        end -= width
        keys.append(base + i * step + (number >> end & ((1 << width) - 1)))
    return keys


ISCC = "ISCC:" + iscc_core.encode_component(iscc_core.MT.CONTENT, iscc_core.ST_CC.IMAGE,
                                            iscc_core.VS.V0, 64, bytes.fromhex("0123456789abcdef"))


def test_registered_hashes_are_banded_again(at_0021: str) -> None:
    pdq = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"
    with psycopg.connect(at_0021) as conn:
        conn.execute("INSERT INTO work (id, key, title) VALUES (1, 'w-1', 'W')")
        conn.execute("INSERT INTO work_identifier (kind, value, work_id) VALUES ('pdq', %s, 1), "
                     "('iscc', %s, 1)", (pdq, ISCC))
    migrate.upgrade(at_0021)
    wide = sorted(_pdq_keys(pdq, rules.PDQ_BANDS, rules.PDQ_KEY_BASE, 2 ** 19))
    narrow = sorted(_pdq_keys(pdq, (16,) * 16, 0, 2 ** 16))
    with psycopg.connect(at_0021) as conn:
        assert conn.execute("SELECT bands FROM work_identifier WHERE kind = 'pdq'"
                            ).fetchone()[0] == wide
        assert [r[0] for r in conn.execute(
            "SELECT band FROM fingerprint_band WHERE band >= %s ORDER BY band",
            (rules.PDQ_KEY_BASE,))] == wide
        # every band row holds 256 bits, the ISCC's 64 zero-padded
        assert conn.execute("SELECT array_agg(DISTINCT length(bits)), count(*) "
                            "FROM fingerprint_band").fetchone() == ([256], 14 + 4)
        assert conn.execute("SELECT bool_and(b.bits = i.bits || CAST(repeat('0', 192) AS "
                            "bit varying)) FROM fingerprint_band b JOIN work_identifier i "
                            "ON i.kind = 'iscc' AND b.band < %s",
                            (rules.PDQ_KEY_BASE,)).fetchone()[0]
    command.downgrade(migrate.alembic_config(at_0021), "0021")
    with psycopg.connect(at_0021) as conn:
        assert conn.execute("SELECT bands FROM work_identifier WHERE kind = 'pdq'"
                            ).fetchone()[0] == narrow
        assert [r[0] for r in conn.execute(
            "SELECT band FROM fingerprint_band WHERE length(bits) = 256 ORDER BY band")] == narrow
        assert conn.execute("SELECT count(*) FROM fingerprint_band WHERE length(bits) = 64"
                            ).fetchone()[0] == 4


@pytest.fixture
def at_0024(server_url: str) -> Iterator[str]:
    yield from migrated_database(server_url, "royalty_mig", "0024")


def _band_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT band, bits, work_id, via FROM fingerprint_band "
                            "ORDER BY band, work_id").fetchall()


def test_band_rows_move_to_one_part_per_band_position(at_0024: str) -> None:
    imported = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"
    reviewed = "0f1e2d3c4b5a69788796a5b4c3d2e1f0ffeeddccbbaa99887766554433221100"
    with psycopg.connect(at_0024) as conn:
        conn.execute("INSERT INTO work (id, key, title) VALUES (1, 'w-1', 'W'), (2, 'w-2', 'V')")
        conn.execute("INSERT INTO work_identifier (kind, value, work_id, via) VALUES "
                     "('pdq', %s, 1, NULL), ('pdq', %s, 2, 'review'), ('iscc', %s, 1, NULL)",
                     (imported, reviewed, ISCC))
    before = _band_rows(at_0024)
    assert len(before) == 14 + 14 + 4
    migrate.upgrade(at_0024)
    after = _band_rows(at_0024)
    # the same rows, an imported identifier's via now '' instead of NULL
    assert after == [(band, bits, work, via or "") for band, bits, work, via in before]
    with psycopg.connect(at_0024) as conn:
        parts = conn.execute("SELECT tableoid::regclass::text, min(band), max(band), count(*) "
                             "FROM fingerprint_band GROUP BY 1 ORDER BY 1").fetchall()
        # the ISCC's 4 bands in a part of their own, each PDQ band position's in its own
        assert parts[0][0] == "fingerprint_band_iscc" and parts[0][2] < rules.PDQ_KEY_BASE
        assert parts[0][3] == 4
        span = rules.PDQ_KEY_SPAN
        for i, (part, low, high, rows) in enumerate(parts[1:]):
            assert part == f"fingerprint_band_pdq_{i:02d}" and rows == 2
            assert rules.PDQ_KEY_BASE + i * span <= low <= high < rules.PDQ_KEY_BASE + (i + 1) * span
        assert len(parts) == 15
        # the triggers keep the parts as they kept the table
        conn.execute("DELETE FROM work_identifier WHERE value = %s", (reviewed,))
        assert conn.execute("SELECT count(*) FROM fingerprint_band WHERE work_id = 2"
                            ).fetchone()[0] == 0
        conn.execute("INSERT INTO work_identifier (kind, value, work_id, via) "
                     "VALUES ('pdq', %s, 2, 'review')", (reviewed,))
    assert _band_rows(at_0024) == after
    command.downgrade(migrate.alembic_config(at_0024), "0024")
    with psycopg.connect(at_0024) as conn:
        assert conn.execute("SELECT relkind FROM pg_class WHERE relname = 'fingerprint_band'"
                            ).fetchone()[0] == "r"
    assert _band_rows(at_0024) == before
