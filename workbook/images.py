"""Load photos robustly into ``HxWx3`` uint8 RGB arrays: the workbook's one image reader.

Everything that reads a photo (`fr_utils`, `nst_utils`, notebook 06's probe images, the LFW
crops) goes through `load_image`, so every caller gets the same handling of the awkward
cases: EXIF orientation (phone photos are stored sideways with a flag), grayscale, palette,
RGBA (composited on white), CMYK and 16-bit images, and files that are empty, truncated or
not images at all (a `ValueError` that names the file). `fr_utils.load_image` is this
function; `nst_utils.load_float_image` builds on it (float pixels, optional resize).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ImageInput", "describe", "load_image", "to_uint8_rgb"]

ImageInput = str | os.PathLike | Image.Image | np.ndarray


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
        ValueError: the file is empty, truncated or not an image (the message names it).
    """
    if isinstance(image, np.ndarray):
        return to_uint8_rgb(image)
    if isinstance(image, Image.Image):
        return np.asarray(_pil_to_rgb(image))
    if not isinstance(image, (str, os.PathLike)):
        raise ValueError(f"Expected a path, PIL image or numpy array, got {type(image).__name__}")
    path = Path(image)
    if not path.is_file():
        raise FileNotFoundError(f"No such image file: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes); expected a JPEG/PNG photo")
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so truncated files fail here
            return np.asarray(_pil_to_rgb(opened))
    except UnidentifiedImageError as error:
        raise ValueError(f"{path}: not an image file PIL can read ({error})") from error
    except (OSError, SyntaxError) as error:  # truncated or corrupt data
        raise ValueError(
            f"{path}: cannot decode the image, truncated or corrupt ({error})"
        ) from error
