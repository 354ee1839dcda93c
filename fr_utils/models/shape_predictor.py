"""dlib's face landmark predictors (ensembles of regression trees), read and run with NumPy.

Kazemi and Sullivan (CVPR 2014) find landmarks by *refining a guess*. The guess starts as
the mean face shape placed in the face box; then a cascade of stages each looks at the image
around the current guess and adds a correction:

    shape_0 = mean shape (in box coordinates: the box is the unit square)
    shape_k+1 = shape_k + sum of the leaves reached in the trees of stage k

Each stage (dlib: 15 stages of 500 trees of depth 4) reads a few hundred *feature pixels*.
A feature pixel is defined relative to the mean shape: "the point ``delta`` away from
landmark ``anchor``". In stage k that offset is carried along with the current guess (rotated
and scaled by the similarity transform that maps the mean shape onto ``shape_k``), so the
same feature lands on the same part of the face whatever the face's pose and size. Each tree
node compares the *difference* of two feature pixels' grey levels with a threshold: a
difference does not change when the whole photo gets brighter, so the trees need not learn
lighting. The leaf a face reaches holds a correction for all landmarks at once, which keeps
the shape plausible. Everything here is gathers and comparisons, which is why the method runs
in about a millisecond and vectorises well: all trees of a stage descend together, one
depth level per NumPy step, and so do all faces of a batch.

To reproduce dlib's numbers (``dlib/image_processing/shape_predictor.h``), the details matter:

* the box ``(left, top, right, bottom)`` is mapped onto the unit square with ``left -> 0``
  and ``right -> 1`` (dlib's corners are inclusive pixel indices, so a dlib box of width w
  spans ``w - 1`` pixels here);
* a colour photo is read as grey ``(R + G + B) // 3`` (integer division), as dlib does;
* a feature point is rounded to the nearest pixel (``floor(x + 0.5)``); a point outside the
  photo reads 0;
* the shape is float32 and corrections are added tree by tree, in dlib's order;
* dlib returns landmarks rounded to whole pixels; `ShapePredictor.predict` returns them
  unrounded (``np.floor(p + 0.5)`` gives dlib's).

Usage with our MTCNN detector (the predictors want dlib-style boxes, see
`fr_utils.models.box_mapping`)::

    faces = detect_faces(photo)
    boxes = dlib_box_from_mtcnn([f.box for f in faces], [f.landmarks for f in faces])
    points = load_shape_predictor(68).predict_many(photo, boxes)  # (faces, 68, 2)

The ``.dat`` file is dlib's serialization of the predictor: nothing but dlib integers and
floats (see `fr_utils.models.dlib_format.integer_stream`), laid out as: a version (1), the initial
shape (a float matrix), for each stage its trees (splits ``idx1, idx2, thresh``, then the
leaf vectors), then the anchor indices and the deltas of every stage's feature pixels.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from fr_utils.models.dlib_format import DlibFormatError, floats_from_pairs, integer_stream

__all__ = [
    "PARTS_68",
    "ShapePredictor",
    "ShapePredictorModel",
    "dlib_gray",
    "dlib_rounded",
    "load_shape_predictor",
    "read_shape_predictor",
]

#: The iBUG 68-point layout as index ranges (left/right as seen in the image: "left eye" is the
#: eye on the image's left, the subject's right eye).
PARTS_68 = {
    "jaw": range(0, 17),
    "left_eyebrow": range(17, 22),
    "right_eyebrow": range(22, 27),
    "nose_bridge": range(27, 31),
    "nose_lower": range(31, 36),
    "left_eye": range(36, 42),
    "right_eye": range(42, 48),
    "outer_lips": range(48, 60),
    "inner_lips": range(60, 68),
}

#: manifest entry of each predictor, by number of landmarks
_WEIGHTS = {68: "dlib_shape_predictor_68", 5: "dlib_shape_predictor_5"}


# ------------------------------------------------------------------------------ the model
@dataclass(frozen=True)
class ShapePredictorModel:
    """The arrays of a dlib shape predictor (read-only NumPy arrays).

    Shapes use C stages (cascade levels), T trees per stage, S = 2**depth - 1 splits and
    L = 2**depth leaves per tree (dlib's trees are complete: node i has children 2i+1 and
    2i+2, leaves follow the splits), F feature pixels per stage and P landmarks.

    Attributes:
        initial_shape: ``(P, 2)`` float32 (x, y), the mean shape in box coordinates.
        anchor_idx: ``(C, F)`` int32, the landmark each feature pixel is attached to.
        deltas: ``(C, F, 2)`` float32, the feature pixel's offset from its anchor, in the
            coordinates of the mean shape.
        split_idx1, split_idx2: ``(C, T, S)`` int32, the two feature pixels a node compares.
        split_thresh: ``(C, T, S)`` float32; a node goes left when
            ``pixel[idx1] - pixel[idx2] > thresh``.
        leaf_values: ``(C, T, L, P, 2)`` float32, the shape correction stored in each leaf.
    """

    initial_shape: np.ndarray
    anchor_idx: np.ndarray
    deltas: np.ndarray
    split_idx1: np.ndarray
    split_idx2: np.ndarray
    split_thresh: np.ndarray
    leaf_values: np.ndarray

    def __post_init__(self):
        _check_model_arrays(self)
        for field in fields(self):
            getattr(self, field.name).flags.writeable = False

    @property
    def num_parts(self) -> int:
        """Number of landmarks P."""
        return self.initial_shape.shape[0]

    @property
    def depth(self) -> int:
        """Depth of every tree (number of comparisons from root to leaf)."""
        return int(np.log2(self.leaf_values.shape[2]))


_DTYPES = {
    "initial_shape": np.float32,
    "anchor_idx": np.int32,
    "deltas": np.float32,
    "split_idx1": np.int32,
    "split_idx2": np.int32,
    "split_thresh": np.float32,
    "leaf_values": np.float32,
}


def _check_model_arrays(model: ShapePredictorModel) -> None:
    """Raise ValueError unless the arrays have consistent shapes, dtypes and index ranges."""
    for name, dtype in _DTYPES.items():
        array = getattr(model, name)
        if not isinstance(array, np.ndarray) or array.dtype != dtype:
            raise ValueError(f"ShapePredictorModel.{name} must be a {np.dtype(dtype)} array")
    parts = model.initial_shape.shape[0]
    stages, features = model.anchor_idx.shape
    trees, splits = model.split_idx1.shape[1:]
    expected = {
        "initial_shape": (parts, 2),
        "deltas": (stages, features, 2),
        "split_idx1": (stages, trees, splits),
        "split_idx2": (stages, trees, splits),
        "split_thresh": (stages, trees, splits),
        "leaf_values": (stages, trees, splits + 1, parts, 2),
    }
    for name, shape in expected.items():
        if getattr(model, name).shape != shape:
            raise ValueError(f"ShapePredictorModel.{name} has shape {getattr(model, name).shape}")
    if parts < 2 or features < 1 or (splits + 1) & splits:
        raise ValueError(
            f"bad predictor sizes: {parts} parts, {features} features, {splits} splits"
        )
    if not _in_range(model.anchor_idx, parts):
        raise ValueError("ShapePredictorModel.anchor_idx points past the last landmark")
    if not (_in_range(model.split_idx1, features) and _in_range(model.split_idx2, features)):
        raise ValueError("ShapePredictorModel split indices point past the last feature pixel")


def _in_range(indices: np.ndarray, limit: int) -> bool:
    return indices.size == 0 or (int(indices.min()) >= 0 and int(indices.max()) < limit)


# ----------------------------------------------------------------------------- the reader
class _Ints:
    """Cursor over the decoded integers of a file; every count is checked before it is used."""

    def __init__(self, values: np.ndarray, path: str):
        self.values, self.pos, self.path = values, 0, path

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"{self.path}: {what} (integer {self.pos}); not a dlib shape predictor?"
        )

    def take(self, count: int) -> np.ndarray:
        if self.pos + count > len(self.values):
            raise self.fail("the file ends early")
        block = self.values[self.pos : self.pos + count]
        self.pos += count
        return block

    def scalar(self) -> int:
        return int(self.take(1)[0])

    def count(self, what: str, ints_each: int) -> int:
        """Read a length and check that that many items of ``ints_each`` integers can follow."""
        value = self.scalar()
        if value < 0 or value * ints_each > len(self.values) - self.pos:
            raise self.fail(f"impossible {what} count {value}")
        return value

    def floats(self, count: int) -> np.ndarray:
        pairs = self.take(2 * count).reshape(count, 2)
        values = floats_from_pairs(pairs[:, 0], pairs[:, 1])
        if not np.isfinite(values).all():
            raise self.fail("a float that is infinite or NaN")
        return values


def _read_column_vector(ints: _Ints) -> np.ndarray:
    """A ``matrix<float,0,1>``: rows and columns (negated in dlib's newer format), then values."""
    rows, cols = abs(ints.scalar()), abs(ints.scalar())
    if cols != 1 or rows * 2 > len(ints.values) - ints.pos:
        raise ints.fail(f"a {rows}x{cols} matrix where a column vector belongs")
    return ints.floats(rows)


def _read_stage(ints: _Ints, parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One cascade stage: ``(idx1, idx2, thresh, leaves)`` of its T trees (all of one depth).

    A tree record is ``S, S x (idx1, idx2, thresh), L, L x (rows, cols, 2*parts values)``
    (a float is two integers). All trees of a stage must share S and L, so the stage is one
    ``(T, record length)`` block of integers, checked and cut with NumPy.
    """
    trees = ints.count("tree", 4)
    if trees == 0:
        raise ints.fail("a cascade stage without trees")
    start = ints.pos
    splits = ints.count("split", 4)
    ints.pos += 4 * splits
    leaves = ints.count("leaf", 2 + 4 * parts)
    ints.pos = start
    if leaves != splits + 1 or (leaves & splits):
        raise ints.fail(f"a tree with {splits} splits and {leaves} leaves (not a complete tree)")
    leaf_ints = 2 + 4 * parts
    record = 2 + 4 * splits + leaves * leaf_ints
    if trees * record > len(ints.values) - ints.pos:
        raise ints.fail("the file ends early")
    block = ints.take(trees * record).reshape(trees, record)
    split_part = block[:, 1 : 1 + 4 * splits].reshape(trees, splits, 4)
    leaf_part = block[:, 2 + 4 * splits :].reshape(trees, leaves, leaf_ints)
    same_shape = (
        (block[:, 0] == splits).all()
        and (block[:, 1 + 4 * splits] == leaves).all()
        and (np.abs(leaf_part[:, :, 0]) == 2 * parts).all()
        and (np.abs(leaf_part[:, :, 1]) == 1).all()
    )
    if not same_shape:
        raise ints.fail("trees of different shapes in one stage (not supported)")
    thresh = floats_from_pairs(split_part[..., 2], split_part[..., 3])
    values = floats_from_pairs(leaf_part[:, :, 2::2], leaf_part[:, :, 3::2])
    if not (np.isfinite(thresh).all() and np.isfinite(values).all()):
        raise ints.fail("a tree with an infinite or NaN value")
    idx1, idx2 = (_index_array(ints, split_part[..., k]) for k in (0, 1))
    return idx1, idx2, thresh, values.reshape(trees, leaves, parts, 2)


def _index_array(ints: _Ints, values: np.ndarray) -> np.ndarray:
    if values.size and (values.min() < 0 or values.max() > np.iinfo(np.int32).max):
        raise ints.fail("a negative or huge index")
    return values.astype(np.int32)


def _read_feature_pixels(ints: _Ints, stages: int) -> tuple[np.ndarray, np.ndarray]:
    """The anchor landmarks ``(C, F)`` and the deltas ``(C, F, 2)`` of every stage."""
    if ints.count("anchor list", 1) != stages:
        raise ints.fail("anchor lists for a different number of stages")
    anchors = []
    for _ in range(stages):
        anchors.append(_index_array(ints, ints.take(ints.count("anchor", 1))))
    if ints.count("delta list", 1) != stages:
        raise ints.fail("delta lists for a different number of stages")
    deltas = []
    for anchor in anchors:
        if ints.count("delta", 4) != len(anchor):
            raise ints.fail("a stage with different numbers of anchors and deltas")
        deltas.append(ints.floats(2 * len(anchor)).reshape(-1, 2))
    if len({len(a) for a in anchors}) != 1:
        raise ints.fail("stages with different numbers of feature pixels (not supported)")
    return np.stack(anchors), np.stack(deltas)


def read_shape_predictor(path: str | os.PathLike) -> ShapePredictorModel:
    """Read a dlib shape predictor file (``shape_predictor_*.dat``) into NumPy arrays.

    Args:
        path: the ``.dat`` file (dlib's serialization of ``dlib::shape_predictor``).

    Returns:
        A `ShapePredictorModel`.

    Raises:
        FileNotFoundError: no such file.
        DlibFormatError: the file is not a dlib shape predictor, or is truncated or corrupt
            (a `ValueError` naming the file and what is wrong). Every length in the file is
            checked against what is left of it before anything is allocated.
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        data = handle.read()
    ints = _Ints(integer_stream(data, path), path)
    del data
    version = ints.scalar()
    if version != 1:
        raise ints.fail(f"shape predictor version {version} (this reader knows version 1)")
    initial = _read_column_vector(ints)
    if len(initial) < 4 or len(initial) % 2:
        raise ints.fail(f"an initial shape of {len(initial)} values")
    parts = len(initial) // 2
    stage_count = ints.count("stage", 1)
    stages = [_read_stage(ints, parts) for _ in range(stage_count)]
    if not stages or len({s[0].shape for s in stages}) != 1:
        raise ints.fail("no stages, or stages of different sizes (not supported)")
    anchors, deltas = _read_feature_pixels(ints, stage_count)
    if ints.pos != len(ints.values):
        raise ints.fail(f"{len(ints.values) - ints.pos} integers after the predictor")
    idx1, idx2, thresh, leaves = (np.stack(column) for column in zip(*stages, strict=True))
    try:
        return ShapePredictorModel(
            initial.reshape(parts, 2), anchors, deltas, idx1, idx2, thresh, leaves
        )
    except ValueError as error:
        raise DlibFormatError(f"{path}: {error}") from None


# ----------------------------------------------------------------------- the predictor
def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (
        image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    ):
        raise ValueError(
            f"Need an (H, W, 3) RGB or (H, W) grey uint8 image, got {image.shape} {image.dtype}"
        )
    if min(image.shape[:2]) == 0:
        raise ValueError(f"Empty image of shape {image.shape}")
    return image


def dlib_gray(image: np.ndarray) -> np.ndarray:
    """Convert a photo to dlib's grey levels: ``(R + G + B) // 3`` (grey photos pass through).

    dlib converts a colour pixel to grey with this plain average, truncated (``assign_pixel``
    in ``dlib/pixel.h``), not with the luma weights of ITU-R BT.601 that PIL uses. The
    predictor only reads the few hundred pixels it needs, with the same rule.

    Args:
        image: ``(H, W, 3)`` uint8 RGB or ``(H, W)`` uint8 grey.

    Returns:
        ``(H, W)`` uint8.
    """
    image = _check_image(image)
    if image.ndim == 2:
        return image
    return ((image[..., 0].astype(np.uint16) + image[..., 1] + image[..., 2]) // 3).astype(np.uint8)


def _as_boxes(boxes) -> np.ndarray:
    """Validate boxes ``(left, top, right, bottom)`` into an ``(N, 4)`` float64 array."""
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"Need boxes of shape (N, 4) (left, top, right, bottom), got {boxes.shape}"
        )
    if not np.isfinite(boxes).all():
        raise ValueError("Boxes must be finite numbers")
    if (boxes[:, 2] <= boxes[:, 0]).any() or (boxes[:, 3] <= boxes[:, 1]).any():
        raise ValueError("Empty box: need right > left and bottom > top")
    return boxes


def _similarity_weights(source: np.ndarray) -> np.ndarray:
    """Weights ``W`` with ``target.ravel() @ W.T == (a, b)``, the similarity from ``source``.

    The least-squares similarity ``A = [[a, -b], [b, a]]`` minimising
    ``sum_i |A (s_i - mean s) - (t_i - mean t)|^2`` has, on centred source points,
    ``a = sum(s . t) / sum|s|^2`` and ``b = sum(s x t) / sum|s|^2`` (the target need not be
    centred: the centred source sums to zero). It is the transform dlib finds with Umeyama's
    SVD method; dlib too computes it in float64 and rounds it to float32.

    Args:
        source: ``(P, 2)`` points (the mean shape).

    Returns:
        ``(2, 2P)`` float64.
    """
    centred = source.astype(np.float64) - source.astype(np.float64).mean(axis=0)
    perpendicular = np.stack([-centred[:, 1], centred[:, 0]], axis=1)  # s x t = perp(s) . t
    return np.stack([centred.ravel(), perpendicular.ravel()]) / (centred**2).sum()


class ShapePredictor:
    """Run a dlib shape predictor on photos, vectorised over trees and faces.

    Example:
        >>> predictor = load_shape_predictor(68)
        >>> points = predictor.predict(photo, (left, top, right, bottom))  # (68, 2) x, y

    Args:
        model: the arrays, from `read_shape_predictor`.
    """

    def __init__(self, model: ShapePredictorModel):
        self.model = model
        stages, trees, splits = model.split_idx1.shape
        self._splits, self._depth = splits, model.depth
        # Flatten (tree, node) and (tree, leaf) so one fancy index picks a node of every tree.
        self._node_base = (np.arange(trees) * splits).astype(np.intp)
        self._leaf_base = (np.arange(trees) * (splits + 1)).astype(np.intp)
        self._idx1 = model.split_idx1.reshape(stages, -1).astype(np.intp)  # intp: fastest take
        self._idx2 = model.split_idx2.reshape(stages, -1).astype(np.intp)
        self._thresh = model.split_thresh.reshape(stages, -1)
        self._leaves = model.leaf_values.reshape(stages, trees * (splits + 1), -1)
        self._initial = model.initial_shape.reshape(-1)
        self._anchors = model.anchor_idx.astype(np.intp)
        self._weights = _similarity_weights(model.initial_shape)
        # delta turned by A = [[a, -b], [b, a]] is a * (dx, dy) + b * (-dy, dx)
        self._deltas = model.deltas
        self._deltas_perp = np.stack([-model.deltas[..., 1], model.deltas[..., 0]], axis=-1)

    @property
    def num_parts(self) -> int:
        """Number of landmarks the predictor returns (68 or 5 for dlib's)."""
        return self.model.num_parts

    def predict(self, image: np.ndarray, box) -> np.ndarray:
        """Landmarks of one face.

        Args:
            image: ``(H, W, 3)`` uint8 RGB or ``(H, W)`` uint8 grey photo.
            box: ``(left, top, right, bottom)`` in pixels, in dlib's convention (a
                ``dlib.rectangle`` ``r`` is ``(r.left(), r.top(), r.right(), r.bottom())``);
                the predictors were trained on dlib's HOG detector's boxes.

        Returns:
            ``(P, 2)`` float64 (x, y) pixel positions, unrounded.
        """
        return self.predict_many(image, [box])[0]

    def predict_many(self, image: np.ndarray, boxes) -> np.ndarray:
        """Landmarks of several faces of one photo, all computed together.

        Args:
            image: ``(H, W, 3)`` uint8 RGB or ``(H, W)`` uint8 grey photo.
            boxes: ``(N, 4)`` boxes ``(left, top, right, bottom)``, see `predict`.

        Returns:
            ``(N, P, 2)`` float64 (x, y) pixel positions (``(0, P, 2)`` for no boxes).
        """
        image = _check_image(image)
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.size == 0:
            return np.zeros((0, self.num_parts, 2))
        boxes = _as_boxes(boxes)
        origin, extent = boxes[:, None, :2], boxes[:, None, 2:] - boxes[:, None, :2]
        size = np.array(image.shape[1::-1], dtype=np.uintp)  # (W, H)
        rows = np.ascontiguousarray(image).reshape((int(size[0] * size[1]),) + image.shape[2:])
        shape = np.tile(self._initial, (len(boxes), 1))  # (N, 2P) float32, [x0, y0, x1, ...]
        for stage in range(len(self._leaves)):
            pixels = self._feature_pixels(rows, size, shape, stage, origin, extent)
            leaves = self._leaf_indices(stage, pixels)
            corrections = np.take(self._leaves[stage], leaves, axis=0)  # (N, T, 2P)
            corrections[:, 0] += shape  # dlib adds tree by tree: ((shape + c0) + c1) + ...
            shape = np.add.reduce(corrections, axis=1)  # a non-inner axis sums in order
        points = shape.reshape(len(boxes), -1, 2).astype(np.float64)
        return points * extent + origin

    def _feature_pixels(self, pixels, size, shape, stage, origin, extent) -> np.ndarray:
        """Grey levels ``(N, F)`` float32 of a stage's feature pixels, placed on the current shape.

        Each feature point is its anchor landmark of the current shape plus its delta turned
        and scaled like the current shape is relative to the mean shape (float32, as dlib),
        then mapped from box to photo coordinates and rounded to the nearest pixel.

        Args:
            pixels: the photo as ``(H * W,)`` grey or ``(H * W, 3)`` RGB rows.
            size: ``(W, H)`` as unsigned integers.
        """
        a, b = (shape.astype(np.float64) @ self._weights.T).astype(np.float32).T[..., None, None]
        anchors = np.take(shape.reshape(len(shape), -1, 2), self._anchors[stage], axis=1)
        points = (a * self._deltas[stage] + b * self._deltas_perp[stage]) + anchors  # (N, F, 2)
        xy = np.floor(points.astype(np.float64) * extent + origin + 0.5).astype(np.intp)
        inside = (xy.view(np.uintp) < size).all(axis=-1)  # a negative index wraps to a huge one
        flat = np.where(inside, xy[..., 1] * int(size[0]) + xy[..., 0], 0)
        values = np.take(pixels, flat, axis=0)
        if values.ndim == 3:  # colour: dlib's grey level of just these pixels
            values = values.sum(axis=-1, dtype=np.uint16) // 3
        return np.multiply(values, inside, dtype=np.float32)  # outside the photo: 0

    def _leaf_indices(self, stage: int, pixels: np.ndarray) -> np.ndarray:
        """Descend all trees of a stage for all faces at once; return flat leaf indices (N, T).

        All node comparisons are made first (a few thousand, one NumPy step); the descent then
        only looks up, depth by depth, the answer at each tree's current node.
        """
        go_right = np.take(pixels, self._idx1[stage], axis=1)
        go_right -= np.take(pixels, self._idx2[stage], axis=1)
        go_right = (go_right <= self._thresh[stage]).ravel()  # (N * T * S,)
        at = np.arange(len(pixels))[:, None] * self._thresh.shape[1] + self._node_base
        node = np.zeros(at.shape, dtype=np.intp)
        for _ in range(self._depth):
            node = 2 * node + 1 + np.take(go_right, at + node)
        return self._leaf_base + node - self._splits


# ------------------------------------------------------------------------ loading, cached
_lock = threading.Lock()
_predictors: dict[int, ShapePredictor] = {}


def dlib_rounded(points) -> np.ndarray:
    """Points rounded to whole pixels as dlib's ``full_object_detection`` stores them.

    Args:
        points: ``(..., 2)`` (x, y) positions, e.g. from `ShapePredictor.predict`.

    Returns:
        float64 array of the same shape, ``floor(p + 0.5)``.
    """
    return np.floor(np.asarray(points, dtype=np.float64) + 0.5)


def load_shape_predictor(num_parts: int = 68) -> ShapePredictor:
    """Return dlib's 68- or 5-point predictor, read once per process (thread-safe).

    The file comes from the ``face_recognition_models`` package through
    `workbook.resources.weights_path` (checksum verified). Parsing the 100 MB 68-point file
    takes a few seconds, so the arrays are also cached as ``.npz`` in
    `workbook.resources.cache_dir`, tagged with the source file's SHA-256 and used only
    when the tag matches.

    Args:
        num_parts: 68 (the iBUG layout, see `PARTS_68`) or 5 (eye corners and nose base).
    """
    if num_parts not in _WEIGHTS:
        raise ValueError(f"num_parts must be one of {sorted(_WEIGHTS)}, got {num_parts!r}")
    with _lock:
        if num_parts not in _predictors:
            _predictors[num_parts] = ShapePredictor(_cached_model(_WEIGHTS[num_parts]))
        return _predictors[num_parts]


def _cached_model(name: str) -> ShapePredictorModel:
    from workbook.resources import cache_dir, weights_entry, weights_path

    source = weights_path(name)  # verifies the file against the manifest's SHA-256
    digest = weights_entry(name)["sha256"]
    cached = cache_dir() / "shape_predictors" / f"{name}.npz"
    model = _load_npz(cached, digest)
    if model is None:
        model = read_shape_predictor(source)
        _save_npz(cached, model, digest)
    return model


def _load_npz(path: Path, digest: str) -> ShapePredictorModel | None:
    """The cached model, or None when it is missing, stale or unreadable (then it is rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["source_sha256"]) != digest:
                return None
            return ShapePredictorModel(**{name: archive[name] for name in _DTYPES})
    except (OSError, KeyError, ValueError):
        return None


def _save_npz(path: Path, model: ShapePredictorModel, digest: str) -> None:
    from workbook.atomic import atomic_open

    arrays = {name: getattr(model, name) for name in _DTYPES}
    try:
        with atomic_open(path) as out:
            np.savez(out, source_sha256=np.array(digest), **arrays)
    except OSError:  # a read-only cache is no reason to fail: the model is in memory
        pass
