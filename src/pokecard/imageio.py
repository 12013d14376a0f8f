"""Safe image decoding for the recognizer: one function, every bad input gets one clear error.

``load_rgb(path)`` returns uint8 RGB [H, W, 3] or raises :class:`ImageError` whose message
names the file and the problem. What it guards against:

* decompression bombs: the header is read lazily (PIL ``Image.open`` does not decode) and an
  image over ``MAX_PIXELS`` is refused *before* any pixel is decoded;
* empty, truncated, non-image and unreadable files;
* every pixel layout a phone, scanner or editor writes: 16-bit (I;16/I), grayscale (L/LA),
  palette (P), RGBA (composited on white, like a viewer shows it), CMYK JPEG;
* EXIF orientation: the photo is turned the way the camera was held
  (``ImageOps.exif_transpose``), so a portrait photo stays portrait.

``min_side``: a JPEG much larger than that (a 12 or 48 MP phone photo) is decoded at 1/2, 1/4 or
1/8 scale by the JPEG decoder itself (PIL ``draft``, DCT scaling: a fraction of the work), never
below ``min_side`` pixels on its short side. The recognizer asks for this; whole-size decoding is
the default.

Decoder: a complete, unturned colour or grey JPEG (the camera's common case) is decoded by
OpenCV's libjpeg-turbo (``cv2.imdecode``, the same pixels as PIL's, bit for bit: about 1.5 ms
less per 960 x 720 photo on one thread, and 2 ms less end to end in the recognizer); anything
else, and anything OpenCV does not decode to the expected size, goes through PIL, whose errors
name the problem.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from pokecard.errors import ImageError

# 50 megapixels: a 48 MP phone photo still loads; 20000 x 20000 (400 MP, 1.2 GB decoded) does not.
MAX_PIXELS = 50_000_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def _open_header(src: str | os.PathLike[str] | bytes, name: str):  # noqa: ANN202 - PIL lazily
    """(PIL image with only its header read, the file's bytes)."""
    from PIL import Image, UnidentifiedImageError

    try:
        if isinstance(src, bytes):
            if not src:
                raise ImageError(f"{name}: empty image data (0 bytes)")
            data = src
        else:
            p = Path(src)
            size = p.stat().st_size
            if size == 0:
                raise ImageError(f"{name}: empty file (0 bytes), not an image")
            data = p.read_bytes()
    except IsADirectoryError as e:
        raise ImageError(f"{name}: is a folder, not an image file") from e
    except PermissionError as e:
        raise ImageError(f"{name}: cannot read the file (permission denied)") from e
    except FileNotFoundError as e:
        raise ImageError(f"{name}: file not found") from e
    except OSError as e:
        raise ImageError(f"{name}: cannot read the file ({e.strerror or e})") from e
    # Our own limit replaces PIL's warning/exception pair so the message names the file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            im = Image.open(io.BytesIO(data))  # lazy: reads the header only
        except UnidentifiedImageError as e:
            raise ImageError(f"{name}: not an image (unrecognized file format)") from e
        except Exception as e:  # PIL raises many types on corrupt headers
            raise ImageError(f"{name}: corrupt image header ({type(e).__name__}: {e})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = old
    return im, data


def _jpeg_opencv(data: bytes, w: int, h: int, k: int) -> np.ndarray | None:
    """RGB of a complete JPEG (it ends with the EOI marker: a truncated file goes to PIL, which
    says so) decoded by OpenCV at 1/``k`` scale, EXIF orientation not applied; None when OpenCV
    does not give the expected ``ceil(h/k)`` x ``ceil(w/k)`` colour picture."""
    import cv2

    if not data.endswith(b"\xff\xd9"):
        return None
    flags = {
        1: cv2.IMREAD_COLOR,
        2: cv2.IMREAD_REDUCED_COLOR_2,
        4: cv2.IMREAD_REDUCED_COLOR_4,
        8: cv2.IMREAD_REDUCED_COLOR_8,
    }[k] | cv2.IMREAD_IGNORE_ORIENTATION
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if bgr is None or bgr.shape != (-(-h // k), -(-w // k), 3) or bgr.dtype != np.uint8:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def draft_scale(w: int, h: int, min_side: int) -> int:
    """The JPEG decoder's reduction (1, 2, 4 or 8) for a ``w`` x ``h`` photo that keeps its
    short side at ``min_side`` pixels or more."""
    k = 1
    while k < 8 and min(w, h) // (2 * k) >= min_side:
        k *= 2
    return k


def load_rgb(
    src: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    min_side: int | None = None,
) -> np.ndarray:
    """Decode an image file (or bytes) to uint8 RGB [H, W, 3], EXIF orientation applied
    (``min_side``: see the module's note on reduced-scale JPEG decoding)."""
    from PIL import Image, ImageOps

    name = name or (str(src) if not isinstance(src, bytes) else "<bytes>")
    im, data = _open_header(src, name)
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise ImageError(
            f"{name}: image is {w}x{h} ({w * h / 1e6:.0f} megapixels), over the limit of "
            f"{max_pixels / 1e6:.0f} MP; refused before decoding (possible decompression bomb)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # already checked above against our own limit
        try:
            k = draft_scale(w, h, min_side) if min_side and im.format == "JPEG" else 1
            turned = im.getexif().get(0x0112, 1) not in (1, None)  # EXIF sits in the header
            if im.format == "JPEG" and im.mode in ("RGB", "L") and not turned:
                rgb = _jpeg_opencv(data, w, h, k)
                if rgb is not None:
                    return rgb
            if k > 1:
                im.draft("RGB", (-(-w // k), -(-h // k)))
            im.load()
            # exif_transpose copies the whole image even when there is nothing to turn
            if turned:
                im = ImageOps.exif_transpose(im) or im
            rgb = _to_rgb(im)
        except ImageError:
            raise
        except Exception as e:  # truncated data, bad EXIF, unsupported mode
            msg = str(e) or type(e).__name__
            if "truncated" in msg.lower() or isinstance(e, (OSError, SyntaxError)):
                raise ImageError(f"{name}: image data is truncated or corrupt ({msg})") from e
            raise ImageError(f"{name}: cannot decode image ({type(e).__name__}: {msg})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = old
    return rgb


def _to_rgb(im) -> np.ndarray:  # noqa: ANN001 - PIL image
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        g = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        top = 1.0 if a.max() <= 1.0 else 255.0
        g = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(g[:, :, None], 3, axis=2))
    if mode == "RGB":  # the common case: one copy out of PIL, no conversion
        return np.asarray(im, dtype=np.uint8)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, rgba)
    if im.mode == "RGB;16" or im.mode.startswith("RGB") and im.mode != "RGB" and im.mode != "RGBA":
        im = im.convert("RGB")
    out = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if out.ndim != 3 or out.shape[2] != 3:
        raise ImageError(f"unsupported pixel layout {mode}")
    return np.ascontiguousarray(out)


def is_image_name(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
