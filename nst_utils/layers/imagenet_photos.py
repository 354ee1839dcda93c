"""The photos notebook 06 probes a network with: one ImageNet photo per class (1000 in all).

Zeiler & Fergus (2013) ran their network over ImageNet's validation images and, for each
unit, kept the patches that excited it most. The course data holds a small stand-in,
``data_path("imagenet_samples")``: one real photo of each of the 1000 ImageNet-1k classes,
256x256, with ``classes.csv`` (``wnid,label,file``, standard class order) and
``UPSCALED.txt`` (the 97 photos whose source was smaller than 256 px, so they look soft).
Because every photo comes with its class, we can *measure* what the units of a layer have in
common (`nst_utils.layers.coherence`).

`load_imagenet_photos` reads them through `workbook.images.load_image` and resizes them to
the network's input size; `ImagenetPhotos.credits` is the attribution to print wherever they
are shown (ImageNet's citation and terms: see ``imagenet_samples/SOURCES.md``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from workbook.credits import credits
from workbook.images import load_image
from workbook.resources import data_path

__all__ = ["FOLDER", "ImagenetPhotos", "load_imagenet_photos"]

#: The folder of the photos, relative to the data folder.
FOLDER = "imagenet_samples"


@dataclass(frozen=True)
class ImagenetPhotos:
    """Square RGB photos, one per ImageNet class, with their classes.

    Attributes:
        pixels: ``(N, size, size, 3)`` uint8 RGB.
        wnids: ``N`` WordNet ids of the photos' classes, e.g. ``"n02099601"``.
        labels: ``N`` readable class names, e.g. ``"golden retriever"``.
        files: ``N`` paths relative to the data folder, such as
            ``"imagenet_samples/n01440764_tench.jpg"``.
        upscaled: ``(N,)`` bool, True for photos whose source was smaller than 256 px (soft).
    """

    pixels: np.ndarray
    wnids: tuple[str, ...]
    labels: tuple[str, ...]
    files: tuple[str, ...]
    upscaled: np.ndarray

    def __len__(self) -> int:
        return len(self.files)

    def index(self, label: str) -> int:
        """Position of the photo of class ``label``, a name (``"daisy"``) or a wnid.

        Raises:
            KeyError: no photo of that class (the message gives a few labels to choose from).
        """
        key = label.replace("_", " ")
        for i, (wnid, name) in enumerate(zip(self.wnids, self.labels, strict=True)):
            if key in (wnid, name):
                return i
        raise KeyError(f"no photo of class {label!r}; classes include {', '.join(self.labels[:5])}")

    @property
    def credits(self) -> str:
        """The credit lines of the photos (one line: they share a source and terms)."""
        return credits(*dict.fromkeys(self.files))


def _square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square photo to ``size x size`` pixels (Lanczos), uint8 RGB."""
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def _rows(folder) -> list[dict]:
    with open(folder / "classes.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _upscaled(folder) -> set[str]:
    """Stems (``n01630670_common_newt``) of the photos listed in ``UPSCALED.txt``."""
    lines = (folder / "UPSCALED.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip().rsplit(".", 1)[0] for line in lines if line.strip() and line[0] != "#"}


def _pick(rows: list[dict], count: int | None, classes: Sequence[str] | None) -> list[dict]:
    """The rows asked for: ``classes`` (labels or wnids, in that order), else ``count`` evenly
    spaced rows, else all of them."""
    if classes is not None:
        by_key = {row["wnid"]: row for row in rows}
        by_key.update({row["label"].replace("_", " "): row for row in rows})
        unknown = [name for name in classes if name.replace("_", " ") not in by_key]
        if unknown:
            raise ValueError(f"no ImageNet class {unknown}; labels look like 'daisy', 'tabby'")
        return [by_key[name.replace("_", " ")] for name in classes]
    if count is None:
        return rows
    if not 1 <= count <= len(rows):
        raise ValueError(f"count must be between 1 and {len(rows)}; got {count}")
    return [rows[i] for i in np.linspace(0, len(rows) - 1, count).round().astype(int)]


def load_imagenet_photos(
    size: int = 224, count: int | None = None, classes: Sequence[str] | None = None
) -> ImagenetPhotos:
    """Load the ImageNet sample photos, resized to ``size x size`` pixels, in class order.

    Args:
        size: side of every photo in pixels (224: what ImageNet networks are trained on;
            the files are 256 px, so the whole photo is kept, slightly downscaled).
        count: how many photos (``None``: all 1000); fewer are taken evenly spaced over the
            class list, so a quick run still sees fish, dogs, tools and food.
        classes: load only the photos of these classes, in this order (labels such as
            ``"daisy"`` or ``"golden retriever"``, or wnids); overrides ``count``.

    Returns:
        An `ImagenetPhotos`, in the standard ImageNet class order (or that of ``classes``).

    Raises:
        ValueError: ``size < 1``, ``count`` not in ``1..1000``, or an unknown class.
        workbook.DataNotFoundError: the photos are not in the data folder (run ``make data``).
    """
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels; got {size}")
    folder = data_path(FOLDER)
    rows = _pick(_rows(folder), count, classes)
    soft = _upscaled(folder)
    with ThreadPoolExecutor(max_workers=4) as pool:  # decoding and resizing release the GIL
        pixels = np.stack(
            list(pool.map(lambda row: _square(load_image(folder / row["file"]), size), rows))
        )
    return ImagenetPhotos(
        pixels=pixels,
        wnids=tuple(row["wnid"] for row in rows),
        labels=tuple(row["label"].replace("_", " ") for row in rows),
        files=tuple(f"{FOLDER}/{row['file']}" for row in rows),
        upscaled=np.array([row["file"].rsplit(".", 1)[0] in soft for row in rows]),
    )
