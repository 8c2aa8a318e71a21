"""Photo uploads: every input image is generated here with Pillow (or pillow-heif)."""

import io
import pickle
import struct
import zipfile
import zlib

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, PngImagePlugin

from ablesung.lib.photos import (
    JPEG_TRAILER_TOLERANCE,
    MSG_EMPTY,
    MSG_EXTRA_DATA,
    MSG_FORMAT,
    MSG_UNREADABLE,
    PhotoRejected,
    SanitisedPhoto,
    process_photo,
    sanitise_photo,
)

MSG_TOO_LARGE = "Die Datei ist zu groß (höchstens 10 MB)."
MSG_TOO_MANY_PIXELS = "Das Foto hat zu viele Bildpunkte (höchstens 40 Megapixel)."
KNOWN_REJECTIONS = {
    "empty": MSG_EMPTY,
    "too_large": MSG_TOO_LARGE,
    "format": MSG_FORMAT,
    "too_many_pixels": MSG_TOO_MANY_PIXELS,
    "extra_data": MSG_EXTRA_DATA,
    "unreadable": MSG_UNREADABLE,
}

GPS_IFD = 0x8825
ORIENTATION = 0x0112
HAS_HEVC_ENCODER = bool(pillow_heif.libheif_info().get("HEIF"))


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def two_colour(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Testkamera"  # Make
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    return exif


def rejected(data: bytes) -> PhotoRejected:
    """The rejection for ``data``; its message is one of the German texts."""
    with pytest.raises(PhotoRejected) as caught:
        sanitise_photo(data)
    error = caught.value
    assert error.message
    assert str(error) == error.message
    assert KNOWN_REJECTIONS[error.code] == error.message
    return error


def rgb(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def png_header_only(width: int, height: int, idat: bytes) -> bytes:
    """A 1-bit greyscale PNG claiming ``width`` x ``height`` with the given IDAT."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def compressed_blank_rows(width: int, height: int) -> bytes:
    """Valid zlib data for ``height`` all-zero 1-bit rows, built row by row (small)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def jpeg_photo() -> bytes:
    return encode(two_colour(640, 480), "JPEG", quality=90)


# --- accepted photos -----------------------------------------------------------


def test_gps_exif_xmp_icc_and_comment_are_gone() -> None:
    source = two_colour(400, 300)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = encode(
        source,
        "JPEG",
        exif=exif_with_gps().tobytes(),
        xmp=xmp,
        icc_profile=icc,
        comment=b"Zaehler im Keller",
    )
    before = Image.open(io.BytesIO(data))
    assert before.getexif().get_ifd(GPS_IFD)
    assert "xmp" in before.info

    out = sanitise_photo(data)

    after = opened(out)
    assert len(after.getexif()) == 0
    assert not after.getexif().get_ifd(GPS_IFD)
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"):
        assert key not in after.info
    for needle in (b"Exif\x00\x00", b"Testkamera", b"xmpmeta", b"ICC_PROFILE", b"Zaehler"):
        assert needle not in out
    assert after.mode == "RGB"
    assert after.size == (400, 300)


def test_orientation_6_is_applied_before_stripping() -> None:
    data = encode(two_colour(300, 100), "JPEG", exif=exif_with_gps(orientation=6).tobytes())

    photo = process_photo(data)

    assert (photo.width, photo.height) == (100, 300)
    upright = opened(photo.data)
    assert upright.size == (100, 300)
    assert ORIENTATION not in upright.getexif()
    red, _, blue = rgb(upright, (50, 20))
    assert red > 200  # the left (red) half is now on top
    assert blue < 60
    red, _, blue = rgb(upright, (50, 280))
    assert blue > 200
    assert red < 60


def test_png_with_alpha_becomes_rgb_on_white() -> None:
    image = Image.new("RGBA", (64, 32), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 32, 32))

    out = opened(sanitise_photo(encode(image, "PNG")))

    assert out.mode == "RGB"
    assert min(rgb(out, (48, 16))) >= 245
    red, green, _ = rgb(out, (10, 16))
    assert red > 180
    assert green < 40


@pytest.mark.parametrize("mode", ["P", "LA", "L", "1", "CMYK", "I;16"])
def test_other_modes_become_rgb(mode: str) -> None:
    if mode == "P":
        image = Image.new("P", (20, 20), 0)
        image.putpalette([0, 0, 0, 255, 0, 0])
        data = encode(image, "PNG", transparency=0)
    elif mode == "CMYK":
        data = encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG")
    elif mode == "I;16":
        data = encode(Image.new("I;16", (20, 20), 0x8000), "PNG")
    else:
        data = encode(Image.new(mode, (20, 20), 0), "PNG")

    out = opened(sanitise_photo(data))

    assert out.mode == "RGB"
    if mode in ("P", "LA"):
        assert min(rgb(out, (5, 5))) >= 245
    if mode == "I;16":
        assert 120 <= rgb(out, (5, 5))[0] <= 135


@pytest.mark.parametrize(
    "params",
    [{"progressive": True}, {"restart_marker_blocks": 2}, {"subsampling": 0, "quality": 95}],
    ids=["progressive", "restart-markers", "4:4:4"],
)
def test_jpeg_variants_are_walked_to_their_end(params: dict[str, object]) -> None:
    data = encode(two_colour(300, 200), "JPEG", **params)
    assert opened(sanitise_photo(data)).size == (300, 200)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_only_the_first_frame_of_an_animation_is_used(image_format: str) -> None:
    red, blue, green = (Image.new("RGB", (40, 30), colour) for colour in ("red", "blue", "green"))
    data = encode(red, image_format, save_all=True, append_images=[blue, green])
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3

    r, _, b = rgb(opened(sanitise_photo(data)), (5, 5))
    assert r > 240
    assert b < 20


def test_webp_is_accepted() -> None:
    data = encode(two_colour(120, 80), "WEBP", quality=90, exif=exif_with_gps().tobytes())

    out = opened(sanitise_photo(data))

    assert out.size == (120, 80)
    assert len(out.getexif()) == 0


@pytest.mark.skipif(
    not HAS_HEVC_ENCODER,
    reason="the libheif in this pillow-heif build has no HEVC encoder, so no HEIC input can be made",
)
def test_heic_is_accepted() -> None:
    heif = pillow_heif.from_pillow(two_colour(160, 90))
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, exif=exif_with_gps().tobytes())
    data = buffer.getvalue()
    assert data[4:12] == b"ftypheic"

    photo = process_photo(data)

    assert (photo.width, photo.height) == (160, 90)
    out = opened(photo.data)
    assert len(out.getexif()) == 0


def test_long_side_is_scaled_to_2048_and_small_photos_are_not_enlarged() -> None:
    big = encode(two_colour(4000, 1000), "JPEG")
    tall = encode(two_colour(1000, 3000), "PNG")
    small = encode(two_colour(800, 600), "JPEG")

    assert opened(sanitise_photo(big)).size == (2048, 512)
    assert opened(sanitise_photo(tall)).size == (683, 2048)
    assert opened(sanitise_photo(small)).size == (800, 600)
    assert opened(sanitise_photo(big, long_side=1000)).size == (1000, 250)


def test_file_objects_and_memoryviews_are_read(jpeg_photo: bytes) -> None:
    from_file = process_photo(io.BytesIO(jpeg_photo))
    from_view = process_photo(memoryview(jpeg_photo))

    assert isinstance(from_file, SanitisedPhoto)
    assert (from_file.width, from_file.height) == (640, 480)
    assert from_view.data == from_file.data


def test_jpeg_followed_by_further_jpeg_images_and_padding_is_accepted(
    jpeg_photo: bytes,
) -> None:
    # Phones append gain maps / depth maps as further JPEGs (multi-picture format).
    gain_map = encode(Image.new("L", (160, 120), 128), "JPEG")
    assert opened(sanitise_photo(jpeg_photo + gain_map)).size == (640, 480)
    assert opened(sanitise_photo(jpeg_photo + b"\x00" * 64)).size == (640, 480)


# --- rejections -------------------------------------------------------------------


def test_more_than_10_mb_is_rejected_before_decoding() -> None:
    too_big = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    assert rejected(too_big).code == "too_large"

    stream = io.BytesIO(too_big + b"\x00" * 1024 * 1024)
    with pytest.raises(PhotoRejected) as caught:
        sanitise_photo(stream)
    assert caught.value.message == MSG_TOO_LARGE
    assert stream.tell() == 10 * 1024 * 1024 + 1  # read no further than the limit


def test_limits_appear_in_the_messages() -> None:
    with pytest.raises(PhotoRejected) as caught:
        sanitise_photo(b"\xff" * (5 * 1024 * 1024 + 1), max_bytes=5 * 1024 * 1024)
    assert caught.value.message == "Die Datei ist zu groß (höchstens 5 MB)."
    with pytest.raises(PhotoRejected) as caught:
        sanitise_photo(b"\xff" * (2 * 1024 * 1024), max_bytes=1536 * 1024)
    assert caught.value.message == "Die Datei ist zu groß (höchstens 1,5 MB)."
    data = encode(two_colour(2000, 1000), "JPEG")
    with pytest.raises(PhotoRejected) as caught:
        sanitise_photo(data, max_pixels=1_500_000)
    assert caught.value.message == "Das Foto hat zu viele Bildpunkte (höchstens 1,5 Megapixel)."


def test_more_than_40_megapixels_is_rejected_before_decoding() -> None:
    width, height = 8000, 6000
    bomb = png_header_only(width, height, compressed_blank_rows(width, height))
    assert len(bomb) < 100_000
    assert rejected(bomb).code == "too_many_pixels"

    # Same header, pixel data that cannot be decoded at all: the answer is still
    # about the size, so the pixels were never touched.
    undecodable = png_header_only(width, height, b"not zlib")
    assert rejected(undecodable).code == "too_many_pixels"


def test_pillows_own_bomb_limit_also_ends_as_rejection() -> None:
    assert rejected(png_header_only(20_000, 10_000, b"x")).code == "too_many_pixels"


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\xef\xbb\xbf  <svg/>",
    ],
)
def test_svg_is_rejected(data: bytes) -> None:
    assert rejected(data).code == "format"


def test_gif_and_other_formats_get_the_format_message() -> None:
    gif = encode(Image.new("P", (10, 10)), "GIF")
    assert rejected(gif).message == MSG_FORMAT
    bmp = encode(Image.new("RGB", (10, 10)), "BMP")
    assert rejected(bmp).code == "format"
    avif_like = b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1miaf" + b"\x00" * 64
    assert rejected(avif_like).code == "format"
    assert rejected(b"%PDF-1.7\n").code == "format"


def test_jpeg_with_zip_appended_is_rejected(jpeg_photo: bytes) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("readme.txt", "hallo")
    polyglot = jpeg_photo + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))  # really readable as ZIP

    assert rejected(polyglot).code == "extra_data"


def test_long_trailers_and_signatures_in_short_ones_are_rejected(jpeg_photo: bytes) -> None:
    plain_but_long = jpeg_photo + b"\x00" * (JPEG_TRAILER_TOLERANCE + 1)
    assert rejected(plain_but_long).code == "extra_data"
    assert rejected(jpeg_photo + b"%PDF-1.7 ...").code == "extra_data"
    assert rejected(jpeg_photo + b"<HTML><script>x</script>").code == "extra_data"


def test_png_with_data_after_iend_is_rejected() -> None:
    png = encode(two_colour(50, 50), "PNG")
    assert rejected(png + b"x").code == "extra_data"


def test_markup_in_metadata_is_rejected() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "<script>alert(1)</script>")
    png = encode(two_colour(50, 50), "PNG", pnginfo=text)
    assert rejected(png).code == "extra_data"

    jpeg = encode(two_colour(50, 50), "JPEG", comment=b"<?php system($_GET['c']); ?>")
    assert rejected(jpeg).code == "extra_data"


def test_truncated_and_mislabelled_files_are_unreadable(jpeg_photo: bytes) -> None:
    assert rejected(jpeg_photo[: len(jpeg_photo) // 2]).message == MSG_UNREADABLE
    assert rejected(jpeg_photo[:-2]).code == "unreadable"
    webp_label_jpeg_inside = b"RIFF" + struct.pack("<I", len(jpeg_photo) + 4) + b"WEBP" + jpeg_photo
    assert rejected(webp_label_jpeg_inside).code == "unreadable"
    assert rejected(b"").code == "empty"


def test_rejections_survive_pickling() -> None:
    error = rejected(b"GIF89a")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (copy.message, copy.code) == (error.message, error.code)


def test_text_mode_files_are_a_programming_error() -> None:
    with pytest.raises(TypeError):
        sanitise_photo(io.StringIO("kein Foto"))  # type: ignore[arg-type]


# --- any bytes: PhotoRejected or a clean JPEG, nothing else --------------------------


def sanitised_or_rejected(data: bytes) -> None:
    outcome: bytes | PhotoRejected
    try:
        outcome = sanitise_photo(data)
    except PhotoRejected as error:
        outcome = error
    if isinstance(outcome, PhotoRejected):
        assert KNOWN_REJECTIONS[outcome.code] == outcome.message
    else:
        assert opened(outcome).mode == "RGB"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4096))
def test_random_bytes_only_ever_raise_photo_rejected(data: bytes) -> None:
    sanitised_or_rejected(data)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncated_or_damaged_photos_only_ever_raise_photo_rejected(
    jpeg_photo: bytes, data: st.DataObject
) -> None:
    png = encode(two_colour(64, 48), "PNG")
    webp = encode(two_colour(64, 48), "WEBP")
    source = data.draw(st.sampled_from([jpeg_photo, png, webp]))
    cut = data.draw(st.integers(min_value=0, max_value=len(source)))
    damaged = bytearray(source[:cut])
    for _ in range(data.draw(st.integers(min_value=0, max_value=4))):
        if damaged:
            position = data.draw(st.integers(min_value=0, max_value=len(damaged) - 1))
            damaged[position] = data.draw(st.integers(min_value=0, max_value=255))
    sanitised_or_rejected(bytes(damaged))
