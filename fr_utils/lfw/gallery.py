"""A sample of LFW people, encoded in batches, for recognition experiments (notebook 05).

Measuring how recognition errors grow with the database size ``K`` needs a few hundred
real encodings: ``n_people`` identities with two photos each (one to enroll, one to come
to the door) and ``n_strangers`` identities with a single photo (visitors nobody
enrolled). Detection is the costly step, so `encode_photos` runs MTCNN on batches of
same-sized photos (LFW's are all 250x250): one pass of each MTCNN stage per batch
instead of one per photo, three to five times less CPU than `fr_utils.align_face` photo
by photo (and a pixel off here and there, see `fr_utils.detection.detect_faces_batch`).
The subject of each photo is chosen, its chip cut and encoded as `fr_utils.img_to_encoding`
does (the same `fr_utils.faces.select_subject`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fr_utils.detection import detect_faces_batch
from fr_utils.faces import (
    DEFAULT_ALIGNMENT,
    NoFaceFoundError,
    align_detected,
    check_alignment,
    encode_faces,
    select_subject,
)
from workbook.images import load_image

__all__ = ["encode_photos", "sample_lfw_people"]


def sample_lfw_people(
    lfw_root: str | os.PathLike, n_people: int, n_strangers: int, seed: int = 0
) -> tuple[list[Path], list[str]]:
    """Pick photos of random LFW people: two photos of each of ``n_people``, one of each stranger.

    Args:
        lfw_root: the ``faces/lfw`` folder (one sub-folder of JPEGs per person).
        n_people: people with two or more photos; two random photos of each are taken.
        n_strangers: people with exactly one photo; that photo is taken.
        seed: seed of the random choices (same seed, same sample).

    Returns:
        ``(paths, names)``: the photo files and the person in each, people in random order.

    Raises:
        FileNotFoundError: ``lfw_root`` is not a folder.
        ValueError: more people or strangers asked for than the folder has.
    """
    root = Path(lfw_root)
    if not root.is_dir():
        raise FileNotFoundError(f"No LFW folder at {root}; run `python -m workbook.fetch_data`")
    photos = {
        person.name: sorted(person.glob("*.jpg"))
        for person in sorted(root.iterdir())
        if person.is_dir()
    }
    several = [name for name, files in photos.items() if len(files) >= 2]
    single = [name for name, files in photos.items() if len(files) == 1]
    if n_people > len(several) or n_strangers > len(single) or min(n_people, n_strangers) < 0:
        raise ValueError(
            f"Asked for {n_people} people with 2+ photos and {n_strangers} with one; {root} has"
            f" {len(several)} and {len(single)}"
        )
    rng = np.random.default_rng(seed)
    paths, names = [], []
    for name in rng.choice(several, size=n_people, replace=False):
        for index in sorted(rng.choice(len(photos[name]), size=2, replace=False)):
            paths.append(photos[name][index])
            names.append(str(name))
    for name in rng.choice(single, size=n_strangers, replace=False):
        paths.append(photos[name][0])
        names.append(str(name))
    return paths, names


def encode_photos(
    images: Sequence,
    encoder,
    batch_size: int = 16,
    *,
    alignment: str = DEFAULT_ALIGNMENT,
    num_jitters: int = 0,
    jitter_seed: int = 0,
    ambiguous: str = "warn",
    weak: str = "warn",
) -> tuple[np.ndarray, np.ndarray]:
    """Detect, align and encode the subject of each photo, detecting in batches.

    Args:
        images: paths, PIL images or ``HxWx3`` uint8 arrays. Photos of the same size are
            detected together (a batch needs one size); any mix of sizes works.
        encoder: a `fr_utils.FaceEncoder`.
        batch_size: photos per MTCNN batch (16 is fastest on a laptop CPU).
        alignment, num_jitters, jitter_seed, ambiguous, weak: as in
            `fr_utils.img_to_encoding`.

    Returns:
        ``(encodings, found)``: ``(n, 128)`` float32 unit rows (zeros where no face was
        found) and an ``(n,)`` bool array, False where there was none.

    Raises:
        AmbiguousFaceError: a photo shows comparable faces and ``ambiguous="raise"``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_alignment(alignment)
    photos = [load_image(image) for image in images]
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, photo in enumerate(photos):
        by_shape.setdefault(photo.shape, []).append(i)
    aligned: dict[int, object] = {}
    for indices in by_shape.values():
        for start in range(0, len(indices), batch_size):
            batch = indices[start : start + batch_size]
            for i, faces in zip(batch, detect_faces_batch([photos[i] for i in batch]), strict=True):
                try:
                    face = select_subject(
                        faces,
                        photos[i].shape,
                        ambiguous=ambiguous,
                        weak=weak,
                        source=f"photo {i}",
                    )
                except NoFaceFoundError:
                    continue
                size, padding = encoder.input_size, encoder.padding
                aligned[i] = align_detected(photos[i], face, size, padding, alignment)
    found = np.array([i in aligned for i in range(len(photos))], dtype=bool)
    encodings = np.zeros((len(photos), 128), np.float32)
    if aligned:
        rows = sorted(aligned)
        encodings[rows] = encode_faces(
            [aligned[i] for i in rows], encoder, num_jitters=num_jitters, jitter_seed=jitter_seed
        )
    return encodings, found
