"""How much a unit's top photos have in common, measured with WordNet (notebook 06).

Looking at a grid of patches and calling it "a dog detector" is an adjective; this module
turns it into a number. Each ImageNet photo has a class, and each class is a WordNet noun
(`nst_utils.models.imagenet_hierarchy`). For one unit we take the classes of its top-``k``
photos and ask for the *largest group*: the WordNet synset, at least ``min_depth`` steps
below ``entity``, that covers most of them (`Hierarchy.largest_group`). Its share of the
``k`` photos is the unit's **coherence**: 9/9 when all top photos are dogs (depth 13), 1/9
when no two of them share anything that specific.

WordNet depths, for a feel of ``min_depth``: artifact 4, animal 6, vehicle 7, mammal and
bird 9, carnivore and car 11, dog 13. A group at depth >= 9 is at least "mammal", "bird" or
"wheeled vehicle": a kind of thing, not just "an object".

The same measure on random sets of ``k`` photos (`chance_coherence`) is the baseline: with
one photo per class and 118 dog breeds among the 1000 classes, random sets already share a
group now and then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nst_utils.layers.top_patches import ChannelMaxima, firing_units, top_photos

__all__ = [
    "LayerCoherence",
    "best_unit_for",
    "chance_coherence",
    "group_label",
    "group_members",
    "layer_coherence",
    "most_coherent",
    "unit_groups",
]


def _hierarchy(hierarchy):
    if hierarchy is not None:
        return hierarchy
    from nst_utils.models.imagenet_hierarchy import hierarchy as default

    return default()


def group_label(wnid: str | None, hierarchy=None) -> str:
    """A readable name for a WordNet group: its first word, or a longer word that starts with
    it (``"placental mammal"`` rather than ``"placental"``); ``"-"`` for None."""
    if wnid is None:
        return "-"
    lemmas = _hierarchy(hierarchy).synset(wnid).lemmas
    longer = [lemma for lemma in lemmas[1:] if lemma.lower().startswith(lemmas[0].lower() + "_")]
    return (longer[0] if longer else lemmas[0]).replace("_", " ")


def unit_groups(
    photo_sets, wnids: Sequence[str], min_depth: int = 9, hierarchy=None
) -> tuple[list[str | None], np.ndarray]:
    """The largest WordNet group of each set of photos.

    Args:
        photo_sets: ``(U, k)`` photo indices (e.g. `top_photos`).
        wnids: the class of every photo, indexed like the photos.
        min_depth: only synsets at least this deep count as a group.
        hierarchy: a `Hierarchy` (default: the system's WordNet 3.0).

    Returns:
        ``(groups, counts)``: for each set the group's wnid (None if no synset that deep
        covers any photo) and how many of its ``k`` photos it covers, ``(U,)`` int.
    """
    words = _hierarchy(hierarchy)
    groups, counts = [], []
    for photos in np.asarray(photo_sets):
        group, count = words.largest_group([wnids[i] for i in photos], min_depth)
        groups.append(group)
        counts.append(count)
    return groups, np.array(counts, dtype=int)


@dataclass(frozen=True)
class LayerCoherence:
    """The coherence of every firing unit of one layer.

    Attributes:
        layer: the layer's name.
        units: ``(U,)`` channel indices (the channels positive on at least ``k`` photos).
        photos: ``(U, k)`` their top photos, strongest first.
        groups: ``U`` wnids of each unit's largest group (None: no group that deep).
        counts: ``(U,)`` how many of the ``k`` photos the group covers.
        k: photos per unit.
        min_depth: the depth a group must reach.
        n_channels: all channels of the layer, firing or not.
    """

    layer: str
    units: np.ndarray
    photos: np.ndarray
    groups: list[str | None]
    counts: np.ndarray
    k: int
    min_depth: int
    n_channels: int

    @property
    def share(self) -> np.ndarray:
        """``(U,)`` coherence of each unit, ``counts / k``."""
        return self.counts / self.k

    @property
    def mean(self) -> float:
        """Mean coherence over the layer's firing units."""
        return float(self.share.mean()) if len(self.units) else float("nan")

    def caption(self, unit: int) -> str:
        """Two lines for a mosaic: ``"unit 7"`` and its group with its count, ``"dog 6/9"``."""
        group, count = self.of(unit)
        shared = group_label(group) if count > 1 else "no shared group"
        return f"unit {unit}\n{shared} {count}/{self.k}"

    def common_groups(self, at_least: int = 5, n: int = 3) -> list[tuple[str, int]]:
        """The groups that most units of the layer share ``at_least`` of their photos with.

        Returns:
            Up to ``n`` ``(readable group name, number of units)`` pairs, most units first
            (ties: alphabetical).
        """
        names = [
            group_label(g) for g, c in zip(self.groups, self.counts, strict=True) if c >= at_least
        ]
        tally = sorted((-names.count(name), name) for name in set(names))[:n]
        return [(name, -minus) for minus, name in tally]

    def of(self, unit: int) -> tuple[str | None, int]:
        """``(group wnid, count)`` of channel ``unit``.

        Raises:
            KeyError: the channel is not among `units` (it fires on fewer than ``k`` photos).
        """
        where = np.flatnonzero(self.units == unit)
        if not len(where):
            raise KeyError(f"{self.layer} channel {unit} fires on fewer than {self.k} photos")
        return self.groups[where[0]], int(self.counts[where[0]])


def layer_coherence(
    maxima: ChannelMaxima, wnids: Sequence[str], k: int = 9, min_depth: int = 9, hierarchy=None
) -> LayerCoherence:
    """The coherence of every unit of a layer that fires on at least ``k`` photos.

    Args:
        maxima: the layer's `ChannelMaxima` over the photos.
        wnids: the class of every photo (e.g. `ImagenetPhotos.wnids`, or a classifier's
            top-1 predictions), indexed like the photos.
        k: top photos per unit (the lecture's 9).
        min_depth: WordNet depth a group must reach (see the module docstring).
        hierarchy: a `Hierarchy` (default: the system's WordNet 3.0).

    Returns:
        A `LayerCoherence`.

    Raises:
        ValueError: ``wnids`` does not have one class per photo, or ``k`` is out of range.
    """
    if len(wnids) != len(maxima.values):
        raise ValueError(f"{len(wnids)} classes for {len(maxima.values)} photos: one per photo")
    units = np.flatnonzero(firing_units(maxima, k))
    photos = top_photos(maxima, units, k)
    groups, counts = unit_groups(photos, wnids, min_depth, hierarchy)
    return LayerCoherence(
        maxima.layer, units, photos, groups, counts, k, min_depth, maxima.values.shape[1]
    )


def chance_coherence(
    wnids: Sequence[str],
    k: int = 9,
    min_depth: int = 9,
    n_sets: int = 1000,
    seed: int = 0,
    hierarchy=None,
) -> np.ndarray:
    """The coherence of random sets of ``k`` different photos: the no-learning baseline.

    Args:
        wnids: the class of every photo.
        k: photos per set.
        min_depth: WordNet depth a group must reach.
        n_sets: how many random sets.
        seed: seed of the draw.
        hierarchy: a `Hierarchy` (default: the system's WordNet 3.0).

    Returns:
        ``(n_sets,)`` float, each set's coherence (largest group / ``k``).

    Raises:
        ValueError: fewer than ``k`` photos.
    """
    if not 1 <= k <= len(wnids):
        raise ValueError(f"k must be between 1 and the number of photos ({len(wnids)}); got {k}")
    rng = np.random.default_rng(seed)
    sets = np.stack([rng.choice(len(wnids), size=k, replace=False) for _ in range(n_sets)])
    return unit_groups(sets, wnids, min_depth, hierarchy)[1] / k


def most_coherent(coherence: LayerCoherence, n: int) -> np.ndarray:
    """The ``n`` channels with the most coherent top photos (ties: the lower channel index).

    Raises:
        ValueError: fewer than ``n`` firing units.
    """
    if n > len(coherence.units):
        raise ValueError(f"{coherence.layer}: only {len(coherence.units)} firing units; n={n}")
    return coherence.units[np.argsort(-coherence.counts, kind="stable")[:n]]


def group_members(wnids: Sequence[str], group: str, hierarchy=None) -> np.ndarray:
    """``(N,)`` bool: which photos' classes are ``group`` or lie below it in WordNet.

    Args:
        wnids: the class of every photo.
        group: a WordNet noun id, e.g. ``"n02084071"`` (dog) or ``"n03614007"`` (keyboard).
        hierarchy: a `Hierarchy` (default: the system's WordNet 3.0).
    """
    words = _hierarchy(hierarchy)
    return np.array([group in words.ancestors(wnid) for wnid in wnids], dtype=bool)


def best_unit_for(maxima: ChannelMaxima, members, k: int = 9) -> tuple[int, int]:
    """The channel whose top-``k`` photos include the most of the marked photos.

    Args:
        maxima: one layer's `ChannelMaxima`.
        members: ``(N,)`` bool, the photos of interest (e.g. `group_members`).
        k: top photos per unit.

    Returns:
        ``(channel, count)``. Ties go to the channel where the marked photos rank higher
        (the smaller sum of their places in its top ``k``), then to the lower channel index.
    """
    marked = np.asarray(members, bool)[top_photos(maxima, k=k)]  # (C, k)
    counts = marked.sum(axis=1)
    places = np.where(marked, np.arange(k), 0).sum(axis=1)
    best = int(np.lexsort((np.arange(len(counts)), places, -counts))[0])
    return best, int(counts[best])
