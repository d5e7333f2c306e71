"""Precision and recall of near-duplicate matching on real media, per kind, transform and
threshold: the table the default thresholds of contract §8 are chosen from.

    .venv/bin/python bench/fingerprint_thresholds.py [--markdown]

Originals: the photographs shipped by scikit-image (``skimage.data``; ``cat`` is left out,
it is ``chelsea`` again) and the iscc-samples image; texts: the iscc-samples text and the
licence texts every Debian system carries (/usr/share/common-licenses). Each original is
transformed as training data transforms it; a copy is *found* at a threshold when its
distance to its own original is within it. Negatives: every pair of different originals,
and every copy against every other original; a *false match* is a negative within the
threshold. ``band`` says how many of the copies found are also found by the index the
database uses (one of the fingerprint's bands equal: 14 of 18 or 19 bits for PDQ, 4 of 16
for an ISCC Content-Code), which always finds a copy within 13 (PDQ) or 3 (ISCC) and most
beyond.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import sys
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.fingerprints.codes import hamming  # noqa: E402
from ledger.fingerprints.files import image_fingerprint, text_content_code  # noqa: E402
from ledger.matching.rules import ISCC_BANDS, PDQ_BANDS, shares_band  # noqa: E402

PHOTOGRAPHS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field",
               "immunohistochemistry", "retina", "moon", "coins", "clock", "horse", "brick",
               "grass", "gravel", "cell", "page", "text", "colorwheel")
TEXTS = ("GPL-3", "GPL-2", "Apache-2.0", "MPL-2.0", "MPL-1.1", "Artistic", "GFDL-1.3",
         "CC0-1.0", "LGPL-2.1", "LGPL-3")
THRESHOLDS = {"pdq": (8, 16, 24, 31, 40, 48, 63, 80),
              "iscc-image": (2, 4, 6, 8, 10, 12, 15, 18),
              "iscc-text": (2, 4, 6, 8, 10, 12, 15, 18)}
BANDS = {"pdq": PDQ_BANDS, "iscc-image": ISCC_BANDS, "iscc-text": ISCC_BANDS}


def _load_images() -> dict[str, Image.Image]:
    out = {}
    for name in PHOTOGRAPHS:
        pixels = getattr(skimage.data, name)()
        if pixels.dtype != np.uint8:
            pixels = (pixels * 255).astype(np.uint8) if pixels.max() <= 1 else pixels.astype(
                np.uint8)
        out[name] = Image.fromarray(pixels)
    try:
        import iscc_samples

        sample = Path(iscc_samples.__file__).parent / "files" / "image" / "demo.png"
        out["iscc-sample"] = Image.open(sample).convert("RGB")
    except ImportError:
        pass
    return out


def _load_texts() -> dict[str, str]:
    out = {}
    try:
        import iscc_samples

        out["iscc-sample"] = (Path(iscc_samples.__file__).parent / "files" / "text"
                              / "demo.txt").read_text(encoding="utf-8")
    except ImportError:
        pass
    for name in TEXTS:
        path = Path("/usr/share/common-licenses") / name
        if path.exists():
            out[name] = path.read_text(encoding="utf-8")
    return out


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def _crop(img: Image.Image, fraction: float) -> Image.Image:
    w, h = img.size
    dx, dy = int(w * fraction / 2), int(h * fraction / 2)
    return img.crop((dx, dy, w - dx, h - dy))


IMAGE_TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize 50%": lambda i: i.resize((i.width // 2, i.height // 2)),
    "resize 25%": lambda i: i.resize((i.width // 4, i.height // 4)),
    "jpeg 85": lambda i: _jpeg(i, 85),
    "jpeg 50": lambda i: _jpeg(i, 50),
    "grayscale": lambda i: i.convert("L"),
    "brightness +20%": lambda i: ImageEnhance.Brightness(i.convert("RGB")).enhance(1.2),
    "brightness -20%": lambda i: ImageEnhance.Brightness(i.convert("RGB")).enhance(0.8),
    "mirror": ImageOps.mirror,
    "crop 5%": lambda i: _crop(i, 0.05),
    "crop 10%": lambda i: _crop(i, 0.10),
    "rotate 3°": lambda i: i.convert("RGB").rotate(3, resample=Image.Resampling.BICUBIC),
}


def _edit_words(text: str, fraction: float, seed: int) -> str:
    rng = random.Random(seed)
    words = text.split()
    for index in rng.sample(range(len(words)), max(1, int(len(words) * fraction))):
        words[index] = rng.choice(("the", "a", "licence", "work", "software", ""))
    return " ".join(w for w in words if w)


def _rewrap(text: str) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > 50:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


TEXT_TRANSFORMS: dict[str, Callable[[str], str]] = {
    "rewrap": _rewrap,
    "upper case": str.upper,
    "no punctuation": lambda t: re.sub(r"[^\w\s]", "", t),
    "5% word edits": lambda t: _edit_words(t, 0.05, seed=len(t)),
    "excerpt (middle half)": lambda t: t[len(t) // 4: 3 * len(t) // 4],
}


def _content(code: str) -> str:
    from ledger.fingerprints.codes import units_of

    return units_of(code).content


def measure() -> list[dict]:
    images, texts = _load_images(), _load_texts()
    prints: dict[str, dict[str, str]] = {"pdq": {}, "iscc-image": {}, "iscc-text": {}}
    copies: dict[str, dict[str, dict[str, str]]] = {k: {} for k in prints}
    for name, img in images.items():
        pdq, _, content = image_fingerprint(img)
        prints["pdq"][name], prints["iscc-image"][name] = pdq, _content(content)
        for transform, apply in IMAGE_TRANSFORMS.items():
            pdq, _, content = image_fingerprint(apply(img))
            copies["pdq"].setdefault(transform, {})[name] = pdq
            copies["iscc-image"].setdefault(transform, {})[name] = _content(content)
    for name, text in texts.items():
        prints["iscc-text"][name] = _content(text_content_code(text))
        for transform, apply in TEXT_TRANSFORMS.items():
            copies["iscc-text"].setdefault(transform, {})[name] = _content(
                text_content_code(apply(text)))
    rows = []
    for kind, originals in prints.items():
        negatives = [hamming(originals[a], originals[b]) for a, b in combinations(originals, 2)]
        for transform, found in copies[kind].items():
            distances = {n: hamming(originals[n], h) for n, h in found.items()}
            cross = [hamming(originals[o], h) for n, h in found.items() for o in originals
                     if o != n]
            for threshold in THRESHOLDS[kind]:
                caught = [n for n, d in distances.items() if d <= threshold]
                banded = [n for n in caught
                          if shares_band(originals[n], found[n], BANDS[kind])]
                rows.append({
                    "kind": kind, "transform": transform, "threshold": threshold,
                    "copies": len(distances), "found": len(caught), "band": len(banded),
                    "recall": len(caught) / len(distances),
                    "false_originals": sum(d <= threshold for d in negatives),
                    "false_copies": sum(d <= threshold for d in cross),
                    "negatives": len(negatives) + len(cross),
                    "max_distance": max(distances.values()),
                })
    return rows


def _pairs(row: dict) -> int:
    n = row["copies"]
    return n * (n - 1) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="Markdown tables (README).")
    args = parser.parse_args()
    rows = measure()
    for kind, thresholds in THRESHOLDS.items():
        selected = [r for r in rows if r["kind"] == kind]
        header = [f"{kind}: transform", "max d", *(f"≤{t}" for t in thresholds)]
        lines = [header]
        for transform in dict.fromkeys(r["transform"] for r in selected):
            of = [r for r in selected if r["transform"] == transform]
            lines.append([transform, str(of[0]["max_distance"]),
                          *(f"{r['found']}/{r['copies']}" for r in of)])
        totals, index, false = ["all copies (recall)", ""], ["found by the index", ""], [
            "false matches", ""]
        for t in thresholds:
            at = [r for r in selected if r["threshold"] == t]
            copies, found = sum(r["copies"] for r in at), sum(r["found"] for r in at)
            totals.append(f"{found / copies:.0%}")
            index.append(f"{sum(r['band'] for r in at)}/{found}")
            pairs = _pairs(at[0]) + sum(r["negatives"] - _pairs(r) for r in at)
            false.append(f"{at[0]['false_originals'] + sum(r['false_copies'] for r in at)}"
                         f"/{pairs}")
        lines += [totals, index, false]
        if args.markdown:
            print("| " + " | ".join(lines[0]) + " |")
            print("|" + "---|" * len(lines[0]))
            for line in lines[1:]:
                print("| " + " | ".join(line) + " |")
        else:
            widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
            for line in lines:
                print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        print()


if __name__ == "__main__":
    main()
