"""The whole flow a creator and a licensee would run, through the real broker: a creator
fingerprints her photographs and registers them; a licensee's pipeline holds resized,
re-encoded copies, fingerprints those and emits the lines as a dataset manifest; the
copies are paid to her work, by the nearest fingerprint, at the distance the events
record."""

from __future__ import annotations

import json

import orjson

from ledger.fingerprints import codes
from ledger.ingest import topology
from tests.builders import creator, jsonl, licensee, license, work
from tests.ingest_helpers import running_consumer, scalar, wait_for
from tests.media import photograph


def test_fingerprint_register_emit_and_get_paid(cli, ledger, tmp_path) -> None:
    originals, copies = tmp_path / "originals", tmp_path / "dataset"
    originals.mkdir()
    copies.mkdir()
    for name in ("coffee", "rocket", "astronaut"):
        photograph(name).save(originals / f"{name}.png")
        img = photograph(name).convert("RGB")
        img.resize((img.width // 2, img.height // 2)).save(copies / f"{name}.jpg", quality=80)
    result = cli("fingerprint", str(originals), "--jobs", "1")
    assert result.code == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    works = [{**work(f"w-{line['file'].split('/')[-1][:-4]}"),
              "identifiers": {k: line[k] for k in ("sha256", "pdq", "iscc")}}
             for line in lines if not line["file"].endswith("astronaut.png")]
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl(works)).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("l-1")])).code == 0

    manifest = tmp_path / "manifest.jsonl"
    made = cli("fingerprint", str(copies), "--jobs", "1", "--output", str(manifest))
    assert made.code == 0, made.stderr
    with topology.connection(ledger.broker_url) as conn:
        ledger.topology.purge(conn)
    with running_consumer(ledger):
        emitted = cli("emit", str(manifest), "--licensee", "acme-ai", "--purpose", "ai-train",
                      "--model", "acme-vision-1", "--dataset", "web-photos")
        assert emitted.code == 0, emitted.stderr
        wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event") == 3)
    with ledger.connect() as conn:
        rows = {r[0].split("/")[-1]: r[1:] for r in conn.execute(
            "SELECT e.extensions #>> '{item,file}', e.outcome, w.key, e.match_method, "
            "e.match_distance FROM usage_event e LEFT JOIN work w ON w.id = e.work_id")}
    by_file = {line["file"].split("/")[-1]: line for line in lines}
    copy_lines = {json.loads(x)["file"].split("/")[-1]: json.loads(x)
                  for x in manifest.read_text().splitlines()}
    for name in ("coffee", "rocket"):
        original, copy = by_file[f"{name}.png"], copy_lines[f"{name}.jpg"]
        pdq = codes.hamming(original["pdq"], copy["pdq"])
        iscc = codes.hamming(codes.units_of(original["iscc"]).content,
                             codes.units_of(copy["iscc"]).content)
        # the nearest fingerprint decides (contract §8), pdq first at equal distance
        nearest = ("pdq", pdq) if pdq <= iscc else ("iscc", iscc)
        assert pdq <= 31 and rows[f"{name}.jpg"] == ("accrued", f"w-{name}", *nearest)
    # nobody registered the astronaut: its copy waits in suspense
    assert rows["astronaut.jpg"] == ("unmatched", None, None, None)
