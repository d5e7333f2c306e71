"""``ledger.fingerprints`` on real media: the same photograph re-encoded or resized stays
near, different photographs stay far; texts likewise; broken files say why."""

from __future__ import annotations

import io
from itertools import combinations
from pathlib import Path

import iscc_core
import pytest
from PIL import Image

from ledger.fingerprints import codes
from ledger.fingerprints.files import Unreadable, fingerprint
from tests.media import PHOTOGRAPHS, SAMPLES, photograph, texts

# Meta's guidance for PDQ: a distance of 31 or less is the same picture.
SAME_PICTURE = 31


def _save(img: Image.Image, path: Path, **options) -> Path:
    img.save(path, **options)
    return path


def _content(iscc: str) -> str:
    return codes.units_of(iscc).content


def test_a_photograph_resized_and_recompressed_keeps_its_pdq(tmp_path: Path) -> None:
    img = photograph("astronaut")
    original = fingerprint(_save(img, tmp_path / "a.png"))
    small = img.convert("RGB").resize((img.width // 2, img.height // 2))
    copy = fingerprint(_save(small, tmp_path / "a-half.jpg", quality=50))
    assert original.kind == copy.kind == "image"
    assert original.sha256 != copy.sha256
    assert original.pdq_quality >= codes.PDQ_MIN_QUALITY
    assert codes.hamming(original.pdq, copy.pdq) <= SAME_PICTURE
    assert codes.hamming(_content(original.iscc), _content(copy.iscc)) <= 8


def test_different_photographs_are_far_apart(tmp_path: Path) -> None:
    prints = {name: fingerprint(_save(photograph(name).convert("RGB"), tmp_path / f"{name}.png"))
              for name in PHOTOGRAPHS}
    for a, b in combinations(PHOTOGRAPHS, 2):
        assert codes.hamming(prints[a].pdq, prints[b].pdq) > SAME_PICTURE, (a, b)


def test_the_iscc_sample_images_are_one_picture_in_six_formats() -> None:
    prints = [fingerprint(p) for p in sorted((SAMPLES / "image").iterdir())]
    assert {p.kind for p in prints} == {"image"}
    assert len({p.sha256 for p in prints}) == len(prints)
    for a, b in combinations(prints, 2):
        assert codes.hamming(a.pdq, b.pdq) <= 8, (a.path, b.path)
        assert codes.units_of(a.iscc).content_type == "image"


def test_a_rewrapped_text_keeps_its_content_code(tmp_path: Path) -> None:
    for name, text in texts().items():
        original = tmp_path / f"{name}.txt"
        original.write_text(text, encoding="utf-8")
        rewrapped = tmp_path / f"{name}-wide.txt"
        rewrapped.write_text(" ".join(text.split()), encoding="utf-8")
        a, b = fingerprint(original), fingerprint(rewrapped)
        assert a.kind == "text" and a.pdq is None
        assert codes.units_of(a.iscc).content_type == "text"
        assert a.sha256 != b.sha256
        assert codes.units_of(a.iscc).instance != codes.units_of(b.iscc).instance
        assert _content(a.iscc) == _content(b.iscc), name


def test_the_iscc_is_the_reference_implementations(tmp_path: Path) -> None:
    text = texts()["iscc-demo"]
    path = tmp_path / "demo.txt"
    path.write_text(text, encoding="utf-8")
    expected = iscc_core.gen_iscc_code_v0([
        iscc_core.gen_text_code_v0(text)["iscc"],
        iscc_core.gen_data_code_v0(io.BytesIO(path.read_bytes()))["iscc"],
        iscc_core.gen_instance_code_v0(io.BytesIO(path.read_bytes()))["iscc"]])["iscc"]
    assert fingerprint(path).iscc == expected


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b" \n\t\n", "empty text"),
    ("latin1.txt", "caf\u00e9".encode("latin-1"), "not UTF-8"),
    ("not-an-image.png", b"hello, world", "not an image"),
])
def test_files_without_a_fingerprint_say_why(tmp_path: Path, name: str, content: bytes,
                                              reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(Unreadable, match=reason):
        fingerprint(path)


def test_a_truncated_photograph_is_broken(tmp_path: Path) -> None:
    whole = _save(photograph("coffee"), tmp_path / "coffee.jpg", quality=90).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    with pytest.raises(Unreadable, match="broken image"):
        fingerprint(tmp_path / "cut.jpg")
