"""``royalty fingerprint`` as a creator runs it on a folder: one JSON line per readable
file, the unreadable ones listed with their reason, exit 2, the rest still printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from ledger.fingerprints import codes
from tests.media import photograph, texts

ROYALTY = str(Path(sys.executable).with_name("royalty"))


def _run(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([ROYALTY, "fingerprint", *args], env=os.environ,
                            capture_output=True, text=True, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_a_folder_is_fingerprinted_in_parallel(tmp_path: Path) -> None:
    folder = tmp_path / "portfolio"
    (folder / "nested").mkdir(parents=True)
    photograph("coffee").save(folder / "coffee.png")
    photograph("rocket").save(folder / "nested" / "rocket.jpg", quality=85)
    (folder / "licence.txt").write_text(texts()["GPL-3"] if "GPL-3" in texts()
                                        else texts()["iscc-demo"], encoding="utf-8")
    result = _run(str(folder), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["coffee.png", "licence.txt",
                                                           "rocket.jpg"]
    coffee, licence, rocket = lines
    assert len(coffee["sha256"]) == 64 and codes.normal_pdq(coffee["pdq"]) == coffee["pdq"]
    assert 0 <= coffee["pdq_quality"] <= 100
    assert codes.units_of(coffee["iscc"]).content_type == "image"
    assert "pdq" not in licence and codes.units_of(licence["iscc"]).content_type == "text"
    assert codes.hamming(coffee["pdq"], rocket["pdq"]) > 31


def test_unreadable_files_are_listed_and_the_rest_printed(tmp_path: Path) -> None:
    photograph("camera").save(tmp_path / "camera.png")
    whole = (tmp_path / "camera.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "empty.txt").write_text("")
    result = _run(str(tmp_path), str(tmp_path / "missing.jpg"))
    assert result.returncode == 2
    assert [Path(orjson.loads(line)["file"]).name for line in result.stdout.splitlines()] \
        == ["camera.png"]
    err = " ".join(result.stderr.split())
    assert "truncated.png: broken image" in err
    assert "notes.png: not an image" in err
    assert "empty.txt: empty file" in err
    assert "missing.jpg: no such file or folder" in err


def test_the_table_format(tmp_path: Path) -> None:
    photograph("moon").save(tmp_path / "moon.png")
    result = _run(str(tmp_path / "moon.png"), "--format", "table", "--jobs", "1")
    assert result.returncode == 0 and "moon.png" in result.stdout and "pdq" in result.stdout
