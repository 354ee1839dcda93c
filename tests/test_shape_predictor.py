"""dlib's shape predictors: our reader of the .dat files, our NumPy cascade, parity with dlib.

The parity tests need the ``dlib-bin`` wheel (the ``test`` extra); in CI (``CI`` set) a
missing dlib is an error, elsewhere those tests are skipped.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from fr_utils.models import shape_predictor as sp_module
from fr_utils.models.dlib_format import DlibFormatError, _Reader, floats_from_pairs, integer_stream
from fr_utils.models.shape_predictor import (
    ShapePredictor,
    ShapePredictorModel,
    dlib_gray,
    load_shape_predictor,
    read_shape_predictor,
)
from workbook import data_path, weights_path
from workbook.images import load_image

PUBLIC_DOMAIN = sorted(p for p in data_path("faces/public_domain").rglob("*") if p.is_file())


# ------------------------------------------------------------- writing dlib's format
def _int(value: int) -> bytes:
    """A dlib integer: control byte (length, sign bit 0x80), then the magnitude little-endian."""
    magnitude = abs(value).to_bytes(max(1, (abs(value).bit_length() + 7) // 8), "little")
    return bytes([len(magnitude) | (0x80 if value < 0 else 0)]) + magnitude


def _float(value: float) -> bytes:
    """A dlib float: mantissa and base-2 exponent as two dlib integers."""
    fraction, exponent = math.frexp(value)
    return _int(int(fraction * 2**24)) + _int(exponent - 24)


def _column(values) -> bytes:
    return _int(-len(values)) + _int(-1) + b"".join(_float(v) for v in values)


def _predictor_bytes(initial, stages, anchors, deltas, version: int = 1) -> bytes:
    """Serialise a predictor the way dlib does (``shape_predictor.h``).

    Args:
        initial: flat ``[x0, y0, x1, y1, ...]`` mean shape in box coordinates.
        stages: per stage, a list of trees ``(splits, leaves)``: splits ``(idx1, idx2, thresh)``
            in node order, leaves flat shape corrections.
        anchors, deltas: per stage, the feature pixels' anchor landmarks and (dx, dy).
    """
    out = [_int(version), _column(initial), _int(len(stages))]
    for trees in stages:
        out.append(_int(len(trees)))
        for splits, leaves in trees:
            out.append(_int(len(splits)))
            out += [_int(i1) + _int(i2) + _float(t) for i1, i2, t in splits]
            out.append(_int(len(leaves)) + b"".join(_column(leaf) for leaf in leaves))
    out.append(
        _int(len(anchors)) + b"".join(_int(len(a)) + b"".join(map(_int, a)) for a in anchors)
    )
    out.append(_int(len(deltas)))
    for stage in deltas:
        out.append(_int(len(stage)) + b"".join(_float(x) + _float(y) for x, y in stage))
    return b"".join(out)


def _toy(tmp_path: Path, data: bytes) -> ShapePredictor:
    path = tmp_path / "toy.dat"
    path.write_bytes(data)
    return ShapePredictor(read_shape_predictor(path))


# The smallest interesting predictor: two landmarks, one stage, one tree of depth 1 whose two
# feature pixels sit on the landmarks. If landmark 0 is brighter than landmark 1 by more than
# 10 grey levels the tree moves both points right by 0.1 box widths, otherwise left.
TOY = _predictor_bytes(
    initial=[0.25, 0.5, 0.75, 0.5],
    stages=[[([(0, 1, 10.0)], [[0.1, 0, 0.1, 0], [-0.1, 0, -0.1, 0]])]],
    anchors=[[0, 1]],
    deltas=[[(0.0, 0.0), (0.0, 0.0)]],
)


# ------------------------------------------------------------------ the integer stream
def test_integer_stream_matches_reading_one_integer_at_a_time():
    rng = np.random.default_rng(0)
    values = [int(v) for v in rng.integers(-(2**40), 2**40, 3000)]
    values += [0, 1, -1, 255, 256, 2**63 - 1, -(2**63 - 1)] + [
        int(v) for v in rng.integers(0, 9, 500)
    ]
    data = b"".join(_int(v) for v in values)
    reader, sequential = _Reader(data, "test"), []
    while reader.pos < len(data):
        sequential.append(reader.integer())
    assert sequential == values
    for block in (1, 7, 64, 4096, 10**6):  # the guessed walks must not change the answer
        assert integer_stream(data, block=block).tolist() == values
    small = [-(2**23), 2**24 - 1, 0, -5] * 100  # at most three value bytes: int32 is enough
    decoded = integer_stream(b"".join(_int(v) for v in small))
    assert decoded.dtype == np.int32 and decoded.tolist() == small


def test_integer_stream_rejects_truncation_and_bad_control_bytes():
    data = _int(5) + _int(70000)
    with pytest.raises(DlibFormatError, match="truncated"):
        integer_stream(data[:-1])
    with pytest.raises(DlibFormatError, match="control byte 0x7"):
        integer_stream(data + b"\x71\x00")  # 0x70 bits are never set by dlib
    with pytest.raises(DlibFormatError, match="control byte 0x00"):
        integer_stream(b"\x00" + data)  # a zero-length integer


def test_dlib_floats_are_mantissa_times_power_of_two_with_special_codes():
    values = floats_from_pairs(
        np.array([3, -3, 1, 0, 0, 0]), np.array([-1, 2, 0, 32000, 32001, 32002])
    )
    assert values.dtype == np.float32
    assert values[:3].tolist() == [1.5, -12.0, 1.0]
    assert values[3] == np.inf and values[4] == -np.inf and np.isnan(values[5])


# -------------------------------------------------------------------------- the reader
@pytest.mark.parametrize("num_parts, features", [(5, 800), (68, 500)])
def test_reader_finds_dlibs_cascades(num_parts, features):
    model = load_shape_predictor(num_parts).model
    assert model.num_parts == num_parts and model.depth == 4
    assert model.anchor_idx.shape == (15, features)  # 15 stages
    assert model.split_idx1.shape == (15, 500, 15)  # 500 trees of 15 splits
    assert model.leaf_values.shape == (15, 500, 16, num_parts, 2)
    # the mean shape lies in (about) the unit square of the box
    assert -0.2 < model.initial_shape.min() and model.initial_shape.max() < 1.2
    assert not model.leaf_values.flags.writeable


def test_toy_file_round_trips(tmp_path):
    model = _toy(tmp_path, TOY).model
    np.testing.assert_array_equal(model.initial_shape, [[0.25, 0.5], [0.75, 0.5]])
    assert model.split_thresh.tolist() == [[[10.0]]] and model.depth == 1
    np.testing.assert_allclose(model.leaf_values[0, 0, 1], [[-0.1, 0], [-0.1, 0]], rtol=1e-6)


def _bad_files():
    good = bytearray(TOY)
    huge_count = _int(1) + _column([0.25, 0.5, 0.75, 0.5]) + _int(2**60)
    nan_leaf = TOY.replace(_float(-0.1), _int(0) + _int(32002))
    bad_anchor = _predictor_bytes(
        [0.25, 0.5, 0.75, 0.5],
        [[([(0, 1, 10.0)], [[0] * 4, [0] * 4])]],
        [[0, 5]],
        [[(0, 0), (0, 0)]],
    )
    bad_split = _predictor_bytes(
        [0.25, 0.5, 0.75, 0.5],
        [[([(0, 9, 10.0)], [[0] * 4, [0] * 4])]],
        [[0, 1]],
        [[(0, 0), (0, 0)]],
    )
    three_leaves = _predictor_bytes(
        [0.25, 0.5, 0.75, 0.5], [[([(0, 1, 1.0)], [[0] * 4] * 3)]], [[0, 1]], [[(0, 0), (0, 0)]]
    )
    return {
        "truncated inside an integer": (bytes(good[:-1]), "truncated"),
        "truncated between integers": (TOY[: len(TOY) - len(_float(0.0)) * 2], "impossible|early"),
        "trailing data": (TOY + _int(7), "after the predictor"),
        "version 2": (_int(2) + TOY[2:], "version 2"),
        "hostile count": (huge_count, "impossible stage count"),
        "NaN leaf": (nan_leaf, "NaN"),
        "anchor past the last landmark": (bad_anchor, "anchor_idx"),
        "split past the last feature": (bad_split, "split indices"),
        "incomplete tree": (three_leaves, "not a complete tree"),
        "not dlib at all": (b"\x89PNG\r\n\x1a\n" + bytes(100), "control byte"),
    }


@pytest.mark.parametrize("case", list(_bad_files()))
def test_reader_rejects_bad_files_clearly(tmp_path, case):
    data, message = _bad_files()[case]
    path = tmp_path / "bad.dat"
    path.write_bytes(data)
    with pytest.raises(DlibFormatError, match=message) as error:
        read_shape_predictor(path)
    assert str(path) in str(error.value)  # the message names the file


def test_reader_rejects_dlibs_other_files_and_a_truncated_predictor(tmp_path):
    with pytest.raises(DlibFormatError):
        read_shape_predictor(weights_path("dlib_resnet_v1"))  # a network, not a predictor
    cut = tmp_path / "cut.dat"
    cut.write_bytes(weights_path("dlib_shape_predictor_5").read_bytes()[:-12345])
    with pytest.raises(DlibFormatError):
        read_shape_predictor(cut)
    with pytest.raises(FileNotFoundError):
        read_shape_predictor(tmp_path / "missing.dat")


# ----------------------------------------------------------------------- the algorithm
def test_toy_tree_compares_the_two_landmark_pixels(tmp_path):
    predictor = _toy(tmp_path, TOY)
    image = np.zeros((11, 11), np.uint8)
    box = (0, 0, 10, 10)  # landmarks start at x = 2.5 and 7.5: pixels 3 and 8 of row 5
    image[5, 3], image[5, 8] = 200, 50  # left landmark brighter: go left, move right
    np.testing.assert_allclose(predictor.predict(image, box), [[3.5, 5], [8.5, 5]], atol=1e-5)
    image[5, 3], image[5, 8] = 50, 200
    np.testing.assert_allclose(predictor.predict(image, box), [[1.5, 5], [6.5, 5]], atol=1e-5)
    image[5, 3], image[5, 8] = 60, 50  # a difference of 10 is not more than the threshold
    np.testing.assert_allclose(predictor.predict(image, box), [[1.5, 5], [6.5, 5]], atol=1e-5)


def test_feature_offsets_follow_the_current_shape(tmp_path):
    """Stage 1 doubles the shape's size; stage 2's feature offset must double with it."""
    grow = [-0.1, 0, 0.1, 0]  # both leaves: (0.4, 0.6) -> (0.3, 0.7), twice as wide
    data = _predictor_bytes(
        initial=[0.4, 0.5, 0.6, 0.5],
        stages=[[([(0, 0, 0.0)], [grow, grow])], [([(0, 1, 10.0)], [[0, 0.1, 0, 0.1], [0] * 4])]],
        anchors=[[0, 0], [0, 0]],
        deltas=[[(0, 0), (0, 0)], [(0.0, 0.1), (0.0, 0.0)]],  # 0.1 below landmark 0 ...
    )
    predictor = _toy(tmp_path, data)
    image = np.zeros((101, 101), np.uint8)
    image[70, 30] = 255  # ... is 0.2 below it once the shape has doubled: (0.3, 0.7)
    moved = predictor.predict(image, (0, 0, 100, 100))
    np.testing.assert_allclose(moved, [[30, 60], [70, 60]], atol=1e-4)  # the bright pixel was seen
    image[70, 30], image[60, 30] = 0, 255  # where an unscaled offset would have looked
    np.testing.assert_allclose(
        predictor.predict(image, (0, 0, 100, 100)), [[30, 50], [70, 50]], atol=1e-4
    )


def test_pixels_outside_the_photo_read_as_black(tmp_path):
    predictor = _toy(tmp_path, TOY)
    image = np.full((4, 4), 255, np.uint8)  # the box hangs far outside: both pixels read 0
    np.testing.assert_allclose(
        predictor.predict(image, (-50, -50, 50, 50)), [[-35, 0], [15, 0]], atol=1e-4
    )


def test_dlib_gray_is_the_truncated_channel_mean():
    rgb = np.array([[[1, 2, 4], [255, 255, 254], [0, 0, 2]]], np.uint8)
    assert dlib_gray(rgb).tolist() == [[2, 254, 0]]
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert dlib_gray(gray) is gray


def test_batched_boxes_and_grey_photos_give_the_same_points():
    predictor = load_shape_predictor(5)
    photo = load_image(data_path("faces/lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"))
    boxes = np.array([[67, 84, 175, 191], [60, 70, 180, 190], [0, 0, 120, 130]], float)
    batched = predictor.predict_many(photo, boxes)
    assert batched.shape == (3, 5, 2)
    for box, points in zip(boxes, batched, strict=True):
        np.testing.assert_array_equal(predictor.predict(photo, box), points)
    np.testing.assert_array_equal(predictor.predict_many(dlib_gray(photo), boxes), batched)
    assert predictor.predict_many(photo, np.zeros((0, 4))).shape == (0, 5, 2)


@pytest.mark.parametrize(
    "image, box, message",
    [
        (np.zeros((20, 20, 3), np.float32), (0, 0, 9, 9), "uint8"),
        (np.zeros((20, 20, 4), np.uint8), (0, 0, 9, 9), r"\(H, W, 3\)"),
        (np.zeros((0, 20), np.uint8), (0, 0, 9, 9), "Empty image"),
        (np.zeros((20, 20), np.uint8), (0, 0, 0, 9), "Empty box"),
        (np.zeros((20, 20), np.uint8), (0, 0, np.nan, 9), "finite"),
        (np.zeros((20, 20), np.uint8), (0, 0, 9), r"\(N, 4\)"),
    ],
)
def test_bad_inputs_raise_value_errors(image, box, message):
    with pytest.raises(ValueError, match=message):
        load_shape_predictor(5).predict(image, box)


def test_model_arrays_are_checked():
    model = load_shape_predictor(5).model
    arrays = {name: getattr(model, name) for name in sp_module._DTYPES}
    with pytest.raises(ValueError, match="float32"):
        ShapePredictorModel(**dict(arrays, deltas=arrays["deltas"].astype(np.float64)))
    with pytest.raises(ValueError, match="anchor_idx"):
        ShapePredictorModel(**dict(arrays, anchor_idx=arrays["anchor_idx"] + 5))
    with pytest.raises(ValueError, match="unknown|one of"):
        load_shape_predictor(7)


# ------------------------------------------------------------------------- the cache
def test_parsed_arrays_are_cached_as_npz_tagged_with_the_source_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    name = "dlib_shape_predictor_5"
    first = sp_module._cached_model(name)
    cached = tmp_path / "shape_predictors" / f"{name}.npz"
    assert cached.is_file()

    def no_parsing(path):
        raise AssertionError("parsed again although the cache is valid")

    monkeypatch.setattr(sp_module, "read_shape_predictor", no_parsing)
    again = sp_module._cached_model(name)
    np.testing.assert_array_equal(again.leaf_values, first.leaf_values)
    with np.load(cached) as archive:  # a cache from another version of the file is ignored
        stale = {key: archive[key] for key in archive.files}
    np.savez(cached, **dict(stale, source_sha256=np.array("0" * 64)))
    with pytest.raises(AssertionError, match="parsed again"):
        sp_module._cached_model(name)
    cached.write_bytes(b"not an npz")  # and so is a damaged one
    with pytest.raises(AssertionError, match="parsed again"):
        sp_module._cached_model(name)


# -------------------------------------------------------------------- parity with dlib
@pytest.fixture(scope="module")
def dlib():
    if os.environ.get("CI"):
        import dlib  # CI installs the `test` extra, which has dlib-bin: never skip there
    else:
        dlib = pytest.importorskip("dlib", reason="needs the dlib-bin wheel (test extra)")
    return dlib


@pytest.fixture(scope="module")
def photos_with_dlib_boxes(dlib):
    """LFW photos and the public-domain portraits, each with the faces dlib's HOG finds."""
    lfw = sorted(data_path("faces/lfw").glob("*/*_0001.jpg"))[::150]
    detector = dlib.get_frontal_face_detector()
    found = []
    for path in lfw + PUBLIC_DOMAIN:
        photo = load_image(path)
        upsample = 1 if max(photo.shape) < 800 else 0  # big photos: faces are big already
        rects = detector(photo, upsample)
        if len(rects):
            found.append((photo, rects))
    assert sum(len(rects) for _, rects in found) >= 30
    return found


@pytest.mark.parametrize("num_parts", [68, 5])
def test_parity_with_dlib_given_dlibs_own_boxes(dlib, photos_with_dlib_boxes, num_parts):
    ours = load_shape_predictor(num_parts)
    theirs = dlib.shape_predictor(str(weights_path(f"dlib_shape_predictor_{num_parts}")))
    errors = []
    for photo, rects in photos_with_dlib_boxes:
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        for rect, points in zip(rects, ours.predict_many(photo, boxes), strict=True):
            reference = np.array([(p.x, p.y) for p in theirs(photo, rect).parts()])
            errors.append(np.linalg.norm(np.floor(points + 0.5) - reference, axis=1))
    errors = np.concatenate(errors)
    summary = f"{num_parts}-point: mean {errors.mean():.4f} px, max {errors.max():.3f} px"
    print(f"\n{summary} over {len(errors) // num_parts} faces")
    assert errors.mean() < 0.5, summary
    assert (errors == 0).mean() >= 0.99, summary  # dlib rounds to pixels; we match them
