"""Facial landmarks grouped by part, as ``face_recognition.face_landmarks`` returns them.

dlib's 68-point shape predictor (`fr_utils.models.shape_predictor`) places 68 points on a
face: the jaw line, the eyebrows, the nose, the eyes and the lips (the iBUG 300-W layout).
`face_landmarks` finds a photo's faces with our MTCNN detector, turns each MTCNN box into
the box the predictor was trained on (`fr_utils.models.box_mapping`), runs the predictor
and groups the points by part, with the keys and the index grouping of the
``face_recognition`` package, so code written for it works unchanged::

    for face in fr_utils.face_landmarks("group.jpg"):
        chin = face["chin"]             # 17 (x, y) points, left ear to right ear
        top_lip = face["top_lip"]       # 12 points: outer contour, then inner

The two lips share points: ``top_lip`` is the outer contour from the left mouth corner to
the right one (points 48-54) followed by the inner contour back (64, 63, 62, 61, 60);
``bottom_lip`` is the outer contour on from the right corner (54-59), the left corner (48),
then the inner contour (60, 67, 66, 65, 64). Each is a closed outline you can fill.

"Left" and "right" are as seen in the image (``left_eye`` is the eye on the image's left,
the subject's right eye), as in ``face_recognition`` and dlib.
"""

from __future__ import annotations

import numpy as np

from fr_utils.detection import detect_faces
from fr_utils.faces import SUBJECT_MIN_CONFIDENCE, _by_prominence
from workbook.images import ImageInput, load_image

__all__ = ["LANDMARK_MODELS", "PART_INDICES", "face_landmarks", "group_landmarks"]

#: ``model`` names, as in ``face_recognition``: the 68-point or the 5-point predictor.
LANDMARK_MODELS = {"large": 68, "small": 5}

#: Point indices of each part, per model (``face_recognition``'s grouping).
PART_INDICES = {
    "large": {
        "chin": list(range(0, 17)),
        "left_eyebrow": list(range(17, 22)),
        "right_eyebrow": list(range(22, 27)),
        "nose_bridge": list(range(27, 31)),
        "nose_tip": list(range(31, 36)),
        "left_eye": list(range(36, 42)),
        "right_eye": list(range(42, 48)),
        "top_lip": list(range(48, 55)) + [64, 63, 62, 61, 60],
        "bottom_lip": list(range(54, 60)) + [48, 60, 67, 66, 65, 64],
    },
    # dlib's 5-point predictor: two corners of each eye, then the base of the nose.
    "small": {"nose_tip": [4], "left_eye": [2, 3], "right_eye": [0, 1]},
}


def _check_model(model: str) -> int:
    if model not in LANDMARK_MODELS:
        raise ValueError(f"model must be 'large' (68 points) or 'small' (5 points), got {model!r}")
    return LANDMARK_MODELS[model]


def group_landmarks(points, model: str = "large") -> dict[str, list[tuple[int, int]]]:
    """Group one face's predictor points by part, rounded to whole pixels as dlib does.

    Args:
        points: ``(68, 2)`` (or ``(5, 2)`` for ``model="small"``) (x, y) pixel positions.
        model: ``"large"`` or ``"small"``, see `LANDMARK_MODELS`.

    Returns:
        ``{part: [(x, y), ...]}`` with Python ints (``floor(p + 0.5)``, dlib's rounding).
    """
    count = _check_model(model)
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (count, 2):
        raise ValueError(f"model {model!r} needs ({count}, 2) points, got shape {points.shape}")
    from fr_utils.models.shape_predictor import dlib_rounded

    pixels = dlib_rounded(points).astype(int).tolist()
    return {
        part: [tuple(pixels[i]) for i in indices] for part, indices in PART_INDICES[model].items()
    }


def _css_boxes(face_locations) -> np.ndarray:
    """face_recognition's ``(top, right, bottom, left)`` boxes as ``(left, top, right, bottom)``."""
    try:
        boxes = np.asarray(face_locations, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "face_locations must be a list of (top, right, bottom, left) tuples of numbers,"
            f" as face_recognition.face_locations returns ({error})"
        ) from None
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            "face_locations must be a list of (top, right, bottom, left) tuples,"
            f" got an array of shape {boxes.shape}"
        )
    return boxes[:, [3, 0, 1, 2]]


def _detected_boxes(faces) -> np.ndarray:
    """dlib-style boxes of our detections (objects with ``box`` and ``landmarks``)."""
    from fr_utils.models.box_mapping import dlib_box_from_mtcnn

    faces = list(faces)
    if not faces:
        return np.zeros((0, 4))
    for face in faces:
        if not (hasattr(face, "box") and hasattr(face, "landmarks")):
            raise TypeError(
                "faces must be DetectedFace or AlignedFace objects (from fr_utils.detect_faces"
                f" or fr_utils.align_faces), got {type(face).__name__}"
            )
    return dlib_box_from_mtcnn([f.box for f in faces], [f.landmarks for f in faces])


def face_landmarks(
    image: ImageInput,
    face_locations=None,
    model: str = "large",
    *,
    faces=None,
    max_side: int = 1024,
    min_confidence: float = SUBJECT_MIN_CONFIDENCE,
) -> list[dict[str, list[tuple[int, int]]]]:
    """The landmarks of each face of a photo, grouped by part (``face_recognition``'s API).

    Without ``face_locations`` or ``faces``, the photo's faces are detected with MTCNN and
    kept when at least ``min_confidence`` confident (the floor of the subject rule, so a
    "face" on a suit is left out); they come most prominent first, so element 0 is the
    face `fr_utils.align_face` would choose. Each MTCNN box is mapped onto the box dlib's
    predictors were trained on before the predictor runs.

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array (see `workbook.images.load_image`).
        face_locations: optional ``[(top, right, bottom, left), ...]`` boxes in dlib's
            convention, as ``face_recognition.face_locations`` returns them (used as given).
        model: ``"large"`` (68 points: chin, left_eyebrow, right_eyebrow, nose_bridge,
            nose_tip, left_eye, right_eye, top_lip, bottom_lip) or ``"small"`` (5 points:
            nose_tip, left_eye, right_eye).
        faces: optional detections of this photo (`fr_utils.DetectedFace` or
            `fr_utils.AlignedFace`) to use instead of detecting again; their MTCNN boxes are
            mapped as above. Not together with ``face_locations``.
        max_side: photos larger than this are downscaled for detection only.
        min_confidence: detections below this MTCNN confidence are left out.

    Returns:
        One dict per face, in the order above (empty when there is no face): part name ->
        list of ``(x, y)`` int pixel positions (``top_lip`` and ``bottom_lip`` have 12 points
        each, see the module docstring). For unrounded points use
        `fr_utils.models.shape_predictor.load_shape_predictor` directly.

    Raises:
        ValueError: unreadable image, unknown model, malformed or empty boxes.
        TypeError: ``face_locations`` or ``faces`` of the wrong kind, or both given.
    """
    from fr_utils.models.shape_predictor import load_shape_predictor

    count = _check_model(model)
    if face_locations is not None and faces is not None:
        raise TypeError("Pass face_locations (dlib-style boxes) or faces (detections), not both")
    photo = load_image(image)
    if face_locations is not None:
        boxes = _css_boxes(face_locations)
    elif faces is not None:
        boxes = _detected_boxes(faces)
    else:
        found = [
            f for f in detect_faces(photo, max_side=max_side) if f.confidence >= min_confidence
        ]
        boxes = _detected_boxes(face for _, face in _by_prominence(found, photo.shape))
    points = load_shape_predictor(count).predict_many(photo, boxes)
    return [group_landmarks(face_points, model) for face_points in points]
