"""A photo's faces: detect them, align each one, and say which face the photo is about.

This is the first step of every entry point of `fr_utils` (`fr_utils.img_to_encoding`,
`FaceDatabase.enroll`, the command line, `fr_utils.lfw.gallery`, the LFW evaluation):

1. `fr_utils.detection.detect_faces` finds boxes, five landmarks and a confidence (MTCNN);
2. an *alignment* cuts a square chip of each face that the encoder can read (`ALIGNMENTS`):
   ``"dlib"`` reproduces dlib's own chip (``get_face_chip``) from the five points of dlib's
   5-point shape predictor, run on the MTCNN box mapped to dlib's box convention, so the
   encodings are interchangeable with ``face_recognition``'s; ``"mtcnn"`` maps MTCNN's five
   landmarks straight onto the encoder's template (`fr_utils.alignment.extract_chip`);
3. `align_face` returns the face the photo is about, the *subject*; `align_faces` returns
   all of them, most prominent first.

The subject rule (one rule, used everywhere)
--------------------------------------------
A photo's subject is its most *prominent confident* face:

* **confident**: MTCNN's confidence is at least `SUBJECT_MIN_CONFIDENCE` (0.9). MTCNN
  reports windows down to 0.8, and between 0.8 and 0.9 there are false faces (a ball, a
  light, a crumpled suit: it finds a "face" at 0.817 on the suit of Obama's 2012 official
  portrait) as well as real faces it is unsure of (turned, blurred, unevenly lit). In the
  study below, 3,727 of 3,728 labelled subjects are above 0.9 (the weakest at 0.909; the
  other at 0.79, below even MTCNN's own threshold), and a lower floor lets a weak
  non-subject win over a confident subject in one or two more photos;
* **weak, as a last resort**: a photo with no confident face at all is usually about its
  best weak face (LFW view 2 has 9 such photos of 6,964, all real faces at 0.82-0.89; of
  the 1,487 LFW photos in neither the evaluation nor the study, 1, a real face at 0.893).
  So when no face reaches 0.9, the most prominent face at `WEAK_MIN_CONFIDENCE` (0.8) or
  more is the subject and ``weak="warn"`` (the default) warns with `WeakFaceWarning`;
  ``weak="raise"`` raises `NoFaceFoundError` instead, ``"ignore"`` uses it silently. A
  weak face never wins over a confident one (the suit of Obama's portrait never does);
* **prominent**: the largest ``prominence = size * exp(-(offset / POSITION_SIGMA)**2 / 2)``,
  where ``size`` is the square root of the box area and ``offset`` the distance from the
  box centre to the photo centre, in half-diagonals (0 at the centre, 1 in a corner). With
  `POSITION_SIGMA` = 0.75 a face in a corner counts 0.41 times its size, one half-way
  out 0.80 times: size decides, position breaks near-ties (a photographer frames the
  person the photo is about; people behind them are smaller, off to a side). Confidence
  only gates: weighting the score by it made more mistakes in the study, not fewer;
* **ambiguous** when the runner-up's prominence is at least `AMBIGUITY_RATIO` (0.8) of the
  subject's: two people of about the same size near the middle. Then ``ambiguous="warn"``
  (the default) warns with `AmbiguousFaceWarning` and uses the more prominent face,
  ``"raise"`` raises `AmbiguousFaceError` (a ValueError carrying the competing faces), and
  ``"ignore"`` uses the more prominent face silently. Crop the photo, or choose yourself
  among `align_faces`, to decide.

The constants were measured by ``python -m fr_utils.lfw.face_rule`` on the 3,766 LFW
photos that are in none of the evaluation's pairs (report: ``fr_utils/lfw/FACE_RULE.md``):
of the 451 clear photos with two or more confident faces, "largest face" picks the
labelled person in 441, "most confident" in 326, and the prominence rule in all 451 for
every ``sigma`` up to 0.85 (0.75 keeps a margin below that edge); where "largest face"
goes wrong the runner-up is at least 0.88 of its size, and 18 of the 3,766 photos (0.5 %)
are ambiguous at 0.8 (the ones inspected show two people side by side).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from fr_utils.alignment import extract_chip
from fr_utils.detection import DetectedFace, detect_faces
from workbook.images import ImageInput, describe, load_image

__all__ = [
    "ALIGNMENTS",
    "AMBIGUITY_RATIO",
    "AMBIGUOUS_CHOICES",
    "AlignedFace",
    "AmbiguousFaceError",
    "AmbiguousFaceWarning",
    "DEFAULT_ALIGNMENT",
    "WEAK_CHOICES",
    "WEAK_MIN_CONFIDENCE",
    "WeakFaceWarning",
    "NoFaceFoundError",
    "POSITION_SIGMA",
    "SUBJECT_MIN_CONFIDENCE",
    "align_face",
    "align_detected",
    "align_faces",
    "check_alignment",
    "dlib_points",
    "encode_faces",
    "mirror_for",
    "prominence",
    "select_subject",
]

#: How a face's chip is cut:
#:
#: * ``"dlib"``: dlib's own chip. The MTCNN detection's box is mapped to the box dlib's shape
#:   predictors were trained on (`fr_utils.models.box_mapping`), dlib's 5-point predictor
#:   finds the two corners of each eye and the base of the nose in it
#:   (`fr_utils.models.shape_predictor`, rounded to whole pixels as dlib rounds them), and
#:   dlib's ``get_face_chip`` cuts the chip (`fr_utils.models.dlib_chip`, exact). The chip
#:   ``face_recognition`` encodes, up to how close the predictor's points come to dlib's own
#:   on dlib's (HOG) box; encodings sit about 0.03 from dlib's descriptors (unit length).
#: * ``"mtcnn"``: MTCNN's own five landmarks (eye centres, nose tip, mouth corners) mapped
#:   onto dlib's mean face (`fr_utils.alignment.extract_chip`): no shape predictor, and a
#:   chip a little zoomed out compared with dlib's (encodings 0.08-0.14 from dlib's).
ALIGNMENTS = ("mtcnn", "dlib")
#: The alignment every entry point uses unless told otherwise: the one that scores higher on
#: LFW view 2 (cross-validated, ``python -m fr_utils.lfw.evaluate``, fr_utils/lfw/LFW_EVAL.md).
DEFAULT_ALIGNMENT = "mtcnn"
#: Faces below this MTCNN confidence are never a photo's subject (see the module docstring).
SUBJECT_MIN_CONFIDENCE = 0.9
#: With no face at `SUBJECT_MIN_CONFIDENCE`, the best face at this confidence or more is the
#: subject, with a `WeakFaceWarning` (MTCNN's own floor: it reports nothing weaker).
WEAK_MIN_CONFIDENCE = 0.8
#: What `select_subject` may do when the subject is a weak face.
WEAK_CHOICES = ("warn", "raise", "ignore")
#: Width of the position weight of `prominence`, in half-diagonals of the photo.
POSITION_SIGMA = 0.75
#: A runner-up at least this fraction of the subject's prominence makes the photo ambiguous.
AMBIGUITY_RATIO = 0.8
#: What `select_subject` may do with an ambiguous photo.
AMBIGUOUS_CHOICES = ("warn", "raise", "ignore")


class NoFaceFoundError(ValueError):
    """Raised when a photo contains no detectable (confident) face."""


class AmbiguousFaceWarning(UserWarning):
    """A photo shows two or more faces of comparable prominence; the most prominent was used."""


class WeakFaceWarning(UserWarning):
    """A photo has no confident face; its most prominent weak face (0.8-0.9) was used."""


class AmbiguousFaceError(ValueError):
    """A photo shows two or more faces of comparable prominence and ``ambiguous="raise"``.

    Attributes:
        faces: the comparable faces (`DetectedFace` or `AlignedFace`), most prominent first.
    """

    def __init__(self, message: str, faces: list):
        super().__init__(message)
        self.faces = faces


@dataclass(frozen=True)
class AlignedFace:
    """A detected face and its aligned chip.

    Attributes:
        chip: ``(size, size, 3)`` uint8 RGB aligned chip (what the encoder sees).
        box: ``(x, y, width, height)`` of the detection in the photo's pixels.
        confidence: detector probability in [0, 1].
        landmarks: ``(5, 2)`` (x, y) in the photo: MTCNN's eye centres, nose tip and mouth
            corners (whatever the alignment).
        transform: ``(2, 3)`` similarity transform from chip pixels to photo pixels.
        prominence: the face's `prominence` in its photo (NaN when unknown).
        alignment: how the chip was cut (one of `ALIGNMENTS`).
        chip_points: the points the chip was aligned on, ``(5, 2)`` (x, y) in the photo: for
            ``"dlib"`` the 5-point shape predictor's (outer and inner corner of the eye on
            the image's right, the same on the left, base of the nose; whole pixels, as
            dlib's), for ``"mtcnn"`` the MTCNN ``landmarks``.
    """

    chip: np.ndarray
    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray
    transform: np.ndarray
    prominence: float = field(default=math.nan)
    alignment: str = "mtcnn"
    chip_points: np.ndarray | None = None


def check_alignment(alignment: str) -> str:
    """Return ``alignment`` if it is one of `ALIGNMENTS`, else raise a ValueError naming them."""
    if not isinstance(alignment, str) or alignment not in ALIGNMENTS:
        raise ValueError(
            f"Unknown alignment {alignment!r}; choose one of {', '.join(map(repr, ALIGNMENTS))}"
            f" (default {DEFAULT_ALIGNMENT!r}; see fr_utils.faces.ALIGNMENTS)"
        )
    return alignment


def mirror_for(alignment: str, encoder=None) -> bool:
    """Whether chips cut with ``alignment`` are encoded averaged with their mirror image.

    Every alignment but ``"dlib"``: its encodings must stay interchangeable with dlib's own
    descriptors, which are not mirrored (``face_recognition`` users compare the two).
    Mirroring happens only when the encoder does it (`FaceEncoder.mirror`): pass ``encoder``
    for the whole decision (None: an encoder that mirrors).
    """
    mirrors = encoder is None or encoder.mirror
    return mirrors and check_alignment(alignment) != "dlib"


def encode_faces(
    faces: list[AlignedFace], encoder, num_jitters: int = 0, jitter_seed: int = 0
) -> np.ndarray:
    """Encode aligned faces as their alignment asks: ``(n, 128)`` unit rows.

    `FaceEncoder.encode` on the chips, averaged with their mirror images when the encoder
    mirrors and the alignment allows it (`mirror_for`): the one place that decides, used by
    `fr_utils.img_to_encoding`, enrolment, the command line and the LFW evaluation.

    Args:
        faces: `AlignedFace` objects of one alignment (e.g. from `align_faces`).
        encoder: from `fr_utils.load_face_model`.
        num_jitters, jitter_seed: as in `FaceEncoder.encode`.

    Raises:
        ValueError: faces of different alignments (encode each kind on its own).
    """
    kinds = {face.alignment for face in faces}
    if len(kinds) > 1:
        raise ValueError(f"faces of different alignments {sorted(kinds)}: encode each on its own")
    if not faces:
        return np.zeros((0, 128), np.float32)
    chips = np.stack([face.chip for face in faces])
    mirror = mirror_for(kinds.pop(), encoder)
    return encoder.encode(chips, num_jitters=num_jitters, jitter_seed=jitter_seed, mirror=mirror)


def prominence(face, shape: tuple[int, ...]) -> float:
    """How much a face stands out in a photo of ``shape``: size, discounted by position.

    ``sqrt(width * height) * exp(-(offset / POSITION_SIGMA)**2 / 2)``, where ``offset`` is the
    distance from the box centre to the photo centre in half-diagonals of the photo.

    Args:
        face: anything with a ``box`` ``(x, y, width, height)`` (`DetectedFace`, `AlignedFace`).
        shape: the photo's ``(height, width, ...)``.
    """
    x, y, width, height = face.box
    rows, cols = shape[:2]
    offset = math.hypot(x + width / 2 - cols / 2, y + height / 2 - rows / 2)
    offset /= 0.5 * math.hypot(rows, cols)
    return math.sqrt(max(width, 0.0) * max(height, 0.0)) * math.exp(
        -0.5 * (offset / POSITION_SIGMA) ** 2
    )


def _by_prominence(faces: list, shape) -> list[tuple[float, object]]:
    scored = [(prominence(face, shape), face) for face in faces]
    return sorted(scored, key=lambda pair: pair[0], reverse=True)


def select_subject(
    faces: list,
    shape: tuple[int, ...],
    *,
    min_confidence: float = SUBJECT_MIN_CONFIDENCE,
    ambiguous: str = "warn",
    weak: str = "warn",
    source: str = "the photo",
):
    """Choose the face a photo is about (the module docstring explains the rule).

    Args:
        faces: the photo's detections (`DetectedFace` or `AlignedFace`), any order.
        shape: the photo's ``(height, width, ...)``.
        min_confidence: the confident faces are those at this confidence or more.
        ambiguous: ``"warn"`` (default), ``"raise"`` or ``"ignore"``: what to do when the
            runner-up is nearly as prominent (see `AMBIGUITY_RATIO`).
        weak: ``"warn"`` (default), ``"raise"`` or ``"ignore"``: what to do when no face is
            confident and the subject is a weak face (`WEAK_MIN_CONFIDENCE` or more).
        source: how messages name the photo.

    Returns:
        The subject, one of ``faces``.

    Raises:
        NoFaceFoundError: no face; or none confident and no weak one either, or
            ``weak="raise"``.
        AmbiguousFaceError: comparable faces and ``ambiguous="raise"``.
    """
    if ambiguous not in AMBIGUOUS_CHOICES:
        raise ValueError(f"ambiguous must be one of {AMBIGUOUS_CHOICES}, got {ambiguous!r}")
    if weak not in WEAK_CHOICES:
        raise ValueError(f"weak must be one of {WEAK_CHOICES}, got {weak!r}")
    if not faces:
        raise NoFaceFoundError(
            f"No face found in {source}. Use a photo where the face is visible,"
            " frontal-ish and at least ~40 pixels wide."
        )
    candidates = _by_prominence([f for f in faces if f.confidence >= min_confidence], shape)
    if not candidates:
        candidates = _weak_subject_candidates(faces, shape, min_confidence, weak, source)
    best_score, best = candidates[0]
    rivals = [face for score, face in candidates[1:] if score >= AMBIGUITY_RATIO * best_score]
    if rivals and ambiguous != "ignore":
        boxes = "; ".join(_describe_box(face) for face in [best, *rivals])
        message = (
            f"{len(rivals) + 1} faces of comparable prominence in {source} ({boxes}): the photo"
            " does not say which person it is about. Crop it to one person, or choose among"
            " fr_utils.align_faces(photo)."
        )
        if ambiguous == "raise":
            raise AmbiguousFaceError(message, [best, *rivals])
        warnings.warn(
            message + " Using the most prominent (listed first).",
            AmbiguousFaceWarning,
            stacklevel=3,
        )
    return best


def _weak_subject_candidates(faces, shape, min_confidence, weak, source):
    """The weak faces (by prominence) of a photo without a confident one, or NoFaceFoundError."""
    floor = min(WEAK_MIN_CONFIDENCE, min_confidence)
    candidates = (
        []
        if weak == "raise"
        else _by_prominence([f for f in faces if f.confidence >= floor], shape)
    )
    scores = ", ".join(f"{f.confidence:.3f}" for f in faces)
    if not candidates:
        raise NoFaceFoundError(
            f"No confident face in {source}: the detector's candidates score {scores}, below"
            f" {min_confidence}. Such a candidate may be a real face the detector is unsure of"
            " (turned, blurred, unevenly lit) or no face at all (the pattern of a suit). Use a"
            " sharper, more frontal photo, or look at the candidates of"
            " fr_utils.align_faces(photo) and encode the one you mean with"
            " img_to_encoding(face.chip, encoder, aligned=True)."
        )
    if weak == "warn":
        warnings.warn(
            f"No confident face in {source} (candidates score {scores}, below"
            f" {min_confidence}): using the most prominent, {_describe_box(candidates[0][1])}"
            f" at {candidates[0][1].confidence:.3f}. It is most likely the person, but may be"
            " a false face (the pattern of a suit): look at fr_utils.align_faces(photo), or"
            ' pass weak="raise" to refuse such photos (a door, an enrolment).',
            WeakFaceWarning,
            stacklevel=4,
        )
    return candidates


def _describe_box(face) -> str:
    x, y, width, height = face.box
    return f"{width:.0f}x{height:.0f} px at ({x:.0f}, {y:.0f})"


def dlib_points(photo: np.ndarray, face: DetectedFace) -> np.ndarray:
    """The five points of dlib's 5-point shape predictor for an MTCNN detection.

    MTCNN's box is mapped to the box dlib's predictor was trained on
    (`fr_utils.models.box_mapping.dlib_box_from_mtcnn`), the predictor runs there, and the
    points are rounded to whole pixels as dlib's ``full_object_detection`` rounds them.

    Args:
        photo: ``(H, W, 3)`` uint8 RGB photo the face was detected in.
        face: a `DetectedFace` (or `AlignedFace`) of ``photo``.

    Returns:
        ``(5, 2)`` float64 (x, y): outer and inner corner of the eye on the image's right,
        the same on its left, base of the nose (`fr_utils.models.dlib_chip.DLIB_TEMPLATE_5`).
    """
    from fr_utils.models.box_mapping import dlib_box_from_mtcnn
    from fr_utils.models.shape_predictor import dlib_rounded, load_shape_predictor

    box = dlib_box_from_mtcnn(face.box, face.landmarks)
    return dlib_rounded(load_shape_predictor(5).predict(photo, box))


def align_detected(
    photo: np.ndarray,
    face: DetectedFace,
    size: int,
    padding: float,
    alignment: str = DEFAULT_ALIGNMENT,
) -> AlignedFace:
    """Cut the chip of one detected face out of its photo with the named alignment.

    Args:
        photo: ``(H, W, 3)`` uint8 RGB photo the face was detected in.
        face: a `DetectedFace` of ``photo``.
        size, padding: chip side and template padding (``encoder.input_size``, ``.padding``).
        alignment: one of `ALIGNMENTS` (see there).

    Raises:
        ValueError: unknown alignment.
    """
    check_alignment(alignment)
    if alignment == "dlib":
        from fr_utils.models.dlib_chip import dlib_chip_transform, extract_dlib_chip

        points = dlib_points(photo, face)
        chip = extract_dlib_chip(photo, points, size, padding)
        transform = dlib_chip_transform(points, size, padding)
    else:
        points = face.landmarks
        chip, transform = extract_chip(photo, face.landmarks, size, padding)
    return AlignedFace(
        chip,
        face.box,
        face.confidence,
        face.landmarks,
        transform,
        prominence(face, photo.shape),
        alignment,
        np.asarray(points, dtype=np.float64),
    )


def align_faces(
    image: ImageInput,
    size: int = 150,
    padding: float = 0.25,
    max_side: int = 1024,
    *,
    alignment: str = DEFAULT_ALIGNMENT,
    min_confidence: float = 0.0,
) -> list[AlignedFace]:
    """Detect every face of a photo and return its aligned chip, most prominent first.

    Every detection comes back, confident or not (each carries its ``confidence`` and
    ``prominence``); pass ``min_confidence=SUBJECT_MIN_CONFIDENCE`` to keep only the
    confident faces. The first confident face is the one `align_face` returns (with none
    confident, the first weak one).

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array (see `workbook.images.load_image`).
        size: chip side in pixels (``encoder.input_size``).
        padding: template padding (``encoder.padding``; 0.25 for dlib's encoder).
        max_side: photos larger than this are downscaled for detection only.
        alignment: how each chip is cut, one of `ALIGNMENTS` (default `DEFAULT_ALIGNMENT`).
        min_confidence: drop detections below this confidence.

    Returns:
        One `AlignedFace` per detected face (empty if there is none).

    Raises:
        ValueError: unreadable file (the message names it), unknown alignment.
    """
    check_alignment(alignment)
    photo = load_image(image)
    found = [f for f in detect_faces(photo, max_side=max_side) if f.confidence >= min_confidence]
    return [
        align_detected(photo, f, size, padding, alignment)
        for _, f in _by_prominence(found, photo.shape)
    ]


def align_face(
    image: ImageInput,
    size: int = 150,
    padding: float = 0.25,
    max_side: int = 1024,
    *,
    alignment: str = DEFAULT_ALIGNMENT,
    ambiguous: str = "warn",
    weak: str = "warn",
    min_confidence: float = SUBJECT_MIN_CONFIDENCE,
) -> AlignedFace:
    """Return the photo's subject, aligned: its most prominent confident face (`select_subject`).

    Args:
        image, size, padding, max_side, alignment: as in `align_faces`.
        ambiguous: ``"warn"``, ``"raise"`` or ``"ignore"``, see `select_subject`.
        weak: ``"warn"``, ``"raise"`` or ``"ignore"``: a photo whose only faces are weak
            (0.8-0.9), see `select_subject`.
        min_confidence: confidence of a confident face (default `SUBJECT_MIN_CONFIDENCE`).

    Raises:
        NoFaceFoundError: no face (the message names the image), or only weak ones and
            ``weak="raise"``.
        WeakFaceWarning: (a warning) only weak faces and ``weak="warn"``.
        AmbiguousFaceError: comparable faces and ``ambiguous="raise"``.
        AmbiguousFaceWarning: (a warning) comparable faces and ``ambiguous="warn"``.
    """
    check_alignment(alignment)
    photo = load_image(image)
    subject = select_subject(
        detect_faces(photo, max_side=max_side),
        photo.shape,
        min_confidence=min_confidence,
        ambiguous=ambiguous,
        weak=weak,
        source=describe(image),
    )
    return align_detected(photo, subject, size, padding, alignment)
