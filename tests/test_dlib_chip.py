"""dlib's face chip geometry (`dlib_chip_transform`) and sampling, against dlib itself."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from fr_utils.models import dlib_chip
from fr_utils.models.dlib_chip import DLIB_TEMPLATE_5, dlib_chip_transform, extract_dlib_chip
from workbook import data_path, weights_path
from workbook.images import load_image

PUBLIC_DOMAIN = sorted(p for p in data_path("faces/public_domain").rglob("*") if p.is_file())


def test_landmarks_on_the_template_give_dlibs_half_pixel_shift():
    """A face already at chip size: scale 1, no turn, but chip pixel u samples u + 0.5.

    dlib centres its rectangle on where the similarity sends (size/2, size/2) and then puts
    chip pixels 0 and size - 1 on the rectangle's edges, so the chip's middle is (size-1)/2.
    """
    landmarks = (0.25 + DLIB_TEMPLATE_5) / 1.5 * 150
    np.testing.assert_allclose(
        dlib_chip_transform(landmarks), [[1, 0, 0.5], [0, 1, 0.5]], atol=1e-9
    )


def test_transform_follows_a_turned_and_scaled_face():
    angle, scale, shift = np.deg2rad(20), 2.0, np.array([40.0, -7.0])
    turn = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    template = (0.25 + DLIB_TEMPLATE_5) / 1.5 * 150
    transform = dlib_chip_transform(template @ turn.T + shift)
    step = turn * (150 * scale - 1) / (149 * scale)  # one chip pixel in photo pixels
    np.testing.assert_allclose(transform[:, :2], step, atol=1e-9)
    centre = turn @ (75, 75) + shift  # the chip's middle pixel lands on the template centre
    np.testing.assert_allclose(transform[:, :2] @ (74.5, 74.5) + transform[:, 2], centre, atol=1e-9)


@pytest.mark.parametrize(
    "landmarks, kwargs",
    [(np.zeros((4, 2)), {}), (np.full((5, 2), np.nan), {}), (np.eye(5, 2), {"size": 1})],
)
def test_bad_arguments_raise(landmarks, kwargs):
    with pytest.raises(ValueError):
        dlib_chip_transform(landmarks, **kwargs)
    with pytest.raises(ValueError, match="uint8"):
        extract_dlib_chip(np.zeros((9, 9, 3), np.float32), DLIB_TEMPLATE_5 * 9)


@pytest.fixture(scope="module")
def dlib():
    if os.environ.get("CI"):
        import dlib  # the `test` extra has dlib-bin: never skip in CI
    else:
        dlib = pytest.importorskip("dlib", reason="needs the dlib-bin wheel (test extra)")
    return dlib


@pytest.fixture(scope="module")
def dlib_faces(dlib):
    """(photo, dlib 5-point detection): LFW photos (small faces: dlib samples the photo itself),
    the public-domain portraits and an LFW photo enlarged 6x (big faces: dlib samples an image
    pyramid, one and two levels down)."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(weights_path("dlib_shape_predictor_5")))
    lfw = sorted(data_path("faces/lfw").glob("*/*_0001.jpg"))[::500]
    photos = [load_image(path) for path in lfw + PUBLIC_DOMAIN]
    photos.append(np.asarray(Image.fromarray(photos[0]).resize((1500, 1500))))
    faces = []
    for photo in photos:
        rects = detector(photo, 1 if max(photo.shape) < 800 else 0)
        if len(rects):
            faces.append((photo, predictor(photo, rects[0])))
    assert len(faces) >= 12
    return faces


def test_transform_matches_dlibs_face_chip_details(dlib, dlib_faces):
    for _, detection in dlib_faces:
        landmarks = np.array([(p.x, p.y) for p in detection.parts()], float)
        details = dlib.get_face_chip_details(detection, 150, 0.25)
        rect, angle = details.rect, details.angle
        centre = np.array([rect.left() + rect.right(), rect.top() + rect.bottom()]) / 2
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = {(0, 0): (rect.left(), rect.top()), (149, 0): (rect.right(), rect.top())}
        transform = dlib_chip_transform(landmarks)
        for chip_point, photo_point in corners.items():
            expected = turn @ (np.array(photo_point) - centre) + centre
            np.testing.assert_allclose(transform[:, :2] @ chip_point + transform[:, 2], expected)


def test_chip_pixels_match_dlibs_get_face_chip(dlib, dlib_faces):
    differences, pyramid_levels = [], set()
    for photo, detection in dlib_faces:
        rect = dlib.get_face_chip_details(detection, 150, 0.25).rect
        rect, levels = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()]), 0
        while dlib_chip._area(rect := dlib_chip._rect_down(rect)) > 150 * 150:
            levels += 1
        pyramid_levels.add(levels)
        landmarks = np.array([(p.x, p.y) for p in detection.parts()], float)
        theirs = np.asarray(dlib.get_face_chip(photo, detection, 150, 0.25), dtype=np.int16)
        differences.append(np.abs(extract_dlib_chip(photo, landmarks) - theirs))
    differences = np.stack(differences)
    mean, largest = differences.mean(), differences.max()
    print(f"\nchip |diff| vs dlib.get_face_chip: mean {mean:.4f}, max {largest}")
    assert pyramid_levels >= {0, 1, 2}  # the photo itself, one and two levels down
    assert differences.mean() < 0.01 and (differences == 0).mean() > 0.999
