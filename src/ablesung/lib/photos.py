"""Citizen meter photos: checked, decoded under limits, re-encoded as a clean JPEG.

Pure helper (no Django import). ``sanitise_photo`` takes the uploaded bytes or a
binary file and returns a new JPEG that holds nothing but pixels: upright (the
EXIF orientation is applied), long side at most 2048 px, no EXIF/GPS, XMP, ICC,
comments or thumbnails. Anything it does not accept ends in ``PhotoRejected``
with a German message for the citizen; no other exception leaves for any input
bytes.

Order of the checks, cheapest first and nothing decoded before the last one:

1. size of the bytes (read at most ``max_bytes + 1`` from a file);
2. format from the magic bytes only (JPEG, PNG, WebP, HEIC/HEIF); the file
   name and the client's content type are never looked at;
3. structure: the container is walked to the end of the image (JPEG markers,
   PNG chunks, the RIFF size of WebP, the ISO-BMFF boxes of HEIF), see
   "Polyglots" below;
4. Pillow opens the header with only the plugin of the detected format and
   must report that same format; the pixel count is checked before anything
   is decoded;
5. the first frame is decoded, normalised to RGB (transparency on white),
   scaled, turned upright and copied into a fresh image without metadata,
   which is encoded as JPEG.

Polyglots. A polyglot is a file that another program accepts as its own
format. Readers of ZIP (and so DOCX, JAR, APK …) look for their records from
the end of the file, PDF readers search the first KB for ``%PDF-``, RAR
tools search for their marker, and sniffing browsers or script interpreters
look for markup. So two rules:

* Nothing may follow the end of the image. JPEG alone may carry further
  complete JPEG images (the multi-picture format of phone cameras: gain
  maps, depth maps) and a trailer of at most ``JPEG_TRAILER_TOLERANCE`` bytes
  (vendor trailers such as Samsung's); the other formats get no tolerance.
* The bytes that are not pixel data - JPEG APPn/COM segments, PNG chunks
  other than IDAT/fdAT, WebP chunks other than the bitstream chunks, any
  tolerated trailer - and the first and last KB of the file must not contain
  one of ``FOREIGN_SIGNATURES`` or ``MARKUP_SIGNATURES``.

Not detected: payload hidden inside the compressed pixel data, or inside HEIF
metadata items beyond the first and last KB. Such bytes never reach the
output, which is re-encoded from pixels; the original is not kept.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Final

import pillow_heif
from PIL import ExifTags, Image

pillow_heif.register_heif_opener(thumbnails=False)

MAX_BYTES: Final = 10 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000
LONG_SIDE: Final = 2048
QUALITY: Final = 85

JPEG_TRAILER_TOLERANCE: Final = 4096
EDGE_SCAN_BYTES: Final = 1024

FOREIGN_SIGNATURES: Final = (
    b"PK\x03\x04",  # ZIP local file header
    b"PK\x01\x02",  # ZIP central directory entry
    b"PK\x05\x06",  # ZIP end of central directory
    b"%PDF-",
    b"Rar!\x1a\x07",
)
# Compared against the lower-cased bytes.
MARKUP_SIGNATURES: Final = (
    b"<html",
    b"<!doctype",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<svg",
    b"<?php",
)

HEIC_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
)
HEIF_STRUCTURAL_BRANDS: Final = frozenset({b"mif1", b"msf1"})

MSG_EMPTY: Final = "Die Datei ist leer."
MSG_FORMAT: Final = "Bitte laden Sie ein Foto im Format JPEG, PNG, HEIC oder WebP hoch."
MSG_UNREADABLE: Final = "Die Datei konnte nicht als Foto gelesen werden."
MSG_EXTRA_DATA: Final = (
    "Die Datei enthält außer dem Foto noch andere Daten. Bitte laden Sie ein einfaches Foto hoch."
)

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC: Final = b"\xff\xd8\xff"


class PhotoRejected(ValueError):
    """The upload is not accepted; ``message`` is German and meant for the citizen.

    ``code`` names the reason for callers and logs: ``empty``, ``too_large``,
    ``format``, ``too_many_pixels``, ``extra_data``, ``unreadable``.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[type[PhotoRejected], tuple[str, str]]:
        return type(self), (self.message, self.code)


@dataclass(frozen=True, slots=True)
class SanitisedPhoto:
    """The re-encoded JPEG and its size in pixels (upright)."""

    data: bytes
    width: int
    height: int


def sanitise_photo(
    data: bytes | bytearray | memoryview | IO[bytes],
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    long_side: int = LONG_SIDE,
    quality: int = QUALITY,
) -> bytes:
    """Returns the upload as a clean JPEG or raises ``PhotoRejected``."""
    return process_photo(
        data, max_bytes=max_bytes, max_pixels=max_pixels, long_side=long_side, quality=quality
    ).data


def process_photo(
    data: bytes | bytearray | memoryview | IO[bytes],
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    long_side: int = LONG_SIDE,
    quality: int = QUALITY,
) -> SanitisedPhoto:
    """Like ``sanitise_photo``, with the width and height of the result."""
    raw = _read_limited(data, max_bytes)
    if not raw:
        raise PhotoRejected(MSG_EMPTY, "empty")
    pillow_format = _detect_format(raw)
    _check_structure(raw, pillow_format)
    return _reencode(
        raw, pillow_format, max_pixels=max_pixels, long_side=long_side, quality=quality
    )


# --- input -----------------------------------------------------------------


def _german_number(value: float) -> str:
    """10 -> "10", 1.5 -> "1,5" (as a German reader expects)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def _too_large(max_bytes: int) -> PhotoRejected:
    shown = _german_number(max_bytes / (1024 * 1024))
    return PhotoRejected(f"Die Datei ist zu groß (höchstens {shown} MB).", "too_large")


def _too_many_pixels(max_pixels: int) -> PhotoRejected:
    shown = _german_number(max_pixels / 1_000_000)
    return PhotoRejected(
        f"Das Foto hat zu viele Bildpunkte (höchstens {shown} Megapixel).", "too_many_pixels"
    )


def _read_limited(data: bytes | bytearray | memoryview | IO[bytes], max_bytes: int) -> bytes:
    """The bytes of the upload; never reads or copies more than ``max_bytes + 1``."""
    if isinstance(data, memoryview):
        if data.nbytes > max_bytes:
            raise _too_large(max_bytes)
        return data.tobytes()
    if isinstance(data, bytes | bytearray):
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        return bytes(data)
    chunk = data.read(max_bytes + 1)
    if not isinstance(chunk, bytes | bytearray):
        raise TypeError("sanitise_photo needs bytes or a file opened in binary mode")
    if len(chunk) > max_bytes:
        raise _too_large(max_bytes)
    return bytes(chunk)


def _detect_format(raw: bytes) -> str:
    """The Pillow format name from the magic bytes, or ``PhotoRejected``."""
    if raw.startswith(_JPEG_MAGIC):
        return "JPEG"
    if raw.startswith(_PNG_MAGIC):
        return "PNG"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    if raw[4:8] == b"ftyp" and _is_heic_ftyp(raw):
        return "HEIF"
    raise PhotoRejected(MSG_FORMAT, "format")


def _is_heic_ftyp(raw: bytes) -> bool:
    """An ISO-BMFF file whose brands say HEVC-coded HEIF (not AVIF or video)."""
    size = int.from_bytes(raw[:4], "big")
    if size < 16 or size > len(raw) or size > 4096:
        return False
    major = raw[8:12]
    compatible = {raw[offset : offset + 4] for offset in range(16, size - 3, 4)}
    if major in HEIC_BRANDS:
        return True
    return major in HEIF_STRUCTURAL_BRANDS and bool(compatible & HEIC_BRANDS)


# --- structure and polyglots ----------------------------------------------


def _has_foreign_signature(chunk: bytes) -> bool:
    if any(signature in chunk for signature in FOREIGN_SIGNATURES):
        return True
    lowered = chunk.lower()
    return any(signature in lowered for signature in MARKUP_SIGNATURES)


def _check_structure(raw: bytes, pillow_format: str) -> None:
    walkers: dict[str, Callable[[bytes], tuple[int, list[bytes]]]] = {
        "JPEG": _walk_jpeg_file,
        "PNG": _walk_png,
        "WEBP": _walk_webp,
        "HEIF": _walk_heif,
    }
    end, side_data = walkers[pillow_format](raw)
    trailer = raw[end:]
    tolerance = JPEG_TRAILER_TOLERANCE if pillow_format == "JPEG" else 0
    if len(trailer) > tolerance:
        raise PhotoRejected(MSG_EXTRA_DATA, "extra_data")
    edges = [raw[:EDGE_SCAN_BYTES], raw[-EDGE_SCAN_BYTES:], trailer]
    if any(_has_foreign_signature(chunk) for chunk in edges + side_data):
        raise PhotoRejected(MSG_EXTRA_DATA, "extra_data")


def _unreadable() -> PhotoRejected:
    return PhotoRejected(MSG_UNREADABLE, "unreadable")


def _walk_jpeg_file(raw: bytes) -> tuple[int, list[bytes]]:
    """The primary JPEG and any complete JPEG images right after it (MPF)."""
    end, side_data = _walk_jpeg(raw, 0)
    while raw.startswith(_JPEG_MAGIC, end):
        end, more = _walk_jpeg(raw, end)
        side_data.extend(more)
    return end, side_data


def _walk_jpeg(raw: bytes, start: int) -> tuple[int, list[bytes]]:
    """End offset (after EOI) of the JPEG at ``start``, and its APPn/COM payloads.

    Markers without a length: SOI, EOI, RSTn, TEM. In entropy-coded data 0xFF
    is followed by 0x00 (stuffing), RSTn or 0xFF (fill); anything else is the
    next marker. Stray bytes between segments are skipped, as libjpeg does.
    """
    side_data: list[bytes] = []
    pos = start + 2  # after SOI
    length = len(raw)
    while True:
        pos = raw.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= length:
            raise _unreadable()
        marker = raw[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0x00 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if marker == 0xD9:
            return pos + 2, side_data
        if marker == 0xD8:
            raise _unreadable()
        if pos + 4 > length:
            raise _unreadable()
        segment_length = int.from_bytes(raw[pos + 2 : pos + 4], "big")
        segment_end = pos + 2 + segment_length
        if segment_length < 2 or segment_end > length:
            raise _unreadable()
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            side_data.append(raw[pos + 4 : segment_end])
        pos = segment_end


def _walk_png(raw: bytes) -> tuple[int, list[bytes]]:
    """End offset after IEND, and the data of every chunk except pixel data."""
    side_data: list[bytes] = []
    pos = len(_PNG_MAGIC)
    length = len(raw)
    while pos + 12 <= length:
        chunk_length, chunk_type = struct.unpack(">I4s", raw[pos : pos + 8])
        chunk_end = pos + 12 + chunk_length
        if chunk_length > 0x7FFFFFFF or chunk_end > length:
            break
        if chunk_type == b"IEND":
            return chunk_end, side_data
        if chunk_type not in (b"IDAT", b"fdAT"):
            side_data.append(raw[pos + 8 : pos + 8 + chunk_length])
        pos = chunk_end
    raise _unreadable()


def _walk_webp(raw: bytes) -> tuple[int, list[bytes]]:
    """End offset from the RIFF size, and the data of the non-bitstream chunks."""
    riff_size = int.from_bytes(raw[4:8], "little")
    end = 8 + riff_size + (riff_size & 1)
    if riff_size < 4 or end > len(raw):
        raise _unreadable()
    side_data: list[bytes] = []
    pos = 12
    while pos + 8 <= end:
        fourcc = raw[pos : pos + 4]
        chunk_size = int.from_bytes(raw[pos + 4 : pos + 8], "little")
        chunk_end = pos + 8 + chunk_size + (chunk_size & 1)
        if chunk_end > end:
            raise _unreadable()
        if fourcc not in (b"VP8 ", b"VP8L", b"ALPH", b"ANMF"):
            side_data.append(raw[pos + 8 : pos + 8 + chunk_size])
        pos = chunk_end
    return end, side_data


def _walk_heif(raw: bytes) -> tuple[int, list[bytes]]:
    """End offset of the last top-level ISO-BMFF box (metadata is not walked)."""
    pos = 0
    length = len(raw)
    while pos + 8 <= length:
        box_size = int.from_bytes(raw[pos : pos + 4], "big")
        box_type = raw[pos + 4 : pos + 8]
        if not all(0x20 <= byte <= 0x7E for byte in box_type):
            break
        header = 8
        if box_size == 0:
            return length, []
        if box_size == 1:
            if pos + 16 > length:
                raise _unreadable()
            box_size = int.from_bytes(raw[pos + 8 : pos + 16], "big")
            header = 16
        if box_size < header:
            break
        if pos + box_size > length:
            raise _unreadable()
        pos += box_size
    if pos == 0:
        raise _unreadable()
    return pos, []


# --- decoding and encoding ---------------------------------------------------

# EXIF orientation -> the transposition that makes the image upright.
_ORIENTATION: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_ACCEPTED_PILLOW_FORMATS: Final = {
    "JPEG": frozenset({"JPEG", "MPO"}),  # MPO: JPEG with multi-picture data
    "PNG": frozenset({"PNG"}),
    "WEBP": frozenset({"WEBP"}),
    "HEIF": frozenset({"HEIF"}),
}


def _reencode(
    raw: bytes, pillow_format: str, *, max_pixels: int, long_side: int, quality: int
) -> SanitisedPhoto:
    # Pillow and its plugins raise many types (OSError, ValueError, SyntaxError,
    # struct.error, EOFError, DecompressionBombError, warnings turned into errors
    # by a filter, MemoryError …) for malformed input. Everything but our own
    # rejection becomes "unreadable".
    try:
        with Image.open(io.BytesIO(raw), formats=[pillow_format]) as image:
            if image.format not in _ACCEPTED_PILLOW_FORMATS[pillow_format]:
                raise _unreadable()
            width, height = image.size
            if width <= 0 or height <= 0:
                raise _unreadable()
            if width * height > max_pixels:
                raise _too_many_pixels(max_pixels)
            target = _target_size(width, height, long_side)
            image.draft("RGB", target)  # JPEG only: decode at a reduced DCT scale
            image.load()  # the first frame only; later frames are never decoded
            orientation = _orientation(image)
            pixels = _to_rgb(image)
        if pixels.size != target:
            pixels = pixels.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        transposition = _ORIENTATION.get(orientation)
        if transposition is not None:
            pixels = pixels.transpose(transposition)
        # A fresh image carries no info dict: no EXIF, XMP, ICC, comments.
        clean = Image.new("RGB", pixels.size)
        clean.paste(pixels)
        out = io.BytesIO()
        clean.save(out, format="JPEG", quality=quality, optimize=True)
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit (higher than ours), hit while reading the header.
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:
        raise _unreadable() from exc
    return SanitisedPhoto(data=out.getvalue(), width=clean.width, height=clean.height)


def _target_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= long_side:
        return width, height
    scale = long_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, 1 when absent or unreadable (the pixels still are)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) else 1


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid on white, 16-bit grey is scaled to 8 bit."""
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        grey = image.convert("I").point(lambda value: value * (1 / 257))
        return grey.convert("L").convert("RGB")
    has_alpha = image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or ("transparency" in image.info)
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")
