"""Load photos robustly into ``HxWx3`` uint8 RGB arrays: the workbook's one image reader.

Everything that reads a photo (`fr_utils`, `nst_utils`, notebook 06's ImageNet photos, the LFW
crops) goes through `load_image`, so every caller gets the same handling of the awkward
cases: EXIF orientation (phone photos are stored sideways with a flag), grayscale, palette,
RGBA (composited on white), CMYK and 16-bit images, and files that are empty, truncated or
not images at all (a `ValueError` that names the file). `fr_utils.load_image` is this
function; `nst_utils.load_float_image` builds on it (float pixels, optional resize).

Inputs that are not a photo are refused with a message that says what they are: a folder, a
URL (download it first: this reader opens local files only), a decompression bomb (more than
``PIL.Image.MAX_IMAGE_PIXELS`` pixels, about 89 million, however small the file), or an
animation (an animated GIF, PNG or WebP: which frame is "the photo" is the caller's choice,
so pass that frame as a PIL image, e.g. ``im = Image.open(path); im.seek(k); load_image(im)``).
Formats whose extra frames are not an animation keep their first frame, which is the photo:
a camera's MPO JPEG (the photo plus previews) and a multi-page TIFF.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageInput",
    "describe",
    "image_file",
    "image_size",
    "load_image",
    "load_image_bytes",
    "to_uint8_rgb",
]

ImageInput = str | os.PathLike | Image.Image | np.ndarray

# "http://...", "https://...", "s3://...": a URL, never a local file name; also with one slash,
# as `pathlib.Path` (an argparse type) writes them. Two letters at least: "C:/x.jpg" is a file.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
# Formats whose extra frames are an animation (refused); MPO and TIFF keep their first frame.
_ANIMATED_FORMATS = ("GIF", "PNG", "WEBP", "FLI")


def describe(image: ImageInput) -> str:
    """Return a short name for an image input, for error messages (the path if there is one)."""
    if isinstance(image, (str, os.PathLike)):
        return str(image)
    if isinstance(image, Image.Image):
        return getattr(image, "filename", "") or f"<PIL image {image.size[0]}x{image.size[1]}>"
    if isinstance(image, np.ndarray):
        return f"<array {image.shape} {image.dtype}>"
    return f"<{type(image).__name__}>"


def _pil_to_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def to_uint8_rgb(array: np.ndarray, name: str = "array") -> np.ndarray:
    """Convert an image array to ``HxWx3`` uint8 RGB.

    Accepts ``HxW`` grayscale, ``HxWx1``, ``HxWx3`` and ``HxWx4`` (alpha dropped);
    bool (a mask), uint8, uint16 (scaled by 1/257), or floats in [0, 1] (scaled by 255) or
    [0, 255].

    Raises:
        ValueError: any other shape or dtype, naming ``name``.
    """
    array = np.asarray(array)
    if array.dtype == bool:  # a mask: False black, True white
        array = array.astype(np.uint8) * 255
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape[:2]) < 1:
        raise ValueError(
            f"{name}: expected an HxW, HxWx3 or HxWx4 image array, got shape {array.shape}"
        )
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    array = array[..., :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.uint16:
        return (array.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer):
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise ValueError(f"{name}: image array contains NaN or infinite values")
        if values.max(initial=0.0) <= 1.0 and np.issubdtype(array.dtype, np.floating):
            values = values * 255.0
        return np.clip(values + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"{name}: unsupported image dtype {array.dtype}")


def load_image(image: ImageInput) -> np.ndarray:
    """Return a photo as an ``HxWx3`` uint8 RGB array, upright.

    Args:
        image: a file path, a PIL image or an image array (see `to_uint8_rgb`).

    Returns:
        ``(H, W, 3)`` uint8, EXIF orientation applied, alpha composited on white.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is empty, truncated or not an image, the path is a folder or a
            URL, the image declares more than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels, or it is
            an animation (the message names the file and says what to do).
    """
    if isinstance(image, np.ndarray):
        return to_uint8_rgb(image)
    if isinstance(image, Image.Image):
        return np.asarray(_pil_to_rgb(image))
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(f"Expected a path, PIL image or numpy array, got {type(image).__name__}")
    path = image_file(image)
    return _decode(path, str(path))


def image_size(image: ImageInput) -> tuple[int, int]:
    """Return ``(width, height)`` of an image without decoding its pixels (header only).

    For a file, only the header is read (with the checks of `load_image`: URL, folder, empty
    file, decompression bomb), so a caller can refuse a size before paying for the decoding.
    EXIF rotation is not applied (the pixel count is the same either way).
    """
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3):
            raise ValueError(f"expected an HxW or HxWxC image array, got shape {image.shape}")
        return int(image.shape[1]), int(image.shape[0])
    if isinstance(image, Image.Image):
        return image.size
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(f"Expected a path, PIL image or numpy array, got {type(image).__name__}")
    path = image_file(image)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                return opened.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb(str(path), error) from None
    except UnidentifiedImageError as error:
        raise ValueError(f"{path}: not an image file PIL can read ({error})") from error
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{path}: cannot read the image header ({error})") from error


def load_image_bytes(content: bytes, name: str = "the uploaded file") -> np.ndarray:
    """Like `load_image`, for the bytes of an image file (an upload), with the same checks.

    Args:
        content: the whole file, e.g. the ``content`` of an ipywidgets ``FileUpload``.
        name: what the error messages call it.
    """
    if not content:
        raise ValueError(f"{name} is empty (0 bytes); expected a JPEG/PNG photo")
    return _decode(io.BytesIO(bytes(content)), name)


def _decode(source, name: str) -> np.ndarray:
    """Decode a file (a path or a binary stream) into ``HxWx3`` uint8; errors name ``name``."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                _refuse_animation(opened, name)
                opened.load()  # decode now, so truncated files fail here
                return np.asarray(_pil_to_rgb(opened))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb(name, error) from None
    except UnidentifiedImageError as error:
        raise ValueError(f"{name}: not an image file PIL can read ({error})") from error
    except (OSError, SyntaxError) as error:  # truncated or corrupt data
        raise ValueError(
            f"{name}: cannot decode the image, truncated or corrupt ({error})"
        ) from error


def _bomb(name: str, error: Exception) -> ValueError:
    return ValueError(
        f"{name}: refused, the image declares more than {Image.MAX_IMAGE_PIXELS:,} pixels"
        " (a decompression bomb, or a photo far larger than face recognition or style"
        f" transfer needs: resize it first). Pillow: {error}"
    )


def image_file(image: str | os.PathLike) -> Path:
    """Return ``image`` as the path of an existing, non-empty local file, or raise.

    `load_image` starts with this check; command lines call it on their arguments before any
    slow work, so a mistyped path is reported at once.

    Raises:
        FileNotFoundError: nothing at that path.
        ValueError: a URL, a folder, something other than a regular file, or an empty file
            (the message says which).
    """
    text = os.fspath(image)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if _URL.match(text):
        raise ValueError(
            f"{text} is a URL; this reader opens local files only. Download it first"
            " (e.g. `curl -O URL` or urllib.request.urlretrieve) and pass the file's path."
        )
    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file; pass one photo inside it")
    if not path.exists():
        raise FileNotFoundError(f"No such image file: {path}")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file (a device, pipe or socket?)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes); expected a JPEG/PNG photo")
    return path


def _refuse_animation(opened: Image.Image, name: str) -> None:
    """Raise ValueError for an animated GIF/PNG/WebP (its frames are not one photo)."""
    if opened.format in _ANIMATED_FORMATS and getattr(opened, "is_animated", False):
        frames = getattr(opened, "n_frames", "several")
        raise ValueError(
            f"{name} is an animation ({frames} frames, {opened.format}); a photo has one."
            " Choose the frame yourself: im = PIL.Image.open(path); im.seek(k); then pass im."
        )
