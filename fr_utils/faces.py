"""A photo's faces: detect them, align each one, and say which face the photo is about.

This is the first step of every entry point of `fr_utils` (`fr_utils.img_to_encoding`,
`FaceDatabase.enroll`, the command line, the LFW evaluation):

1. `fr_utils.detection.detect_faces` finds boxes and five landmarks (MTCNN);
2. `fr_utils.alignment.extract_chip` maps each face's landmarks onto the encoder's template
   and cuts out a square chip;
3. `align_face` picks the face the photo means; `align_faces` returns all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fr_utils.alignment import extract_chip
from fr_utils.detection import detect_faces
from workbook.images import ImageInput, describe, load_image

__all__ = ["AlignedFace", "NoFaceFoundError", "align_face", "align_faces"]


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
        image: a path, PIL image or ``HxWx3`` uint8 array (see `workbook.images.load_image`).
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
