"""Face detection with five landmarks (MTCNN, from the ``mtcnn`` package; weights ship in it).

MTCNN (Zhang et al., 2016) runs three small networks over an image pyramid: P-Net
proposes windows, R-Net rejects most of them, O-Net refines the boxes, predicts five
landmarks (eye centres, nose tip, mouth corners) and a face probability, the
*confidence*. Very large photos are downscaled to at most ``max_side`` pixels for
detection (a face that fills a 4000-pixel photo is found just as well at 1024, at a
fraction of the cost); boxes and landmarks are mapped back to the original pixels so the
chip is cut from the full-resolution photo.

Landmarks are kept with their sub-pixel precision (the ``mtcnn`` package's default
dictionaries round them to whole pixels, up to half a pixel of noise on an eye that sits
~40 pixels from the other). Which of the detected faces a photo is *about* is decided
by `fr_utils.faces`, not here: this module reports every face it finds.

The three networks' weights are joblib pickles inside the ``mtcnn`` package. `mtcnn` itself
would look for ``pnet.lz4`` etc. in the *working directory* first and unpickle whatever it
finds there (running its code); `get_detector` never lets it: it reads each file by absolute
path from the installed package, checks its SHA-256 against ``weights/manifest.toml``
(``mtcnn_pnet``, ``mtcnn_rnet``, ``mtcnn_onet``) and only then unpickles those verified bytes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = [
    "DETECTOR_MIN_CONFIDENCE",
    "DetectedFace",
    "detect_faces",
    "detect_faces_batch",
    "get_detector",
]

#: O-Net's own acceptance threshold (the ``mtcnn`` package's default): weaker windows are
#: not reported at all. Which reported faces count as confident is `fr_utils.faces`' call.
DETECTOR_MIN_CONFIDENCE = 0.8

_lock = threading.Lock()
_detector = None


@dataclass(frozen=True)
class DetectedFace:
    """One detected face.

    Attributes:
        box: ``(x, y, width, height)`` in pixels of the photo (x right, y down).
        confidence: O-Net's face probability in [0, 1].
        landmarks: ``(5, 2)`` float64 (x, y): left eye, right eye, nose tip, left and right
            mouth corner (left/right as seen in the image).
    """

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return self.box[2] * self.box[3]

    @property
    def centre(self) -> np.ndarray:
        """``(x, y)`` of the box centre in pixels."""
        x, y, width, height = self.box
        return np.array([x + width / 2, y + height / 2])


def get_detector():
    """Return this process's MTCNN detector, built on first use (about a second).

    Raises:
        workbook.WeightsUnavailableError: ``mtcnn`` is not installed, or one of its weight
            files does not have the SHA-256 of ``weights/manifest.toml``.
    """
    global _detector
    with _lock:
        if _detector is None:
            _detector = _build_detector()
        return _detector


def _verified_weights(network: str) -> list[np.ndarray]:
    """The weight arrays of MTCNN's ``network`` ("pnet", "rnet", "onet"), verified first.

    The file is read once, by the absolute path `workbook.weights_path` gives inside the
    installed ``mtcnn`` package; its bytes are hashed and only those bytes are unpickled (by
    joblib, the format mtcnn ships), so nothing else on disk is ever unpickled.
    """
    import hashlib
    import io

    import joblib

    from workbook.resources import WeightsUnavailableError, weights_entry, weights_path

    name = f"mtcnn_{network}"
    path = weights_path(name).resolve()
    data = path.read_bytes()  # what is unpickled below is exactly what is hashed here
    if hashlib.sha256(data).hexdigest() != weights_entry(name)["sha256"]:
        raise WeightsUnavailableError(
            f"Checksum mismatch for {name} at {path}: the file is corrupt or a different"
            " version. Reinstall it: pip install --force-reinstall mtcnn"
        )
    arrays = joblib.load(io.BytesIO(data))
    if not isinstance(arrays, list) or not all(isinstance(a, np.ndarray) for a in arrays):
        raise WeightsUnavailableError(f"{path} does not hold a list of weight arrays")
    return arrays


def _build_detector():
    """mtcnn's `MTCNN`, its three stages given networks built from `_verified_weights`."""
    # deferred: importing mtcnn loads TensorFlow
    from mtcnn import MTCNN
    from mtcnn.network.onet import ONet
    from mtcnn.network.pnet import PNet
    from mtcnn.network.rnet import RNet
    from mtcnn.stages import StageONet, StagePNet, StageRNet
    from mtcnn.stages.base import StageBase

    stages = []
    kinds = ((StagePNet, PNet, "pnet"), (StageRNet, RNet, "rnet"), (StageONet, ONet, "onet"))
    for stage_id, (stage_class, network_class, network) in enumerate(kinds, start=1):
        model = network_class()
        model.build()
        model.set_weights(_verified_weights(network))
        # The stage's own __init__ would load its weights by file name (cwd first): skip it
        # and give the stage the model, as that __init__ does once it has loaded it.
        stage = stage_class.__new__(stage_class)
        StageBase.__init__(
            stage, stage_name=f"Stage {network.upper()}", stage_id=stage_id, model=model
        )
        stages.append(stage)
    return MTCNN(stages=stages)


def _check_rgb(shape, dtype) -> None:
    if len(shape) != 3 or shape[2] != 3 or dtype != np.uint8:
        raise ValueError(f"Need (H, W, 3) uint8 RGB images, got {shape} {dtype}")
    if 0 in shape:
        raise ValueError(f"The image is empty (shape {shape}); need at least 1x1 pixels")


def _run(images, min_face_size: int, min_confidence: float) -> np.ndarray:
    """MTCNN's raw rows ``[image, x1, y1, x2, y2, confidence, 5 x, 5 y]`` for a list of photos."""
    rows = get_detector().detect_faces(
        images,
        min_face_size=min_face_size,
        threshold_onet=min_confidence,
        output_type="numpy",
        box_format="xyxy",
    )
    return np.asarray(rows, dtype=np.float64).reshape(-1, 16)


def detect_faces(
    image: np.ndarray,
    max_side: int = 1024,
    min_face_size: int = 20,
    min_confidence: float = DETECTOR_MIN_CONFIDENCE,
) -> list[DetectedFace]:
    """Find every face in a photo, largest first.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        max_side: photos whose longer side exceeds this are downscaled for detection
            (faster; faces smaller than ``min_face_size * longer_side / max_side`` are missed).
        min_face_size: smallest face MTCNN looks for, in pixels of the detection image.
        min_confidence: O-Net's threshold; lower it only to study weak detections (a face
            above it is found the same whatever this value: weaker windows never suppress
            stronger ones).

    Returns:
        The faces sorted by box area, largest first (an empty list when there is none).
    """
    image = np.asarray(image)
    _check_rgb(image.shape, image.dtype)
    height, width = image.shape[:2]
    ratio = max(height, width) / max_side
    small = image
    if ratio > 1:
        size = (max(1, round(width / ratio)), max(1, round(height / ratio)))
        small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))
    ratio_x, ratio_y = width / small.shape[1], height / small.shape[0]
    if min(small.shape[:2]) < 12:  # smaller than P-Net's window: nothing to find
        return []
    rows = _run([small], min_face_size, min_confidence)
    return _faces(rows, ratio_x, ratio_y)


def detect_faces_batch(
    images, min_face_size: int = 20, min_confidence: float = DETECTOR_MIN_CONFIDENCE
) -> list[list[DetectedFace]]:
    """Find the faces of several photos of the same size in one pass per MTCNN stage.

    Batching costs a third to a fifth of the CPU of `detect_faces` photo by photo (LFW's
    photos are all 250x250), but its results are not bit-identical: about one face in
    twenty comes out a pixel or two different (TensorFlow sums in another order and a
    non-maximum suppression can tip). Use it for bulk work, `detect_faces` when a result
    must be exactly what the public API gives. No downscaling: pass photos of a moderate size.

    Args:
        images: ``(H, W, 3)`` uint8 RGB photos, all of the same shape.
        min_face_size: smallest face MTCNN looks for, in pixels.
        min_confidence: O-Net's threshold, as in `detect_faces`.

    Returns:
        One list per photo, as `detect_faces` returns it (largest face first).
    """
    images = [np.asarray(image) for image in images]
    if not images:
        return []
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f"detect_faces_batch needs photos of one size; got {sorted(shapes)}")
    shape = shapes.pop()
    _check_rgb(shape, images[0].dtype)
    if min(shape[:2]) < 12:  # smaller than P-Net's window: nothing to find
        return [[] for _ in images]
    rows = _run(images, min_face_size, min_confidence)
    return [_faces(rows[rows[:, 0] == i], 1.0, 1.0) for i in range(len(images))]


def _faces(rows: np.ndarray, ratio_x: float, ratio_y: float) -> list[DetectedFace]:
    """MTCNN's rows as `DetectedFace` objects in the photo's pixels, largest first.

    ``ratio_x``/``ratio_y`` map the detection image's pixels back to the photo's (pixel
    centres at half-integer positions stay aligned).
    """
    faces = []
    for row in rows:
        x1, y1, x2, y2, confidence = row[1:6]
        points = np.stack([row[6:11], row[11:16]], axis=1)
        points = (points + 0.5) * (ratio_x, ratio_y) - 0.5
        box = (
            (x1 + 0.5) * ratio_x - 0.5,
            (y1 + 0.5) * ratio_y - 0.5,
            (x2 - x1) * ratio_x,
            (y2 - y1) * ratio_y,
        )
        faces.append(DetectedFace(tuple(float(v) for v in box), float(confidence), points))
    return sorted(faces, key=lambda face: face.area, reverse=True)
