"""Real media for the fingerprint tests: photographs shipped by scikit-image, the sample
files of the iscc-samples package, and public-domain or freely licensed texts found on
the machine (the iscc-samples text, the licence texts every Debian system carries)."""

from __future__ import annotations

import io
from pathlib import Path

import iscc_samples
import numpy as np
import skimage.data
from PIL import Image

# Distinct photographs (``cat`` is ``chelsea`` again: one of them only).
PHOTOGRAPHS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "hubble_deep_field",
               "immunohistochemistry", "retina", "moon", "coins", "clock", "horse", "brick",
               "grass", "gravel", "cell", "page", "text", "colorwheel")
SAMPLES = Path(iscc_samples.__file__).parent / "files"
LICENCES = Path("/usr/share/common-licenses")
TEXTS = ("GPL-3", "Apache-2.0", "MPL-2.0", "Artistic", "GFDL-1.3", "CC0-1.0", "LGPL-2.1")


def photograph(name: str) -> Image.Image:
    pixels = getattr(skimage.data, name)()
    if pixels.dtype != np.uint8:
        pixels = (pixels * 255).astype(np.uint8) if pixels.max() <= 1 else pixels.astype(np.uint8)
    return Image.fromarray(pixels)


def jpeg_copy(img: Image.Image, quality: int, scale: float = 1.0) -> Image.Image:
    """A copy as a training set would hold it: resized by ``scale``, re-encoded as JPEG."""
    img = img.convert("RGB")
    if scale != 1.0:
        img = img.resize((int(img.width * scale), int(img.height * scale)))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def texts() -> dict[str, str]:
    found = {"iscc-demo": (SAMPLES / "text" / "demo.txt").read_text(encoding="utf-8")}
    for name in TEXTS:
        path = LICENCES / name
        if path.exists():
            found[name] = path.read_text(encoding="utf-8")
    return found
