"""Mapping MTCNN detections to the dlib HOG boxes the shape predictors were trained on."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from fr_utils.models import box_mapping
from fr_utils.models.box_mapping import BOX_MAPPING, dlib_box_from_mtcnn, fit_box_mapping
from workbook import data_path

# An upright face: eyes at (40, 50) and (60, 50), nose (50, 60), mouth corners (42, 70), (58, 70)
LANDMARKS = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], float)
BOX = np.array([30, 30, 40, 50], float)  # x, y, width, height


def test_mapped_box_follows_the_rule_in_the_docstring():
    mapping = {"frame": "landmarks", "dx": 0.1, "dy": -0.2, "k": 2.0}
    scale = np.sqrt(20 * 20)  # eye distance 20, eyes to mouth 20
    centre = LANDMARKS.mean(axis=0) + scale * np.array([0.1, -0.2])
    expected = np.concatenate([centre - scale, centre + scale])  # size k * scale = 40
    np.testing.assert_allclose(dlib_box_from_mtcnn(BOX, LANDMARKS, mapping), expected)
    square = {"frame": "box", "dx": 0.0, "dy": 0.0, "k": 1.0}
    side = np.sqrt(40 * 50)
    np.testing.assert_allclose(
        dlib_box_from_mtcnn(BOX, LANDMARKS, square),
        [50 - side / 2, 55 - side / 2, 50 + side / 2, 55 + side / 2],
    )


def test_mapping_is_equivariant_and_batched():
    one = dlib_box_from_mtcnn(BOX, LANDMARKS)
    assert one.shape == (4,)
    moved = dlib_box_from_mtcnn(BOX * (2, 2, 2, 2) + (7, 3, 0, 0), LANDMARKS * 2 + (7, 3))
    np.testing.assert_allclose(moved, one * 2 + (7, 3, 7, 3))  # scale and shift carry over
    many = dlib_box_from_mtcnn(np.stack([BOX, BOX]), np.stack([LANDMARKS, LANDMARKS]))
    assert many.shape == (2, 4)
    np.testing.assert_allclose(many[1], one)
    with pytest.raises(ValueError, match="frame"):
        dlib_box_from_mtcnn(BOX, LANDMARKS, {"frame": "ears", "dx": 0, "dy": 0, "k": 1})


@pytest.mark.parametrize("frame", ["box", "landmarks"])
def test_fit_recovers_the_constants_that_made_the_boxes(frame):
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 3, 50)[:, None]
    shift = rng.uniform(0, 200, (50, 2))
    boxes = np.hstack([BOX[:2] * scale + shift, BOX[2:] * scale])
    landmarks = LANDMARKS[None] * scale[:, :, None] + shift[:, None]
    truth = {"frame": frame, "dx": -0.05, "dy": 0.07, "k": 1.9}
    fitted = fit_box_mapping(boxes, landmarks, dlib_box_from_mtcnn(boxes, landmarks, truth), frame)
    assert fitted == pytest.approx(truth, abs=1e-4)


def test_fit_and_test_photos_come_from_disjoint_people():
    root = data_path("faces/lfw")
    fit, heldout = box_mapping.lfw_photo_split(root)
    evaluated = set()
    with open(root / "pairs_available.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "view2":
                evaluated |= {row["path_a"].split("/")[0], row["path_b"].split("/")[0]}
    assert len(fit) > 1000 and len(heldout) > 1000
    assert not {path.split("/")[0] for path in fit} & evaluated
    assert {path.split("/")[0] for path in heldout} <= evaluated


def test_stored_constants_are_a_landmarks_frame_fit():
    assert BOX_MAPPING["frame"] == "landmarks"
    assert (
        2.0 < BOX_MAPPING["k"] < 3.0
        and abs(BOX_MAPPING["dx"]) < 0.2
        and abs(BOX_MAPPING["dy"]) < 0.2
    )


@pytest.mark.slow
def test_mapped_mtcnn_boxes_give_dlibs_landmarks_on_held_out_photos():
    """A few evaluation-fold photos: MTCNN -> mapped box -> our predictor vs dlib's pipeline."""
    if os.environ.get("CI"):
        import dlib  # noqa: F401  (the `test` extra has dlib-bin)
    else:
        pytest.importorskip("dlib", reason="needs the dlib-bin wheel (test extra)")
    root = data_path("faces/lfw")
    _, heldout = box_mapping.lfw_photo_split(root)
    detections = box_mapping.collect_detections(heldout[:12], root)
    errors, eyes = box_mapping.landmark_errors(detections, BOX_MAPPING, root)
    print(
        f"\nheld out: {len(errors)} faces, mean {errors.mean():.2f} px, max {errors.max():.2f} px"
    )
    assert len(errors) >= 10
    assert np.median(errors) < 1.5 and (errors / eyes).mean() < 0.05
