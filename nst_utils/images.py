"""Image input and output for style transfer: float RGB pixels, resizing, PNG with parameters.

Pixels travel through the package as float32 RGB arrays in ``[0, 255]`` with shape
``(H, W, 3)``; the backbone's own `Backbone.preprocess` turns them into network input.
`load_float_image` reads files with the workbook's one image reader (`workbook.images.load_image`:
EXIF-rotated phone photos, RGBA PNGs composited on white, grayscale, palette, 16-bit) and
returns float pixels, resized if asked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from workbook.atomic import atomic_open
from workbook.images import load_image

__all__ = ["MIN_SIDE", "load_float_image", "resize_image", "save_image", "to_uint8"]

#: Smallest accepted side, in pixels, of a source image and of a resized one: below this the
#: deeper VGG layers (downsampled 16x) have no spatial extent left to describe.
MIN_SIDE = 16


def _open(source) -> Image.Image:
    """A path, PIL image or array as an upright RGB PIL image (float arrays: values 0..255)."""
    if isinstance(source, np.ndarray) and np.issubdtype(source.dtype, np.floating):
        source = to_uint8(source)  # style-transfer arrays hold 0..255, never 0..1
    return Image.fromarray(load_image(source))


def resize_image(rgb, size: int) -> np.ndarray:
    """Resize so that the longer side has ``size`` pixels, keeping the aspect ratio.

    Args:
        rgb: ``(H, W, 3)`` array (any numeric dtype) or PIL image.
        size: target length of the longer side, in pixels.

    Returns:
        ``(H', W', 3)`` float32 in ``[0, 255]``, ``max(H', W') == size``.

    Raises:
        ValueError: ``size`` is not a positive integer, or the shorter side would drop below
            `MIN_SIDE` pixels.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"size must be a positive number of pixels; got {size!r}")
    image = _open(rgb)
    width, height = image.size
    scale = size / max(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if min(new) < MIN_SIDE:
        raise ValueError(
            f"Resizing a {width}x{height} image to {size} px on its long side gives {new[0]}x"
            f"{new[1]}; both sides must be at least {MIN_SIDE} px. Use a larger size."
        )
    if new != (width, height):
        image = image.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(image, dtype=np.float32)


def load_float_image(source, size: int | None = None) -> np.ndarray:
    """Load an image as RGB float32 pixels in ``[0, 255]``.

    Args:
        source: a file path, a PIL image or an ``(H, W[, 3|4])`` array.
        size: if given, resize so the longer side has ``size`` pixels (see `resize_image`).

    Returns:
        ``(H, W, 3)`` float32.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: not an image, smaller than `MIN_SIDE` pixels on a side, or a bad ``size``.
    """
    image = _open(source)
    if min(image.size) < MIN_SIDE:
        raise ValueError(
            f"The image is {image.size[0]}x{image.size[1]} pixels; style transfer needs at least"
            f" {MIN_SIDE}x{MIN_SIDE}."
        )
    if size is None:
        return np.asarray(image, dtype=np.float32)
    return resize_image(image, size)


def to_uint8(rgb) -> np.ndarray:
    """Round and clip float RGB values in ``[0, 255]`` to a displayable uint8 array."""
    return np.clip(np.rint(np.asarray(rgb, np.float32)), 0, 255).astype(np.uint8)


def save_image(path, rgb, metadata: dict | None = None) -> Path:
    """Save RGB pixels as a PNG, atomically, with ``metadata`` as a JSON text chunk.

    The parameters land in the PNG's ``nst_utils`` text chunk (read them back with
    ``json.loads(PIL.Image.open(path).text["nst_utils"])``).

    Args:
        path: destination; its suffix must be ``.png``.
        rgb: ``(H, W, 3)`` pixels in ``[0, 255]`` (float or uint8).
        metadata: JSON-serialisable parameters to store.

    Returns:
        The path written.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"Output must be a .png file (it carries the parameters); got {path}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder {path.parent} does not exist; create it first")
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "nst_utils")
    if metadata is not None:
        info.add_text("nst_utils", json.dumps(metadata, sort_keys=True, default=str))
    with atomic_open(path) as file:
        Image.fromarray(to_uint8(rgb)).save(file, format="PNG", pnginfo=info)
    return path
