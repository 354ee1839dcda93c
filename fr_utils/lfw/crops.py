"""Small face crops from deep-funneled LFW, for training an embedding network (notebook 03).

Deep-funneled LFW images (Huang, Mattar, Lee, Learned-Miller, NIPS 2012) are already aligned:
every 250x250 photo has its face at about the same place in the middle. So a *fixed* central
square (``crop`` pixels, 120 by default) resized to ``size`` x ``size`` pixels is a usable
aligned face chip, with no detector involved.

`load_lfw_crops` reads the identities that have many photos and caches the crops as one
uint8 ``.npz`` file (no pickle) in `workbook.resources.cache_dir`, so a notebook decodes the
JPEGs only once. `split_identities` divides the people (not the photos) into disjoint groups,
so that a network can be evaluated on faces of people it never saw during training.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbook.atomic import atomic_open
from workbook.images import load_image
from workbook.resources import cache_dir, data_path, is_sealed, seal_cache

__all__ = ["FaceCrops", "load_lfw_crops", "photo_counts", "split_identities"]

#: Side of the deep-funneled LFW JPEGs, in pixels.
LFW_SIDE = 250
_CACHE_VERSION = 1


@dataclass(frozen=True)
class FaceCrops:
    """Face crops with integer identity labels.

    Attributes:
        images: ``(n, size, size, 3)`` uint8 RGB crops.
        labels: ``(n,)`` int32 identity index of each crop, into ``names``.
        names: identity names (LFW folder names), sorted alphabetically.
    """

    images: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, identities) -> FaceCrops:
        """Return the crops of the given identity indices, relabelled ``0..len(identities)-1``.

        Args:
            identities: sequence of indices into ``names``.
        """
        identities = np.asarray(identities, dtype=np.int64)
        remap = np.full(len(self.names), -1, dtype=np.int64)
        remap[identities] = np.arange(len(identities))
        keep = remap[self.labels] >= 0
        return FaceCrops(
            images=self.images[keep],
            labels=remap[self.labels[keep]].astype(np.int32),
            names=tuple(self.names[i] for i in identities),
        )


def photo_counts(root: str | os.PathLike | None = None) -> dict[str, int]:
    """Return ``{person: number of photos}`` for every person of an LFW folder.

    Args:
        root: the LFW folder (``Name/Name_NNNN.jpg``); default ``workbook.data_path("faces/lfw")``.

    Raises:
        FileNotFoundError: the folder does not exist.
    """
    root = Path(root) if root is not None else data_path("faces/lfw")
    if not root.is_dir():
        raise FileNotFoundError(f"LFW folder {root} does not exist or is not a folder.")
    return {
        folder.name: sum(1 for _ in folder.glob("*.jpg"))
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
    }


def _select_files(root: Path, min_images: int, max_images: int) -> dict[str, list[Path]]:
    """Return ``{name: first max_images JPEGs}`` for every person with at least ``min_images``."""
    chosen = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.jpg"))
        if len(files) >= min_images:
            chosen[folder.name] = files[:max_images]
    return chosen


def _crop(path: Path, size: int, crop: int) -> np.ndarray:
    """Decode one LFW JPEG and return its central ``crop``-pixel square resized to ``size``."""
    from PIL import Image

    image = Image.fromarray(load_image(path))
    width, height = image.size
    left, top = (width - crop) // 2, (height - crop) // 2
    box = (left, top, left + crop, top + crop)
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR, box=box))


def _cache_file(root: Path, min_images: int, max_images: int, size: int, crop: int) -> Path:
    key = f"v{_CACHE_VERSION}|{root.resolve()}|{min_images}|{max_images}|{size}|{crop}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir() / "face_crops" / f"lfw_{size}px_min{min_images}_max{max_images}_{digest}.npz"


def _save_npz_atomically(path: Path, **arrays) -> None:
    with atomic_open(path) as stream:
        np.savez(stream, **arrays)


def load_lfw_crops(
    min_images: int = 15,
    max_images: int = 40,
    size: int = 64,
    crop: int = 120,
    root: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> FaceCrops:
    """Load central face crops of every LFW person with at least ``min_images`` photos.

    Args:
        min_images: keep people with at least this many photos (more photos per person make
            better positives for triplets; 15 keeps 92 people of deep-funneled LFW here).
        max_images: use at most this many photos per person (the first ones in file order),
            so that a few very photographed people (George W. Bush has 530) do not dominate.
        size: side of the returned crops, in pixels.
        crop: side of the central square cut from each 250x250 photo before resizing; about
            120 pixels frames the face from eyebrows to chin in deep-funneled LFW.
        root: the LFW folder (``Name/Name_NNNN.jpg``); default ``workbook.data_path("faces/lfw")``.
        use_cache: read/write the crops as an uint8 ``.npz`` in `workbook.resources.cache_dir`.

    Returns:
        A `FaceCrops` with identities sorted by name.

    Raises:
        ValueError: on a bad size/crop/count, or when no person has ``min_images`` photos.
        workbook.DataNotFoundError: when the LFW folder is missing.
    """
    if not 1 <= size <= crop <= LFW_SIDE:
        raise ValueError(f"Need 1 <= size <= crop <= {LFW_SIDE}; got size={size}, crop={crop}.")
    if min_images < 2 or max_images < 2:
        raise ValueError(
            f"Need min_images >= 2 and max_images >= 2 (triplets need two photos of a person);"
            f" got min_images={min_images}, max_images={max_images}."
        )
    root = Path(root) if root is not None else data_path("faces/lfw")
    if not root.is_dir():
        raise FileNotFoundError(f"LFW folder {root} does not exist or is not a folder.")
    cached = _cache_file(root, min_images, max_images, size, crop)
    if use_cache and is_sealed(cached):  # a replaced or damaged cache is rebuilt
        with np.load(cached, allow_pickle=False) as stored:
            return FaceCrops(stored["images"], stored["labels"], tuple(stored["names"].tolist()))

    chosen = _select_files(root, min_images, max_images)
    if not chosen:
        raise ValueError(f"No person in {root} has {min_images} or more photos; lower min_images.")
    names = tuple(chosen)
    images = np.stack([_crop(path, size, crop) for files in chosen.values() for path in files])
    labels = np.repeat(np.arange(len(names), dtype=np.int32), [len(f) for f in chosen.values()])
    if use_cache:
        _save_npz_atomically(cached, images=images, labels=labels, names=np.array(names, dtype=str))
        seal_cache(cached)
    return FaceCrops(images, labels, names)


def split_identities(
    num_identities: int, sizes: tuple[int, ...], seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Shuffle identity indices ``0..num_identities-1`` and cut them into disjoint groups.

    Splitting by *person*, not by photo, is what makes a verification test honest: the
    network must embed faces of people it has never seen, as a deployed system would.

    Args:
        num_identities: how many identities there are.
        sizes: the size of each group, e.g. ``(60, 16, 16)`` for train/validation/test; they may
            sum to less than ``num_identities`` (the rest is unused).
        seed: seed of the shuffle.

    Returns:
        One sorted int64 array of identity indices per group.

    Raises:
        ValueError: when the groups ask for more identities than there are.
    """
    if any(s < 0 for s in sizes) or sum(sizes) > num_identities:
        raise ValueError(
            f"Group sizes {sizes} need {sum(sizes)} identities but there are only {num_identities}."
        )
    order = np.random.default_rng(seed).permutation(num_identities)
    bounds = np.cumsum((0, *sizes))
    return tuple(np.sort(order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True))
