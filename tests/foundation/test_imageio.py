"""Bad input: every case gives ImageError naming the file and the problem, or a correct image."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from pokecard.errors import ImageError
from pokecard.imageio import load_rgb


def _gradient(h: int = 40, w: int = 30) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy * 255 // h, xx * 255 // w, np.full_like(yy, 128)], axis=2).astype(np.uint8)


def _err(path: Path) -> str:
    with pytest.raises(ImageError) as ei:
        load_rgb(path)
    msg = str(ei.value)
    assert str(path) in msg
    return msg


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    assert "0 bytes" in _err(p)


def test_truncated_jpeg(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 150, 3), dtype=np.uint8)).save(
        buf, "JPEG"
    )
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    assert "truncated" in _err(p)


def test_text_file_named_jpg(tmp_path: Path) -> None:
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a photo\n")
    assert "not an image" in _err(p)


def test_16bit_png_is_scaled_to_8bit(tmp_path: Path) -> None:
    a = (np.arange(40 * 30, dtype=np.uint32).reshape(40, 30) * 50).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(a).save(p)
    assert Image.open(p).mode.startswith("I")
    rgb = load_rgb(p)
    assert rgb.dtype == np.uint8 and rgb.shape == (40, 30, 3)
    expect = np.round(a.astype(np.float64) / 65535 * 255).astype(np.uint8)
    assert np.abs(rgb[..., 0].astype(int) - expect).max() <= 1


def test_grayscale(tmp_path: Path) -> None:
    g = _gradient()[..., 0]
    p = tmp_path / "gray.png"
    Image.fromarray(g, "L").save(p)
    rgb = load_rgb(p)
    assert rgb.shape == (40, 30, 3) and np.array_equal(rgb[..., 1], g)


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:10, :, 3] = 255  # top half opaque red, bottom half transparent
    p = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(p)
    rgb = load_rgb(p)
    assert tuple(rgb[2, 2]) == (200, 0, 0)
    assert tuple(rgb[15, 2]) == (255, 255, 255)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    p = tmp_path / "print.jpg"
    Image.fromarray(_gradient()).convert("CMYK").save(p, "JPEG", quality=95)
    assert Image.open(p).mode == "CMYK"
    rgb = load_rgb(p)
    assert rgb.shape == (40, 30, 3)
    assert np.abs(rgb.astype(int) - _gradient().astype(int)).mean() < 20


def _turned_jpeg(path: Path, stored: np.ndarray, quality: int) -> Path:
    """``stored`` saved as a JPEG with EXIF orientation 6 (rotate 90 CW to view)."""
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(path, "JPEG", exif=exif.tobytes(), quality=quality)
    return path


def test_exif_rotated_photo_is_turned_upright(tmp_path: Path) -> None:
    # stored landscape with orientation 6 (rotate 90 CW to view): viewers show it portrait
    stored = np.zeros((30, 50, 3), np.uint8)
    stored[:, :5] = (255, 0, 0)  # red stripe on the stored left edge -> top after rotation
    rgb = load_rgb(_turned_jpeg(tmp_path / "phone.jpg", stored, 95))
    assert rgb.shape[:2] == (50, 30)
    assert rgb[1, 15, 0] > 200 and rgb[1, 15, 1] < 60  # the stripe is now along the top
    assert rgb[-2, 15, 0] < 60


def _png_header_only(path: Path, w: int, h: int) -> None:
    """A PNG that declares w x h but carries a tiny (invalid) IDAT: decoding it would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def test_huge_image_refused_before_decoding(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    _png_header_only(p, 20000, 20000)
    msg = _err(p)
    assert "20000x20000" in msg and "before decoding" in msg


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file(tmp_path: Path) -> None:
    p = tmp_path / "locked.jpg"
    Image.fromarray(_gradient()).save(p)
    p.chmod(0)
    try:
        assert "permission denied" in _err(p)
    finally:
        p.chmod(0o644)


def test_unreadable_entries_even_as_root(tmp_path: Path) -> None:
    """Root reads any file, so also cover what nobody can read: a dangling link and a folder
    named like a photo (both turn up in real photo folders after a sync)."""
    gone = tmp_path / "gone.jpg"
    gone.symlink_to(tmp_path / "deleted-target.jpg")
    assert "gone.jpg" in _err(gone)
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    assert "album.jpg" in _err(folder)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=0, max_size=2048),
    prefix=st.sampled_from([b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a"]),
)
def test_random_bytes_never_crash(data: bytes, prefix: bytes) -> None:
    try:
        rgb = load_rgb(prefix + data, name="fuzz.jpg")
    except ImageError as e:
        assert "fuzz.jpg" in str(e)
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


@pytest.mark.parametrize(
    ("w", "h", "min_side", "k"),
    [
        (960, 720, 1024, 1),
        (4032, 3024, 1024, 2),
        (8000, 6000, 1024, 4),
        (8000, 6000, 600, 8),
        (2048, 2048, 1024, 2),
    ],
)
def test_draft_scale_keeps_the_short_side(w: int, h: int, min_side: int, k: int) -> None:
    from pokecard.imageio import draft_scale

    assert draft_scale(w, h, min_side) == k
    assert min(w, h) // k >= min_side or k == 1


def test_large_jpeg_decoded_at_reduced_scale_with_the_same_picture(tmp_path: Path) -> None:
    # a smooth 2400 x 1800 picture with a turned EXIF orientation: min_side 500 decodes it at
    # 1/2 scale (900 short side; 1/4 would be 450), upright, and it matches the full decode shrunk
    big = np.asarray(Image.fromarray(_gradient(45, 60)).resize((2400, 1800), Image.BILINEAR))
    p = _turned_jpeg(tmp_path / "phone12mp.jpg", big, 92)
    full = load_rgb(p)
    small = load_rgb(p, min_side=500)
    assert full.shape == (2400, 1800, 3)
    assert small.shape == (1200, 900, 3)
    shrunk = np.asarray(Image.fromarray(full).resize((900, 1200), Image.BOX))
    assert np.abs(small.astype(int) - shrunk.astype(int)).mean() < 3
    # a PNG is never reduced (only the JPEG decoder scales for free)
    q = tmp_path / "big.png"
    Image.fromarray(big).save(q)
    assert load_rgb(q, min_side=500).shape == (1800, 2400, 3)


def test_opencv_jpeg_path_gives_pils_pixels(tmp_path: Path) -> None:
    # the common JPEG goes through OpenCV's decoder: the same pixels as PIL's, full and reduced
    # scale, colour and grey; a truncated one is left to PIL (which names the problem)
    from pokecard.imageio import _jpeg_opencv

    rng = np.random.default_rng(3)
    pic = np.asarray(Image.fromarray(_gradient(45, 60)).resize((1200, 900), Image.BILINEAR))
    pic = np.clip(pic + rng.normal(0, 12, pic.shape), 0, 255).astype(np.uint8)
    for mode in ("RGB", "L"):
        p = tmp_path / f"cam-{mode}.jpg"
        Image.fromarray(pic).convert(mode).save(p, "JPEG", quality=90)
        data = p.read_bytes()
        assert _jpeg_opencv(data, 1200, 900, 1) is not None
        for k, min_side in ((1, None), (2, 400)):
            with Image.open(p) as im:
                if k > 1:
                    im.draft("RGB", (600, 450))
                want = np.asarray(im.convert("RGB"))
            got = load_rgb(p, min_side=min_side)
            assert got.shape == want.shape == (900 // k, 1200 // k, 3)
            assert np.array_equal(got, want), (mode, k)
        assert _jpeg_opencv(data[: len(data) // 2], 1200, 900, 1) is None
