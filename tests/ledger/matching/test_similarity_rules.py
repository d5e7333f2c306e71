"""The set-based similarity matching in PostgreSQL (``sql.evaluation``) agrees, event for
event, with its reference model ``rules.match_fingerprints``: which work, how, and at what
distance; on real photographs and their copies, and on hashes built to sit at chosen
distances (ties included)."""

from __future__ import annotations

import io
import random

import orjson
from PIL import ImageEnhance

from ledger.fingerprints import codes
from ledger.fingerprints.files import image_fingerprint
from ledger.ingest import store
from ledger.ingest.events import BATCH
from ledger.matching import rules, thresholds
from tests.builders import creator, flipped, jsonl, license, licensee, work
from tests.ingest_helpers import usage
from tests.media import PHOTOGRAPHS, photograph

NAMES = PHOTOGRAPHS[:8]


def _iscc_with_content(template: str, content: str) -> str:
    """An ISCC Content-Code unit of ``template``'s media type with another body."""
    import iscc_core

    code = iscc_core.Code(template)
    return "ISCC:" + iscc_core.encode_component(code.maintype, code.subtype, code.version,
                                                64, bytes.fromhex(content))


def _jpeg_copy(name: str, quality: int) -> tuple[str, int, str]:
    img = photograph(name).convert("RGB")
    img = ImageEnhance.Brightness(img.resize((img.width // 2, img.height // 2))).enhance(1.1)
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    from PIL import Image

    return image_fingerprint(Image.open(buffer))


def test_the_sql_agrees_with_the_reference(cli, ledger) -> None:
    rng = random.Random(21)
    originals = {name: image_fingerprint(photograph(name)) for name in NAMES}
    registered: list[tuple[str, str, str]] = []
    works = []
    for name, (pdq, _, content) in originals.items():
        registered += [("pdq", pdq, f"w-{name}"), ("iscc", content, f"w-{name}")]
        works.append({**work(f"w-{name}"), "identifiers": {"pdq": pdq, "iscc": content}})
    # near twins of the first photograph: several works at equal distances from an item
    base = originals[NAMES[0]][0]
    for key, bits in (("w-twin-b", [0, 1, 2]), ("w-twin-a", [3, 4, 5]), ("w-twin-c", [9])):
        registered.append(("pdq", flipped(base, bits), key))
        works.append({**work(key), "identifiers": {"pdq": flipped(base, bits)}})
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl(works)).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l-1")])).code == 0

    items = []
    for name in NAMES:
        pdq, quality, content = _jpeg_copy(name, 60)
        items.append({"pdq": pdq, "pdq_quality": quality})
        items.append({"iscc": content})
        items.append({"pdq": pdq, "iscc": content})
    # equidistant from w-twin-a and w-twin-b (3 bits each): the lower work key
    items.append({"pdq": flipped(base, [0, 1, 2, 3, 4, 5])})
    for _ in range(120):
        name = rng.choice(NAMES)
        pdq, _, content = originals[name]
        item: dict = {}
        if rng.random() < 0.8:
            item["pdq"] = flipped(pdq if rng.random() < 0.7 else base,
                                rng.sample(range(256), rng.choice([0, 1, 3, 6, 12, 20, 30,
                                                                   31, 32, 45])))
            if rng.random() < 0.15:
                item["pdq_quality"] = rng.choice([10, 49, 50, 90])
        if not item or rng.random() < 0.4:
            body = codes.units_of(content).content
            item["iscc"] = _iscc_with_content(content, flipped(body, rng.sample(
                range(64), rng.choice([0, 1, 2, 4, 8, 9, 12]))))
        items.append(item)
    events = [usage(f"e{i:03d}", item=item) for i, item in enumerate(items)]
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps(events), BATCH, "usage.acme-ai")],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
        stored = {r[0]: r[1:] for r in conn.execute(
            "SELECT e.event_id, w.key, e.match_method, e.match_distance FROM usage_event e "
            "LEFT JOIN work w ON w.id = e.work_id")}
    limits = thresholds.params()
    matched = 0
    for event, item in zip(events, items, strict=True):
        expected = rules.match_fingerprints(item, registered, match_pdq=limits["match_pdq"],
                                            match_iscc=limits["match_iscc"])
        want = (None, None, None) if expected is None else (
            expected.work, expected.method, expected.distance)
        assert stored[event["id"]] == want, (event["id"], item)
        matched += expected is not None
    # the sample covers both sides of the thresholds, and ties
    assert 40 < matched < len(items) - 20
    assert any(stored[e["id"]][0] == "w-twin-a" for e in events)


def test_the_band_index_finds_what_the_reference_says(ledger) -> None:
    """A registered hash is a candidate exactly when the reference's bands say so: pairs
    13 bits apart always share a band; pairs further apart, with every band touched or
    one left whole, as the flips fall."""
    rng = random.Random(22)
    pairs = []
    for distance in [0, 1, 13] * 20 + [14, 20, 31, 40, 60] * 60:
        a = format(rng.getrandbits(256), "064x")
        pairs.append((a, flipped(a, rng.sample(range(256), distance))))
    # one flip in each band (14 apart): no band left whole
    a = format(rng.getrandbits(256), "064x")
    starts = [sum(rules.PDQ_BANDS[:i]) for i in range(len(rules.PDQ_BANDS))]
    pairs.append((a, flipped(a, [255 - s for s in starts])))
    with ledger.connect() as conn:
        found = conn.execute(
            "SELECT pdq_keys(a) && pdq_keys(b) FROM unnest(%s::text[], %s::text[]) AS p(a, b)",
            ([a for a, _ in pairs], [b for _, b in pairs])).fetchall()
    expected = [rules.shares_band(a, b, rules.PDQ_BANDS) for a, b in pairs]
    assert [f for (f,) in found] == expected
    assert all(expected[:60]) and not expected[-1]
    assert 0 < expected[60:-1].count(False) < len(expected) - 61
