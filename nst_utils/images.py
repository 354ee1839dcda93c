"""Image input and output for style transfer: load any photo as RGB, resize, save as PNG.

Pixels travel through the package as float32 RGB arrays in ``[0, 255]`` with shape
``(H, W, 3)``; the backbone's own `Backbone.preprocess` turns them into network input.
`load_image` accepts the awkward files people actually have: EXIF-rotated phone photos,
RGBA PNGs (composited on white), grayscale and palette images.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

__all__ = ["MIN_SIDE", "load_image", "resize_image", "save_image", "to_uint8"]

#: Smallest accepted side, in pixels, of a source image and of a resized one: below this the
#: deeper VGG layers (downsampled 16x) have no spatial extent left to describe.
MIN_SIDE = 16


def _to_rgb(image: Image.Image) -> Image.Image:
    """Return an RGB copy: EXIF orientation applied, transparency composited on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _open(source) -> Image.Image:
    """Open a path, PIL image or array as a PIL image, with clear errors for bad input."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        array = source
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
            raise ValueError(
                f"An image array must be (H, W), (H, W, 3) or (H, W, 4); not {array.shape}"
            )
        if array.dtype != np.uint8:
            array = np.clip(np.asarray(array, np.float32), 0, 255).round().astype(np.uint8)
        return Image.fromarray(array)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(
            f"{path} is not an image Pillow can read (PNG, JPEG...): {error}"
        ) from None


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


def load_image(source, size: int | None = None) -> np.ndarray:
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
    image = _to_rgb(_open(source))
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
    handle, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png.tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            Image.fromarray(to_uint8(rgb)).save(file, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
