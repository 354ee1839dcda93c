"""Face verification ("is this person who they claim to be?") and recognition ("who is this?").

The course's pipeline, one function each:

1. `align_faces`: detect faces (MTCNN) and cut an aligned chip of each, from MTCNN's five
   landmarks (``alignment="mtcnn"``) or as dlib cuts it, from dlib's 5-point shape
   predictor (``alignment="dlib"``: encodings interchangeable with ``face_recognition``'s);
   `align_face`: only the photo's subject (its most prominent confident face,
   `fr_utils.faces`).
2. `img_to_encoding`: encode the subject of a photo as a unit 128-D vector.
3. `face_distance`: the L2 distance between two encodings; small means same person.
4. `verify`: compare a photo with one identity of a database (1:1).
5. `who_is_it`: find the closest identity of a database (1:N), or nobody.

A database is a `fr_utils.FaceDatabase` or, in the course's style, a plain dict
``{name: (1, 128) encoding}``.

Every function that reads a photo takes the same keyword options, passed on to
`img_to_encoding`: ``alignment`` (how the chip is cut), ``num_jitters`` and ``jitter_seed``
(average the encodings of jittered copies of the chip), ``ambiguous`` (what to do with a
photo of two comparable faces) and ``weak`` (with a photo whose only faces are weak).
Encode a database and its queries with the same options.
"""

from __future__ import annotations

import math

import numpy as np

from fr_utils.database import FaceDatabase, gallery_rows
from fr_utils.encoder import FaceEncoder
from fr_utils.faces import (
    DEFAULT_ALIGNMENT,
    AlignedFace,
    AmbiguousFaceError,
    AmbiguousFaceWarning,
    NoFaceFoundError,
    WeakFaceWarning,
    align_face,
    align_faces,
    check_alignment,
    encode_faces,
    mirror_for,
)
from fr_utils.metrics import check_threshold, is_match
from workbook.images import ImageInput, load_image

__all__ = [
    "AlignedFace",
    "AmbiguousFaceError",
    "AmbiguousFaceWarning",
    "NoFaceFoundError",
    "WeakFaceWarning",
    "align_face",
    "align_faces",
    "face_distance",
    "img_to_encoding",
    "verify",
    "who_is_it",
]


def img_to_encoding(
    image: ImageInput,
    encoder: FaceEncoder,
    aligned: bool = False,
    *,
    alignment: str = DEFAULT_ALIGNMENT,
    num_jitters: int = 0,
    jitter_seed: int = 0,
    ambiguous: str = "warn",
    weak: str = "warn",
) -> np.ndarray:
    """Encode the subject of a photo: its most prominent confident face.

    The encoding of dlib's ResNet is the mean of the encodings of the chip and of its mirror
    image (`FaceEncoder.encode`), except with ``alignment="dlib"``, whose encodings stay
    interchangeable with dlib's own, unmirrored descriptors (`fr_utils.faces.mirror_for`).

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array of a photo.
        encoder: from `fr_utils.load_face_model`.
        aligned: the image already is an aligned chip: skip detection and only resize it
            to ``encoder.input_size`` (for chips from `align_faces`).
        alignment: how the chip is cut, one of `fr_utils.faces.ALIGNMENTS`: ``"dlib"``
            (dlib's own chip from its 5-point shape predictor: encodings interchangeable
            with ``face_recognition``'s) or ``"mtcnn"`` (MTCNN's landmarks); the default
            `fr_utils.faces.DEFAULT_ALIGNMENT` is the one that scores higher on LFW.
        num_jitters: 2 or more: the mean of the encodings of that many jittered (moved,
            turned, zoomed, mirrored) copies of the chip, as dlib's ``num_jitters``; slower
            by that factor, a little steadier (fr_utils/lfw/LFW_EVAL.md; its best threshold
            is a little lower, see `FaceEncoder.encode`). 0 or 1: the chip alone.
        jitter_seed: seed of the jitters (same seed, same encoding).
        ambiguous: a photo with two comparable faces: ``"warn"`` (default; the more
            prominent is used), ``"raise"`` (`AmbiguousFaceError`) or ``"ignore"``.
        weak: a photo with no confident face: ``"warn"`` (default; `WeakFaceWarning`, its
            most prominent weak face is used), ``"raise"`` (`NoFaceFoundError`) or
            ``"ignore"`` (see `fr_utils.faces`).

    Returns:
        ``(1, 128)`` float32, unit L2 norm.

    Raises:
        NoFaceFoundError: no face in the photo (or only weak ones and ``weak="raise"``).
        AmbiguousFaceError: comparable faces and ``ambiguous="raise"``.
        ValueError: unreadable file (named in the message), bad option.
    """
    check_alignment(alignment)
    if not aligned:
        face = align_face(
            image,
            encoder.input_size,
            encoder.padding,
            alignment=alignment,
            ambiguous=ambiguous,
            weak=weak,
        )
        return encode_faces([face], encoder, num_jitters=num_jitters, jitter_seed=jitter_seed)
    chip = load_image(image)
    if chip.shape[:2] != (encoder.input_size, encoder.input_size):
        from PIL import Image

        side = encoder.input_size
        chip = np.asarray(Image.fromarray(chip).resize((side, side), Image.Resampling.BILINEAR))
    mirror = mirror_for(alignment, encoder)
    return encoder.encode(
        chip[None], num_jitters=num_jitters, jitter_seed=jitter_seed, mirror=mirror
    )


def face_distance(
    image_a: ImageInput, image_b: ImageInput, encoder: FaceEncoder, **options
) -> float:
    """Return the L2 distance between the encodings of two photos' subjects.

    Below ``encoder.threshold`` the two faces are probably the same person. A distance is
    not a probability: it ranges over [0, 2] for unit encodings.

    Args:
        image_a, image_b: the photos (paths, PIL images or arrays).
        encoder: from `fr_utils.load_face_model`.
        options: keyword options of `img_to_encoding` (``alignment``, ``num_jitters``,
            ``jitter_seed``, ``ambiguous``, ``weak``), used for both photos.
    """
    a = img_to_encoding(image_a, encoder, **options)
    b = img_to_encoding(image_b, encoder, **options)
    return float(np.linalg.norm(a - b))


def _gallery(database, encoder: FaceEncoder) -> tuple[list[str], np.ndarray]:
    """``(row_names, encodings)`` of a database, checking its encodings come from ``encoder``."""
    if isinstance(database, FaceDatabase):
        database.check_encoder(encoder)
    return gallery_rows(database)


def _distances(encoding: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.linalg.norm(gallery - encoding.reshape(1, -1), axis=1)


def verify(image, identity: str, database, encoder: FaceEncoder, threshold=None, **options):
    """Check whether the person in ``image`` is ``identity`` (1:1 verification).

    Args:
        image: the photo (path, PIL image or array) of the person at the door.
        identity: the name they claim.
        database: a `FaceDatabase` or ``{name: (1, 128) encoding}``.
        encoder: from `fr_utils.load_face_model`.
        threshold: distance under which it is the same person; None means
            ``encoder.threshold``. Lower is stricter (fewer false accepts, more false rejects).
        options: keyword options of `img_to_encoding` for ``image``.

    Returns:
        ``(dist, is_same)``: the (smallest) L2 distance to ``identity``'s encodings, a float,
        and whether it is at most the threshold (as `who_is_it`, which accepts `<=`).

    Raises:
        KeyError: ``identity`` is not in the database (the message lists who is).
        NoFaceFoundError: no face in ``image``.
        ValueError: ``threshold <= 0`` or an unreadable file.
    """
    threshold = encoder.threshold if threshold is None else check_threshold(threshold)
    names, gallery = _gallery(database, encoder)
    rows = [i for i, name in enumerate(names) if name == identity]
    if not rows:
        known = ", ".join(sorted(set(names))) or "(nobody: the database is empty)"
        raise KeyError(f"Unknown identity {identity!r}; the database knows: {known}")
    encoding = img_to_encoding(image, encoder, **options)
    dist = float(_distances(encoding, gallery[rows]).min())
    return dist, is_match(dist, threshold)


def who_is_it(image, database, encoder: FaceEncoder, threshold=None, **options):
    """Find who is in ``image`` among the database's identities (1:N recognition).

    Args:
        image: the photo (path, PIL image or array).
        database: a `FaceDatabase` or ``{name: (1, 128) encoding}``.
        encoder: from `fr_utils.load_face_model`.
        threshold: as in `verify`.
        options: keyword options of `img_to_encoding` for ``image``.

    Returns:
        ``(min_dist, identity)``: the distance to the closest encoding (a float; ``inf`` for
        an empty database) and its name, or ``None`` when ``min_dist > threshold``.

    Raises:
        NoFaceFoundError: no face in ``image``.
        ValueError: ``threshold <= 0`` or an unreadable file.
    """
    threshold = encoder.threshold if threshold is None else check_threshold(threshold)
    names, gallery = _gallery(database, encoder)
    encoding = img_to_encoding(image, encoder, **options)
    if not names:
        return math.inf, None
    if isinstance(database, FaceDatabase):
        dists, found = database.search(encoding)
        min_dist, identity = float(dists[0]), found[0]
    else:
        dists = _distances(encoding, gallery)
        best = int(np.argmin(dists))
        min_dist, identity = float(dists[best]), names[best]
    return min_dist, (identity if is_match(min_dist, threshold) else None)
