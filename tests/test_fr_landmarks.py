"""`fr_utils.face_landmarks`: face_recognition's grouping, dlib parity, no face, bad input.

The parity tests need the ``dlib-bin`` wheel (the ``test`` extra); in CI (``CI`` set) a
missing dlib is an error, elsewhere those tests are skipped.
"""

from __future__ import annotations

import numpy as np
import pytest

import fr_utils
from fr_utils.landmarks import PART_INDICES, face_landmarks, group_landmarks
from workbook import data_path, weights_path
from workbook.images import load_image

PORTRAIT = data_path("faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg")
LARGE_COUNTS = {
    "chin": 17,
    "left_eyebrow": 5,
    "right_eyebrow": 5,
    "nose_bridge": 4,
    "nose_tip": 5,
    "left_eye": 6,
    "right_eye": 6,
    "top_lip": 12,
    "bottom_lip": 12,
}


def _numbered(count: int) -> np.ndarray:
    """Points whose x is their index, so a grouping can be read back as indices."""
    return np.stack([np.arange(count), np.zeros(count)], axis=1).astype(float)


def _indices(groups):
    return {part: [x for x, _ in points] for part, points in groups.items()}


# ------------------------------------------------------------------------------ grouping
def test_large_grouping_is_face_recognitions_with_twelve_point_lips():
    groups = _indices(group_landmarks(_numbered(68)))
    assert {part: len(points) for part, points in groups.items()} == LARGE_COUNTS
    assert list(groups) == list(LARGE_COUNTS)  # face_recognition's key order
    assert groups["chin"] == list(range(17))
    assert groups["nose_tip"] == [31, 32, 33, 34, 35]
    # outer contour corner to corner, then the inner contour back
    assert groups["top_lip"] == [48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60]
    assert groups["bottom_lip"] == [54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64]
    outside_lips = [i for part, idx in groups.items() if "lip" not in part for i in idx]
    lips = set(groups["top_lip"]) | set(groups["bottom_lip"])
    assert sorted(outside_lips) == list(range(48)) and lips == set(range(48, 68))


def test_small_grouping_and_rounding_like_dlib():
    points = np.array([[10.4, 1], [10.5, 2], [-0.5, 3], [2.49, 4], [7.51, 5]])
    groups = group_landmarks(points, "small")
    assert groups == {
        "nose_tip": [(8, 5)],
        "left_eye": [(0, 3), (2, 4)],
        "right_eye": [(10, 1), (11, 2)],
    }
    assert all(type(v) is int for pts in groups.values() for p in pts for v in p)
    assert PART_INDICES["small"]["nose_tip"] == [4]


def test_grouping_refuses_the_wrong_number_of_points():
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        group_landmarks(_numbered(5))
    with pytest.raises(ValueError, match="'large'.*'small'"):
        group_landmarks(_numbered(68), "medium")


# ----------------------------------------------------------------------------- on photos
@pytest.fixture(scope="module")
def portrait():
    return load_image(PORTRAIT)


def test_the_portrait_has_one_face_its_subject_and_not_the_suit(portrait):
    found = face_landmarks(portrait)
    assert len(found) == 1  # MTCNN's 0.82 "face" on the suit is below the subject floor
    subject = fr_utils.align_face(portrait)
    x, y, w, h = subject.box
    points = np.array([p for part in found[0].values() for p in part])
    assert points.shape == (sum(LARGE_COUNTS.values()), 2)
    assert (points[:, 0] > x - 0.2 * w).all() and (points[:, 0] < x + 1.2 * w).all()
    assert (points[:, 1] > y).all() and (points[:, 1] < y + 1.2 * h).all()
    # the predictor's eyes sit where MTCNN put them (within a tenth of the eye distance)
    eyes = np.array([np.mean(found[0][e], axis=0) for e in ("left_eye", "right_eye")])
    tolerance = 0.1 * np.linalg.norm(subject.landmarks[1] - subject.landmarks[0])
    assert np.linalg.norm(eyes - subject.landmarks[:2], axis=1).max() < tolerance


def test_given_detections_and_every_detection_with_a_low_floor(portrait):
    faces = fr_utils.align_faces(portrait)
    assert len(faces) == 2  # the subject and the suit
    assert face_landmarks(portrait, faces=faces[:1]) == face_landmarks(portrait)
    assert len(face_landmarks(portrait, min_confidence=0.0)) == 2
    small = face_landmarks(portrait, faces=faces[:1], model="small")
    assert {part: len(points) for part, points in small[0].items()} == {
        "nose_tip": 1,
        "left_eye": 2,
        "right_eye": 2,
    }


def test_a_photo_without_a_face_gives_no_landmarks_like_align_faces():
    blank = np.full((240, 320, 3), 128, np.uint8)
    assert fr_utils.align_faces(blank) == []
    assert fr_utils.face_landmarks(blank) == []
    assert face_landmarks(blank, face_locations=[]) == []
    assert face_landmarks(blank, faces=[]) == []


def test_bad_input_raises_clear_errors(portrait):
    with pytest.raises(ValueError, match="path, PIL image or numpy array"):
        face_landmarks(42)
    with pytest.raises(ValueError, match="'large'"):
        face_landmarks(portrait, model="medium")
    with pytest.raises(TypeError, match=r"\(top, right, bottom, left\)"):
        face_landmarks(portrait, face_locations=[("top", "right", "bottom", "left")])
    with pytest.raises(ValueError, match="shape"):
        face_landmarks(portrait, face_locations=[(1, 2, 3)])
    with pytest.raises(ValueError, match="right > left and bottom > top"):
        face_landmarks(portrait, face_locations=[(100, 50, 50, 100)])  # bottom above top
    with pytest.raises(TypeError, match="DetectedFace or AlignedFace"):
        face_landmarks(portrait, faces=[(0, 0, 10, 10)])
    with pytest.raises(TypeError, match="not both"):
        face_landmarks(portrait, face_locations=[(0, 10, 10, 0)], faces=[])


def test_exported_lazily_from_the_package():
    assert "face_landmarks" in fr_utils.__all__
    assert fr_utils.face_landmarks is face_landmarks


# -------------------------------------------------------------------- parity with dlib


@pytest.fixture(scope="module")
def photos_with_dlib_boxes(dlib):
    """A few LFW photos and two public-domain portraits, with the faces dlib's HOG finds."""
    paths = sorted(data_path("faces/lfw").glob("*/*_0001.jpg"))[::400] + [
        PORTRAIT,
        data_path("faces/public_domain/Joe_Biden/biden_official_vp_portrait_2013.jpg"),
    ]
    detector = dlib.get_frontal_face_detector()
    found = []
    for path in paths:
        photo = load_image(path)
        rects = detector(photo, 1 if max(photo.shape) < 800 else 0)
        if len(rects):
            found.append((photo, rects))
    assert sum(len(rects) for _, rects in found) >= 10
    return found


@pytest.mark.parametrize("model", ["large", "small"])
def test_points_match_dlibs_shape_predictor_given_the_same_box(dlib, photos_with_dlib_boxes, model):
    count = {"large": 68, "small": 5}[model]
    theirs = dlib.shape_predictor(str(weights_path(f"dlib_shape_predictor_{count}")))
    errors = []
    for photo, rects in photos_with_dlib_boxes:
        css = [(r.top(), r.right(), r.bottom(), r.left()) for r in rects]
        for rect, ours in zip(rects, face_landmarks(photo, css, model), strict=True):
            reference = [(p.x, p.y) for p in theirs(photo, rect).parts()]
            expected = group_landmarks(np.array(reference, dtype=float), model)
            for part, points in ours.items():
                errors.append(np.linalg.norm(np.subtract(points, expected[part]), axis=1))
    errors = np.concatenate(errors)
    summary = f"{model}: mean {errors.mean():.4f} px, max {errors.max():.3f} px"
    print(f"\n{summary} over {errors.size} grouped points")
    assert errors.mean() < 0.5, summary
    assert (errors == 0).mean() >= 0.99, summary  # same rounding to whole pixels as dlib


def test_landmarks_from_our_detector_are_close_to_dlibs_own_pipeline(dlib, photos_with_dlib_boxes):
    """MTCNN box -> box mapping -> our predictor vs dlib's HOG box -> dlib's predictor."""
    theirs = dlib.shape_predictor(str(weights_path("dlib_shape_predictor_68")))
    errors = []
    for photo, rects in photos_with_dlib_boxes:
        ours = face_landmarks(photo)
        for rect in rects:
            reference = np.array([(p.x, p.y) for p in theirs(photo, rect).parts()], float)
            expected = group_landmarks(reference)
            centre = reference.mean(axis=0)
            # the face of ours nearest to dlib's (the photo may show other people)
            best = min(ours, key=lambda f: np.linalg.norm(np.mean(f["nose_tip"], 0) - centre))
            eye_distance = np.linalg.norm(reference[36:42].mean(0) - reference[42:48].mean(0))
            per_face = np.concatenate(
                [np.linalg.norm(np.subtract(best[p], expected[p]), axis=1) for p in best]
            )
            errors.append(per_face.mean() / eye_distance)
    print(f"\nours end to end vs dlib's pipeline: {np.mean(errors):.2%} of the eye distance")
    # box_mapping reports 2.1 % of the eye distance on average over 386 held-out photos
    assert np.mean(errors) < 0.05, errors


# ------------------------------------------------------------------- notebook 05's figures
def test_the_landmark_figure_draws_every_point_in_its_parts_colour(portrait):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fr_utils.lessons.drawing import PART_COLOURS, draw_landmarks

    marks = face_landmarks(portrait)[0]
    fig, ax = plt.subplots()
    draw_landmarks(ax, portrait, marks, mtcnn=fr_utils.align_face(portrait).landmarks)
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert sum(len(line.get_xdata()) for line in dots) == sum(LARGE_COUNTS.values())
    assert {line.get_color() for line in dots} == set(PART_COLOURS.values())
    assert sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "x") == 5
    labels = ax.get_legend_handles_labels()[1]
    assert "eyes" in labels and "MTCNN's 5" in labels and "left_eye" not in labels
    plt.close(fig)


def test_the_photo_and_chip_strip_has_a_photo_above_each_chip(portrait):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fr_utils.lessons.drawing import photo_chip_strip

    chip = fr_utils.align_face(portrait).chip
    fig = photo_chip_strip([portrait] * 3, [chip] * 3, ["a", "b", "c"], ["g", "r", "g"])
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0]] == ["a", "b", "c"]
    assert axes[0, 1].title.get_color() == "r"
    assert axes[1, 0].images[0].get_array().shape == chip.shape
    plt.close(fig)
