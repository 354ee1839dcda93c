"""A fixed collection of real images to probe what conv units respond to (notebook 06).

Zeiler & Fergus (2013) ran a network over many images and, for each unit, kept the image
patches that excited it most. We do the same on a small, offline, openly licensed set:

* the course's content photos (``data_path("photos")``) and public-domain paintings
  (``data_path("art")``),
* the sample images that ship inside scikit-image and scikit-learn (no download needed),
* a deterministic handful of Labeled Faces in the Wild photos (``data_path("faces/lfw")``).

Every image becomes square views of ``size`` pixels: its centre crop, and (``zoom=True``)
the four quarters of its centre crop at twice the resolution, so that units of the
shallow layers also see details. `ProbeImages.credits` holds the attribution lines to print
wherever the images are shown (see ``SOURCES-media.md`` and ``faces/SOURCES.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbook.credits import credits
from workbook.images import load_image, to_uint8_rgb
from workbook.resources import data_path

__all__ = ["ProbeImages", "load_probe_images", "square_views"]

# scikit-image samples that work offline and whose docstrings state CC0 / public domain /
# no known copyright restrictions. (moon, page and colorwheel state nothing; left out.)
SKIMAGE_SAMPLES = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "rocket",
    "text",
)
SKLEARN_SAMPLES = ("china.jpg", "flower.jpg")


@dataclass(frozen=True)
class ProbeImages:
    """Square RGB views of the probe images.

    Attributes:
        pixels: ``(N, size, size, 3)`` uint8 RGB.
        names: ``N`` labels such as ``"skimage/coffee"`` or ``"photos/bern_from_north.jpg@zoom3"``
            (``@zoomK``: quarter ``K`` of the 2x view, row-major).
        credits: attribution lines for every source used (print them under any figure).
    """

    pixels: np.ndarray
    names: list[str]
    credits: list[str]

    def __len__(self) -> int:
        return len(self.names)


def _square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is ``size`` (Lanczos), then crop the centre square."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    resized = np.asarray(Image.fromarray(image).resize((new_w, new_h), Image.Resampling.LANCZOS))
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top : top + size, left : left + size]


def square_views(image, size: int = 224, zoom: bool = True) -> np.ndarray:
    """Square views of one image: its centre crop, plus the 4 quarters of a 2x centre crop.

    Args:
        image: ``HxW`` (grey), ``HxWx3`` or ``HxWx4`` array; uint8, bool, or float in [0, 1].
        size: side of each view in pixels.
        zoom: also return the four ``size x size`` quarters of the ``2*size`` centre crop.

    Returns:
        ``(1, size, size, 3)`` or ``(5, size, size, 3)`` uint8.

    Raises:
        ValueError: ``size < 1`` or an image that is not grey/RGB/RGBA.
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels; got {size}")
    rgb = to_uint8_rgb(image)
    views = [_square(rgb, size)]
    if zoom:
        big = _square(rgb, 2 * size)
        views += [big[r : r + size, c : c + size] for r in (0, size) for c in (0, size)]
    return np.stack(views)


def _sample_images():
    """Yield ``(group, name, image)`` for the bundled photos, art and package samples."""
    import skimage.data
    from sklearn.datasets import load_sample_image

    for group in ("photos", "art"):
        for path in sorted(data_path(group).glob("*.jpg")):
            yield group, f"{group}/{path.name}", load_image(path)
    for name in SKIMAGE_SAMPLES:
        yield "skimage", f"skimage/{name}", getattr(skimage.data, name)()
    for name in SKLEARN_SAMPLES:
        yield "sklearn", f"sklearn/{name}", load_sample_image(name)


def _face_paths(n_faces: int) -> list[Path]:
    """First photo of ``n_faces`` people spread evenly over LFW's alphabetical list."""
    people = sorted(p for p in data_path("faces/lfw").iterdir() if p.is_dir())
    if n_faces > len(people):
        raise ValueError(f"n_faces={n_faces} but only {len(people)} people are in faces/lfw")
    picks = np.linspace(0, len(people) - 1, n_faces).round().astype(int) if n_faces else []
    return [min(people[i].glob("*.jpg")) for i in picks]


def load_probe_images(size: int = 224, n_faces: int = 32, zoom: bool = True) -> ProbeImages:
    """Load the probe collection as square views (deterministic: same images, same order).

    Args:
        size: side of every view in pixels (the network's input size).
        n_faces: how many LFW faces to add (one photo each of people spread over the
            alphabet); each face gives one view (no zoom: the photos are 250 px).
        zoom: give photos, paintings and samples 5 views each (centre + 4 zoomed quarters)
            instead of 1. More views find better patches but cost forward passes.

    Returns:
        A `ProbeImages` with 30 * (5 if zoom else 1) + ``n_faces`` views for the current data
        (5 photos, 7 paintings, 16 scikit-image and 2 scikit-learn samples).

    Raises:
        workbook.DataNotFoundError: the shared photos, art or faces are missing.
    """
    pixels, names, groups, names_of_sources = [], [], [], []
    for group, name, image in _sample_images():
        names_of_sources.append(name)
        views = square_views(image, size, zoom)
        pixels.append(views)
        names += [name] if len(views) == 1 else [name] + [f"{name}@zoom{k}" for k in range(4)]
        groups.append(group)
    for path in _face_paths(n_faces):
        pixels.append(square_views(load_image(path), size, zoom=False))
        names.append(f"faces/lfw/{path.parent.name}/{path.name}")
        names_of_sources.append(names[-1])
        groups.append("faces")
    sources = [
        name if group in ("photos", "art", "faces") else group
        for name, group in zip(names_of_sources, groups, strict=True)
    ]
    return ProbeImages(np.concatenate(pixels), names, credits(*sources).splitlines())
