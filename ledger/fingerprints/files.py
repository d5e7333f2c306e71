"""A file's fingerprints (contract §8): ``sha256`` of its bytes, ``pdq`` and its quality
for an image (Meta's reference code, through ``pdqhash``), and ``iscc`` for an image or a
text (``iscc-core``: Content-Code, Data-Code and Instance-Code as one ISCC-CODE).

Audio and video ISCCs need tools that no package registry ships (a Chromaprint binary,
ffmpeg), so those files get a ``sha256`` and an ``iscc`` of their bytes only (Data- and
Instance-Code: exact matching, no similarity).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import iscc_core
import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".text", ".rst"})
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp",
                            ".ppm", ".pgm", ".pbm", ".psd", ".ico"})
# Decompression bombs are refused by Pillow beyond this many pixels.
Image.MAX_IMAGE_PIXELS = 200_000_000


class Unreadable(Exception):
    """A file that has no fingerprint, and why (shown to the user as it is)."""


@dataclass
class Fingerprint:
    path: str
    sha256: str
    kind: str  # image, text or other
    pdq: str | None = None
    pdq_quality: int | None = None
    iscc: str | None = None
    extra: dict = field(default_factory=dict)

    def as_identifiers(self) -> dict[str, object]:
        """The line ``royalty fingerprint`` prints: usable as a manifest line or as a work's
        ``identifiers`` (the path stays beside them as ``file``)."""
        out: dict[str, object] = {"file": self.path, "sha256": self.sha256}
        if self.pdq is not None:
            out["pdq"] = self.pdq
            out["pdq_quality"] = self.pdq_quality
        if self.iscc is not None:
            out["iscc"] = self.iscc
        return out


def fingerprint(path: str | Path) -> Fingerprint:
    """The fingerprints of one file, or ``Unreadable`` with the reason."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise Unreadable("empty file")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _text(str(path), data)
    if suffix in IMAGE_SUFFIXES:
        return _image(str(path), data)
    try:  # an image without a known suffix is still an image
        return _image(str(path), data)
    except Unreadable:
        return Fingerprint(str(path), _sha256(data), "other", iscc=_bytes_iscc(data))


def image_fingerprint(img: Image.Image) -> tuple[str, int, str]:
    """PDQ (hex, quality) and the ISCC Content-Code of a decoded image."""
    rgb = np.asarray(_flatten(img).convert("RGB"))
    bits, quality = pdqhash.compute(rgb)
    pdq = np.packbits(bits.astype(np.uint8)).tobytes().hex()
    content = iscc_core.gen_image_code_v0(_iscc_pixels(img))["iscc"]
    return pdq, int(quality), content


def text_content_code(text: str) -> str:
    return iscc_core.gen_text_code_v0(text)["iscc"]


def _image(path: str, data: bytes) -> Fingerprint:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # a truncated file fails here, not later
            pdq, quality, content = image_fingerprint(img)
    except UnidentifiedImageError:
        raise Unreadable("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Unreadable(f"broken image: {exc}") from None
    return Fingerprint(path, _sha256(data), "image", pdq, quality,
                       _composite(content, data))


def _text(path: str, data: bytes) -> Fingerprint:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise Unreadable("empty text (only white space)")
    return Fingerprint(path, _sha256(data), "text",
                       iscc=_composite(text_content_code(text), data))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _bytes_iscc(data: bytes) -> str:
    return iscc_core.gen_iscc_code_v0([
        iscc_core.gen_data_code_v0(io.BytesIO(data))["iscc"],
        iscc_core.gen_instance_code_v0(io.BytesIO(data))["iscc"]])["iscc"]


def _composite(content: str, data: bytes) -> str:
    return iscc_core.gen_iscc_code_v0([
        content,
        iscc_core.gen_data_code_v0(io.BytesIO(data))["iscc"],
        iscc_core.gen_instance_code_v0(io.BytesIO(data))["iscc"]])["iscc"]


def _flatten(img: Image.Image) -> Image.Image:
    """EXIF orientation applied, transparency on white: what a viewer shows."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img


def _iscc_pixels(img: Image.Image) -> list[int]:
    """The 32x32 grey pixels iscc-sdk normalises an image to (border trimming aside)."""
    grey = _flatten(img).convert("L").resize((32, 32), Image.Resampling.BICUBIC)
    flat = getattr(grey, "get_flattened_data", None)  # Pillow >= 12.1; getdata() before
    return list(flat() if flat else grey.getdata())
