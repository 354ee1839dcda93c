"""`FaceEncoder`: a pretrained network that maps aligned face chips to unit 128-D encodings.

`load_face_model` returns one per process and model name (loading takes a few seconds
the first time, then it is cached). Two encoders exist:

* ``"dlib_resnet_v1"`` (default, offline): dlib's ResNet, 150x150 chips, 99.4% on LFW.
* ``"openface_nn4_small2_v1"``: the course's FRmodel (OpenFace nn4.small2), 96x96 chips;
  its weights are downloaded on demand (see `fr_utils.models.openface`).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

import numpy as np

from fr_utils.metrics import check_threshold

__all__ = ["DLIB_THRESHOLD", "FaceEncoder", "load_face_model", "MODEL_NAMES"]

# L2 distance threshold between *unit-norm* dlib encodings that separates "same person"
# from "different people", re-derived with `fr_utils.metrics.best_threshold` by
# `python -m fr_utils.lfw.evaluate` (fr_utils/lfw/LFW_EVAL.md, LFW_EVAL.json): the public API
# itself (`img_to_encoding`: MTCNN, the subject rule of `fr_utils.faces`, alignment "mtcnn",
# encodings averaged with the chip's mirror image, no jitter) on the 5,400 view-2 pairs of
# the course data. The accuracy-maximising threshold over all pairs is 0.4188 (99.30%, the
# same at 0.419); the nine leave-one-fold-out thresholds are all 0.4188 (cross-validated
# accuracy 99.30% +- 0.29%). It was 0.434 for plain (unmirrored) encodings: averaged ones sit
# closer together, so the threshold follows the kind of encoding (`FaceEncoder.mirror`).
# Encodings averaged over jitters (`num_jitters`) sit closer still: their own best threshold
# on the same pairs is 0.415, and alignment "dlib" (not mirrored) is best at a higher one
# (see LFW_EVAL.md), so this one is a little tight or loose for them.
DLIB_THRESHOLD = 0.419

MODEL_NAMES = ("dlib_resnet_v1", "openface_nn4_small2_v1")

_lock = threading.Lock()
_loaded: dict[str, FaceEncoder] = {}


@dataclass(frozen=True)
class FaceEncoder:
    """A face encoder: aligned chips in, unit-length 128-D encodings out.

    An encoder is immutable: `load_face_model` hands the same one to every caller, so a
    notebook that wants a stricter door asks for its own copy with `with_threshold`
    instead of changing the threshold for everybody.

    Attributes:
        model: the `keras.Model`, ``(n, input_size, input_size, 3)`` RGB in [0, 255] ->
            ``(n, 128)`` unit vectors.
        name: model name (one of `MODEL_NAMES`).
        input_size: chip side in pixels.
        padding: alignment template padding the network was trained with (see
            `fr_utils.alignment.chip_landmarks`).
        threshold: L2 distance under which two encodings are called the same person.
        mirror: whether `encode` averages each chip with its mirror image unless told
            otherwise (True for dlib's ResNet: `DLIB_THRESHOLD` was derived for such
            encodings).
    """

    model: object
    name: str
    input_size: int
    padding: float
    threshold: float
    mirror: bool = False
    _predict: object = field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "threshold", check_threshold(self.threshold))

    def with_threshold(self, threshold: float) -> FaceEncoder:
        """Return a copy of this encoder that decides "same person" at ``threshold``.

        The copy shares the network (no second load); only the decision threshold differs.

        Raises:
            ValueError: not a finite positive distance (see `fr_utils.metrics.check_threshold`).
        """
        return dataclasses.replace(self, threshold=threshold)

    def encode(
        self,
        chips,
        batch_size: int = 32,
        num_jitters: int = 0,
        jitter_seed: int = 0,
        mirror: bool | None = None,
    ) -> np.ndarray:
        """Encode aligned face chips.

        With ``mirror`` (the default for dlib's ResNet, ``self.mirror``), a chip's encoding
        is the mean of the encodings of the chip and of its mirror image (left and right
        swapped), renormalised to unit length. A face and its mirror image are the same
        person, and the network reads them a little differently (a shadow on one cheek, a
        landmark a pixel off on one side), so the mean is steadier than either: on LFW
        view 2 it makes fewer mistakes than the chip alone (fr_utils/lfw/LFW_EVAL.md), at
        twice the compute. The threshold of an encoder is derived for its default kind of
        encoding: compare encodings made the same way.

        With ``num_jitters`` of 2 or more, each chip's encoding is the mean of the encodings
        of ``num_jitters`` randomly moved, turned, zoomed and mirrored copies of it
        (`fr_utils.alignment.jitter_chips`, dlib's ``jitter_image``), renormalised to unit
        length: test-time augmentation, as dlib's ``compute_face_descriptor(..., num_jitters)``.
        The average is steadier than one look at the chip (a landmark a pixel off matters
        less) and costs ``num_jitters`` times the compute. As in dlib, 0 and 1 both mean
        "no jitter" (the plain encoding of the chip itself). Averaged encodings of one
        person sit closer together, and so do everybody's: on LFW the best threshold for
        10 jitters is 0.416 rather than `DLIB_THRESHOLD` (fr_utils/lfw/LFW_EVAL.md).

        Args:
            chips: ``(n, input_size, input_size, 3)`` or one ``(input_size, input_size, 3)``
                chip, uint8 or float RGB in [0, 255] (e.g. from `fr_utils.align_faces`).
            batch_size: chips (or jittered copies) per forward pass (memory grows with it,
                ~20 MB per chip).
            num_jitters: copies averaged per chip; 0 or 1: none.
            jitter_seed: seed of the jitters: the same seed gives the same copies (every chip
                of every call gets the same ``num_jitters`` jitters), so results repeat.
            mirror: average with the mirror image; None: ``self.mirror``.

        Returns:
            ``(n, 128)`` float32 rows of unit L2 norm.
        """
        chips = np.asarray(chips)
        if chips.ndim == 3:
            chips = chips[None]
        expected = (self.input_size, self.input_size, 3)
        if chips.ndim != 4 or chips.shape[1:] != expected:
            raise ValueError(
                f"{self.name} encodes aligned chips of shape (n, {self.input_size},"
                f" {self.input_size}, 3); got {chips.shape}. Use fr_utils.align_faces(photo)"
                " to detect and align faces first."
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        num_jitters = _check_jitters(num_jitters)
        if len(chips) == 0:
            return np.zeros((0, 128), np.float32)
        if self.mirror if mirror is None else mirror:
            both = self.encode(
                np.concatenate([chips, chips[:, :, ::-1]]),
                batch_size,
                num_jitters,
                jitter_seed,
                mirror=False,
            )
            return _unit_rows(both[: len(chips)] + both[len(chips) :])
        if num_jitters > 1:
            return self._encode_jittered(chips, batch_size, num_jitters, jitter_seed)
        out = [
            np.asarray(self._run(chips[start : start + batch_size].astype(np.float32)))
            for start in range(0, len(chips), batch_size)
        ]
        # The model ends in an L2 normalisation; renormalise to remove float32 rounding.
        return _unit_rows(np.concatenate(out).astype(np.float32))

    def _encode_jittered(self, chips, batch_size: int, num_jitters: int, seed: int):
        """Mean of the unit encodings of each chip's jittered copies, renormalised."""
        from fr_utils.alignment import jitter_chips

        per_pass = max(1, batch_size // num_jitters)  # chips whose copies fill one batch
        means = []
        for start in range(0, len(chips), per_pass):
            copies = jitter_chips(chips[start : start + per_pass], num_jitters, seed)
            flat = copies.reshape(-1, *copies.shape[2:])
            encodings = self.encode(flat, batch_size=batch_size, mirror=False)
            means.append(encodings.reshape(len(copies), num_jitters, -1).mean(axis=1))
        return _unit_rows(np.concatenate(means))

    def _run(self, batch: np.ndarray):
        if self._predict is None:
            import tensorflow as tf

            spec = tf.TensorSpec((None, self.input_size, self.input_size, 3), tf.float32)
            model = self.model
            object.__setattr__(
                self,
                "_predict",
                tf.function(lambda x: model(x, training=False), input_signature=[spec]),
            )
        return self._predict(batch)


def _check_jitters(num_jitters) -> int:
    """``num_jitters`` as an int >= 0, or a ValueError that says what is allowed."""
    whole = isinstance(num_jitters, (int, np.integer)) and not isinstance(num_jitters, bool)
    if not whole or num_jitters < 0:
        raise ValueError(
            f"num_jitters must be a whole number >= 0 (0 or 1: no jitter), got {num_jitters!r}"
        )
    return int(num_jitters)


def load_face_model(name: str = "dlib_resnet_v1") -> FaceEncoder:
    """Return the pretrained face encoder ``name``, loaded once per process.

    Args:
        name: ``"dlib_resnet_v1"`` (offline default) or ``"openface_nn4_small2_v1"``.

    Returns:
        The process's `FaceEncoder` for that model (immutable; use
        `FaceEncoder.with_threshold` for another decision threshold).

    Raises:
        ValueError: unknown name (the message lists the known ones).
        workbook.WeightsUnavailableError: the weights are missing and cannot be fetched now.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"Unknown face model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    with _lock:
        if name not in _loaded:
            _loaded[name] = _build(name)
        return _loaded[name]


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """``rows`` scaled to unit L2 norm, float32: a sum or mean of encodings is an encoding again."""
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32, copy=False)


def _build(name: str) -> FaceEncoder:
    if name == "dlib_resnet_v1":
        from fr_utils.models.dlib_resnet import load_dlib_resnet

        return FaceEncoder(load_dlib_resnet(), name, 150, 0.25, DLIB_THRESHOLD, mirror=True)
    from fr_utils.models.openface import OPENFACE_PADDING, OPENFACE_THRESHOLD, load_openface

    return FaceEncoder(load_openface(), name, 96, OPENFACE_PADDING, OPENFACE_THRESHOLD)
