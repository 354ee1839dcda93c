"""Face verification ("is this person who they claim to be?") and recognition ("who is this?").

The course's pipeline, one function each:

1. `align_faces`: detect faces (MTCNN), map each face's five landmarks to the encoder's
   template, cut out aligned chips.
2. `img_to_encoding`: encode the most prominent face of a photo as a unit 128-D vector.
3. `face_distance`: the L2 distance between two encodings; small means same person.
4. `verify`: compare a photo with one identity of a database (1:1).
5. `who_is_it`: find the closest identity of a database (1:N), or nobody.

A database is a `fr_utils.FaceDatabase` or, in the course's style, a plain dict
``{name: (1, 128) encoding}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fr_utils.alignment import extract_chip
from fr_utils.detection import detect_faces
from fr_utils.encoder import FaceEncoder, _checked_threshold
from fr_utils.images import ImageInput, describe, load_image

__all__ = [
    "AlignedFace",
    "NoFaceFoundError",
    "align_face",
    "align_faces",
    "face_distance",
    "img_to_encoding",
    "verify",
    "who_is_it",
]


class NoFaceFoundError(ValueError):
    """Raised when a photo contains no detectable face."""


@dataclass(frozen=True)
class AlignedFace:
    """A detected face and its aligned chip.

    Attributes:
        chip: ``(size, size, 3)`` uint8 RGB aligned chip (what the encoder sees).
        box: ``(x, y, width, height)`` of the detection in the photo's pixels.
        confidence: detector probability in [0, 1].
        landmarks: ``(5, 2)`` (x, y) in the photo: eyes, nose tip, mouth corners.
        transform: ``(2, 3)`` similarity transform from chip pixels to photo pixels.
    """

    chip: np.ndarray
    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray
    transform: np.ndarray


def align_faces(
    image: ImageInput, size: int = 150, padding: float = 0.25, max_side: int = 1024
) -> list[AlignedFace]:
    """Detect every face of a photo and return its aligned chip, largest face first.

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array (see `fr_utils.images.load_image`).
        size: chip side in pixels (``encoder.input_size``).
        padding: template padding (``encoder.padding``; 0.25 for dlib's encoder).
        max_side: photos larger than this are downscaled for detection only.

    Returns:
        One `AlignedFace` per detected face (empty if there is none).

    Raises:
        ValueError: unreadable file (the message names it).
    """
    photo = load_image(image)
    aligned = []
    for face in detect_faces(photo, max_side=max_side):
        chip, transform = extract_chip(photo, face.landmarks, size, padding)
        aligned.append(AlignedFace(chip, face.box, face.confidence, face.landmarks, transform))
    return aligned


def align_face(image: ImageInput, size: int = 150, padding: float = 0.25) -> AlignedFace:
    """Return the largest face of a photo, aligned (see `align_faces`).

    Raises:
        NoFaceFoundError: the detector finds no face (the message names the image).
    """
    faces = align_faces(image, size, padding)
    if not faces:
        raise NoFaceFoundError(
            f"No face found in {describe(image)}. Use a photo where the face is visible,"
            " frontal-ish and at least ~40 pixels wide."
        )
    return faces[0]


def img_to_encoding(image: ImageInput, encoder: FaceEncoder, aligned: bool = False) -> np.ndarray:
    """Encode the most prominent (largest) face of a photo.

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array of a photo.
        encoder: from `fr_utils.load_face_model`.
        aligned: the image already is an aligned chip: skip detection and only resize it
            to ``encoder.input_size`` (for chips from `align_faces`).

    Returns:
        ``(1, 128)`` float32, unit L2 norm.

    Raises:
        NoFaceFoundError: no face in the photo.
        ValueError: unreadable file (named in the message).
    """
    if aligned:
        chip = load_image(image)
        if chip.shape[:2] != (encoder.input_size, encoder.input_size):
            from PIL import Image

            side = encoder.input_size
            chip = np.asarray(Image.fromarray(chip).resize((side, side), Image.Resampling.BILINEAR))
    else:
        chip = align_face(image, encoder.input_size, encoder.padding).chip
    return encoder.encode(chip[None])


def face_distance(image_a: ImageInput, image_b: ImageInput, encoder: FaceEncoder) -> float:
    """Return the L2 distance between the encodings of two photos' largest faces.

    Below ``encoder.threshold`` the two faces are probably the same person. A distance is
    not a probability: it ranges over [0, 2] for unit encodings.
    """
    a = img_to_encoding(image_a, encoder)
    b = img_to_encoding(image_b, encoder)
    return float(np.linalg.norm(a - b))


def _gallery(database, encoder: FaceEncoder) -> tuple[list[str], np.ndarray]:
    """Return ``(row_names, encodings)`` of a FaceDatabase or a ``{name: encoding}`` dict."""
    from fr_utils.database import FaceDatabase

    if isinstance(database, FaceDatabase):
        database._check_encoder(encoder)
        return database.row_names(), database.encodings
    if isinstance(database, dict):
        names, rows = [], []
        for name, value in database.items():
            value = np.asarray(value, dtype=np.float32).reshape(-1, 128)
            names += [str(name)] * len(value)
            rows.append(value)
        encodings = np.concatenate(rows) if rows else np.zeros((0, 128), np.float32)
        return names, encodings
    raise TypeError(
        f"database must be a FaceDatabase or a dict {{name: (1, 128) encoding}},"
        f" got {type(database).__name__}"
    )


def _distances(encoding: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    return np.linalg.norm(gallery - encoding.reshape(1, -1), axis=1)


def verify(image, identity: str, database, encoder: FaceEncoder, threshold=None):
    """Check whether the person in ``image`` is ``identity`` (1:1 verification).

    Args:
        image: the photo (path, PIL image or array) of the person at the door.
        identity: the name they claim.
        database: a `FaceDatabase` or ``{name: (1, 128) encoding}``.
        encoder: from `fr_utils.load_face_model`.
        threshold: distance under which it is the same person; None means
            ``encoder.threshold``. Lower is stricter (fewer false accepts, more false rejects).

    Returns:
        ``(dist, is_same)``: the (smallest) L2 distance to ``identity``'s encodings, a float,
        and whether it is at most the threshold (as `who_is_it`, which accepts `<=`).

    Raises:
        KeyError: ``identity`` is not in the database (the message lists who is).
        NoFaceFoundError: no face in ``image``.
        ValueError: ``threshold <= 0`` or an unreadable file.
    """
    threshold = encoder.threshold if threshold is None else _checked_threshold(threshold)
    names, gallery = _gallery(database, encoder)
    rows = [i for i, name in enumerate(names) if name == identity]
    if not rows:
        known = ", ".join(sorted(set(names))) or "(nobody: the database is empty)"
        raise KeyError(f"Unknown identity {identity!r}; the database knows: {known}")
    encoding = img_to_encoding(image, encoder)
    dist = float(_distances(encoding, gallery[rows]).min())
    return dist, bool(dist <= threshold)


def who_is_it(image, database, encoder: FaceEncoder, threshold=None):
    """Find who is in ``image`` among the database's identities (1:N recognition).

    Args:
        image: the photo (path, PIL image or array).
        database: a `FaceDatabase` or ``{name: (1, 128) encoding}``.
        encoder: from `fr_utils.load_face_model`.
        threshold: as in `verify`.

    Returns:
        ``(min_dist, identity)``: the distance to the closest encoding (a float; ``inf`` for
        an empty database) and its name, or ``None`` when ``min_dist > threshold``.

    Raises:
        NoFaceFoundError: no face in ``image``.
        ValueError: ``threshold <= 0`` or an unreadable file.
    """
    threshold = encoder.threshold if threshold is None else _checked_threshold(threshold)
    names, gallery = _gallery(database, encoder)
    encoding = img_to_encoding(image, encoder)
    if not names:
        return math.inf, None
    from fr_utils.database import FaceDatabase

    if isinstance(database, FaceDatabase):
        dists, found = database.search(encoding)
        min_dist, identity = float(dists[0]), found[0]
    else:
        dists = _distances(encoding, gallery)
        best = int(np.argmin(dists))
        min_dist, identity = float(dists[best]), names[best]
    return min_dist, (identity if min_dist <= threshold else None)
