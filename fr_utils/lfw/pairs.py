"""Verification pairs from LFW: official test pairs, disjoint training pairs, fast encoding.

Notebook 04 trains a verification head on pairs of encodings and tests it on LFW's official
view-2 pairs. Two rules keep that honest:

* **Disjoint identities.** The training pairs are built from people of LFW's development
  training list (``peopleDevTrain.txt``) who appear in *none* of the test pairs, so the head
  cannot learn anything about the test people. `training_pairs` enforces it and
  `Pairs.identities` lets the notebook verify it.
* **Balanced classes.** Half the pairs show one person twice, half two people.

Speed: MTCNN costs ~0.2 s per photo on a laptop CPU, too slow for a thousand photos in a
notebook. The deep-funneled LFW photos are already aligned by congealing (Huang et al.,
NIPS 2012): the face sits at nearly the same place in every photo. `funneled_landmarks`
therefore runs MTCNN on a handful of photos and takes the median landmarks, and
`encode_funneled` cuts every chip at those fixed landmarks (8 ms instead of ~200 ms per
photo) before encoding. That costs a little accuracy compared with per-photo detection.

Paths are relative to the LFW folder, as in ``pairs_available.csv``: ``Name/Name_0001.jpg``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Pairs",
    "encode_funneled",
    "funneled_chips",
    "funneled_landmarks",
    "identity_of",
    "official_pairs",
    "read_pairs",
    "training_pairs",
]


def _lfw_root(lfw_root: str | Path | None) -> Path:
    if lfw_root is not None:
        return Path(lfw_root)
    from workbook import data_path

    return data_path("faces/lfw")


def identity_of(path: str) -> str:
    """Return the person of an LFW path ``Name/Name_0001.jpg`` (its folder name)."""
    name = Path(path).parent.name
    if not name:
        raise ValueError(f"Not an LFW path 'Name/Name_NNNN.jpg': {path!r}")
    return name


@dataclass(frozen=True)
class Pairs:
    """Verification pairs: ``same[i]`` says whether ``paths_a[i]`` and ``paths_b[i]`` match.

    Attributes:
        paths_a, paths_b: tuples of LFW-relative image paths, one per pair.
        same: ``(n,)`` bool array, True for a genuine (same-person) pair.
    """

    paths_a: tuple[str, ...]
    paths_b: tuple[str, ...]
    same: np.ndarray

    def __post_init__(self):
        if not len(self.paths_a) == len(self.paths_b) == len(self.same):
            raise ValueError(
                f"paths_a, paths_b and same must have one entry per pair; got lengths"
                f" {len(self.paths_a)}, {len(self.paths_b)}, {len(self.same)}"
            )

    def __len__(self) -> int:
        return len(self.same)

    def images(self) -> list[str]:
        """The distinct image paths of all pairs, sorted (encode each of them once)."""
        return sorted(set(self.paths_a) | set(self.paths_b))

    def identities(self) -> set[str]:
        """Every person who appears in at least one pair."""
        return {identity_of(path) for path in self.paths_a + self.paths_b}

    def index(self, images: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers of each pair's two images in ``images`` (e.g. from `images`)."""
        row = {path: i for i, path in enumerate(images)}
        try:
            return (
                np.array([row[p] for p in self.paths_a]),
                np.array([row[p] for p in self.paths_b]),
            )
        except KeyError as error:
            raise KeyError(f"image {error.args[0]!r} of a pair is not in `images`") from None


def _balanced(pairs_a, pairs_b, same, n_pairs, rng) -> Pairs:
    same = np.asarray(same, dtype=bool)
    if n_pairs < 2 or n_pairs % 2:
        raise ValueError(f"n_pairs must be an even number >= 2, got {n_pairs}")
    chosen = []
    for label in (True, False):
        candidates = np.flatnonzero(same == label)
        if len(candidates) < n_pairs // 2:
            raise ValueError(
                f"only {len(candidates)} {'genuine' if label else 'impostor'} pairs available,"
                f" need {n_pairs // 2}: ask for fewer pairs"
            )
        chosen.append(rng.choice(candidates, n_pairs // 2, replace=False))
    order = np.sort(np.concatenate(chosen))
    return Pairs(
        tuple(pairs_a[i] for i in order), tuple(pairs_b[i] for i in order), same[order].copy()
    )


def read_pairs(
    split: str = "view2", lfw_root: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Read one split of the course's ``pairs_available.csv`` (the official pairs present here).

    Args:
        split: ``"view2"`` (the benchmark: folds 1-4 and 6-10), ``"devtrain"`` or ``"devtest"``.
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).

    Returns:
        ``(folds, same, paths_a, paths_b)``: ``(n,)`` int fold numbers, ``(n,)`` bool
        same-person flags and the two lists of LFW-relative image paths.

    Raises:
        ValueError: no pair has that split.
    """
    csv_path = _lfw_root(lfw_root) / "pairs_available.csv"
    with open(csv_path, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] == split]
    if not rows:
        raise ValueError(f"{csv_path}: no pairs with split {split!r} (view2, devtrain, devtest)")
    folds = np.array([int(row["fold"]) for row in rows])
    same = np.array([row["same"] == "1" for row in rows])
    return folds, same, [row["path_a"] for row in rows], [row["path_b"] for row in rows]


def official_pairs(
    n_pairs: int, split: str = "view2", seed: int = 0, lfw_root: str | Path | None = None
) -> Pairs:
    """Draw a balanced random subset of LFW's official pairs (``pairs_available.csv``).

    Args:
        n_pairs: even number of pairs: half genuine, half impostor.
        split: ``"view2"`` (the benchmark), ``"devtrain"`` or ``"devtest"``.
        seed: seed of the draw.
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).

    Raises:
        ValueError: unknown split, or more pairs asked for than the split has.
    """
    _, same, paths_a, paths_b = read_pairs(split, lfw_root)
    return _balanced(paths_a, paths_b, same, n_pairs, np.random.default_rng(seed))


def _people_with_photos(root: Path, names_file: str) -> dict[str, list[str]]:
    """``{person: sorted LFW-relative paths}`` of the people in a list file with 2+ photos here."""
    lines = (root / names_file).read_text().split("\n")[1:]  # first line: the count
    people = {}
    for line in filter(None, (line.strip() for line in lines)):
        name = line.split("\t")[0]
        photos = sorted(f"{name}/{p.name}" for p in (root / name).glob(f"{name}_*.jpg"))
        if len(photos) >= 2:  # withheld people (LFW set 5) have no folder here
            people[name] = photos
    return people


def training_pairs(
    n_pairs: int,
    exclude: set[str],
    photos_per_person: int = 4,
    seed: int = 0,
    lfw_root: str | Path | None = None,
) -> Pairs:
    """Build balanced training pairs from LFW development-training people not in ``exclude``.

    People of ``peopleDevTrain.txt`` with at least two photos are taken in random order;
    each contributes its first ``photos_per_person`` photos and all their genuine pairs,
    until ``n_pairs / 2`` genuine pairs are reached. As many impostor pairs are then drawn
    among the same photos (two different people), so few photos give many pairs.

    Args:
        n_pairs: even number of pairs.
        exclude: people who must not appear (the identities of the test pairs).
        photos_per_person: cap per person, so a few famous people do not dominate.
        seed: seed of the choice of people and impostor pairs.
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).

    Returns:
        `Pairs` whose `identities` do not intersect ``exclude``.

    Raises:
        ValueError: odd ``n_pairs`` or not enough people left.
    """
    if n_pairs < 2 or n_pairs % 2:
        raise ValueError(f"n_pairs must be an even number >= 2, got {n_pairs}")
    if photos_per_person < 2:
        raise ValueError(f"photos_per_person must be >= 2, got {photos_per_person}")
    rng = np.random.default_rng(seed)
    people = _people_with_photos(_lfw_root(lfw_root), "peopleDevTrain.txt")
    names = sorted(set(people) - set(exclude))
    genuine, photos = [], []
    for name in rng.permutation(names):
        chosen = people[name][:photos_per_person]
        photos += chosen
        genuine += [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1 :]]
        if len(genuine) >= n_pairs // 2:
            break
    else:
        raise ValueError(
            f"only {len(genuine)} genuine pairs from {len(names)} people; ask for fewer pairs"
        )
    genuine = genuine[: n_pairs // 2]
    impostor: set[tuple[str, str]] = set()
    while len(impostor) < n_pairs // 2:
        a, b = rng.choice(len(photos), 2, replace=False)
        if identity_of(photos[a]) != identity_of(photos[b]):
            impostor.add((photos[min(a, b)], photos[max(a, b)]))
    ordered = genuine + sorted(impostor)
    same = np.array([True] * len(genuine) + [False] * len(impostor))
    return Pairs(tuple(a for a, _ in ordered), tuple(b for _, b in ordered), same)


def funneled_landmarks(paths: list[str], lfw_root: str | Path | None = None) -> np.ndarray:
    """Median MTCNN landmarks of the subject over some deep-funneled LFW photos.

    The subject of each photo is chosen as everywhere (`fr_utils.faces.select_subject`);
    photos without a confident face are skipped.

    Args:
        paths: LFW-relative photo paths (a dozen is plenty: the photos are pre-aligned).
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).

    Returns:
        ``(5, 2)`` float64 (x, y) pixel positions in a 250x250 photo: eyes, nose tip,
        mouth corners (see `fr_utils.alignment.MEAN_FACE_5`).

    Raises:
        ValueError: no confident face was found in any of the photos.
    """
    from fr_utils.detection import detect_faces
    from fr_utils.faces import NoFaceFoundError, select_subject
    from workbook.images import load_image

    root = _lfw_root(lfw_root)
    found = []
    for path in paths:
        photo = load_image(root / path)
        try:
            face = select_subject(detect_faces(photo), photo.shape, source=path)
        except NoFaceFoundError:
            continue
        found.append(face.landmarks)
    if not found:
        raise ValueError(f"MTCNN found no face in any of the {len(paths)} photos given")
    return np.median(np.stack(found), axis=0)


def funneled_chips(
    paths: list[str],
    landmarks: np.ndarray,
    size: int = 150,
    padding: float = 0.25,
    lfw_root: str | Path | None = None,
) -> np.ndarray:
    """Cut the aligned chip of every deep-funneled LFW photo at the same ``landmarks``.

    Args:
        paths: LFW-relative photo paths.
        landmarks: ``(5, 2)`` from `funneled_landmarks`.
        size, padding: the encoder's chip geometry (``encoder.input_size``, ``encoder.padding``).
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).

    Returns:
        ``(len(paths), size, size, 3)`` uint8 chips, in the order of ``paths``.
    """
    from fr_utils.alignment import extract_chip
    from workbook.images import load_image

    root = _lfw_root(lfw_root)
    chips = np.zeros((len(paths), size, size, 3), np.uint8)
    for i, path in enumerate(paths):
        chips[i] = extract_chip(load_image(root / path), landmarks, size, padding)[0]
    return chips


def encode_funneled(
    paths: list[str],
    encoder,
    landmarks: np.ndarray,
    lfw_root: str | Path | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """Encode deep-funneled LFW photos, cutting every chip at the same ``landmarks``.

    Args:
        paths: LFW-relative photo paths.
        encoder: a `FaceEncoder` (``fr_utils.load_face_model()``).
        landmarks: ``(5, 2)`` from `funneled_landmarks`.
        lfw_root: the LFW folder (default: ``workbook.data_path("faces/lfw")``).
        batch_size: chips per forward pass (and chips held in memory at once).

    Returns:
        ``(len(paths), 128)`` float32 unit rows, in the order of ``paths``.
    """
    rows = []
    for start in range(0, len(paths), batch_size):
        chips = funneled_chips(
            paths[start : start + batch_size], landmarks, encoder.input_size, encoder.padding,
            lfw_root,
        )  # fmt: skip
        rows.append(encoder.encode(chips, batch_size=batch_size))
    return np.concatenate(rows) if rows else np.zeros((0, 128), np.float32)
