"""Notebook 02's exercise checks: they pass the reference and catch the classic mistakes."""

import numpy as np
import pytest

import fr_utils
from fr_utils.checks.nb02 import (
    check_distance_matrix,
    check_img_to_encoding,
    reference_distance_matrix,
)
from workbook import data_path
from workbook.checking import CheckFailed


def good_distance_matrix(A, B):
    d2 = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T
    return np.sqrt(np.maximum(d2, 0))


def squared_distance_matrix(A, B):
    return (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T


def unclipped_distance_matrix(A, B):
    return np.sqrt((A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T)


def unclipped_float64_distance_matrix(A, B):
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    return np.sqrt((A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2 * A @ B.T)


def looped_distance_matrix(A, B):
    return np.array([[np.linalg.norm(a - b) for b in B] for a in A])


def no_broadcast_distance_matrix(A, B):
    return np.sqrt(np.maximum((A**2).sum() + (B**2).sum() - 2 * A @ B.T, 0))


def stub(*args):
    raise NotImplementedError()


def test_reference_distance_matrix_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 128)), rng.normal(size=(4, 128))
    brute = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(reference_distance_matrix(a, b), brute, rtol=1e-10)
    diagonal = np.diag(reference_distance_matrix(a, a))
    assert (diagonal >= 0).all() and diagonal.max() < 1e-6  # clipped, only round-off left


def test_check_distance_matrix_accepts_the_reference(capsys):
    check_distance_matrix(good_distance_matrix)
    check_distance_matrix(reference_distance_matrix)
    assert "All checks passed for distance_matrix" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (squared_distance_matrix, "squared distance"),
        (unclipped_distance_matrix, "NaN"),
        (unclipped_float64_distance_matrix, "NaN"),
        (looped_distance_matrix, "loop"),
        (no_broadcast_distance_matrix, "wrong"),
    ],
)
def test_check_distance_matrix_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_distance_matrix(mistake)


def test_check_distance_matrix_fails_on_the_stub():
    with pytest.raises(NotImplementedError):
        check_distance_matrix(stub)


def test_the_roundoff_case_really_goes_negative():
    """The check's NaN case is only a test if the unclipped formula goes below zero there."""
    rows = np.random.default_rng(1).normal(size=(128, 128)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    for dtype in (np.float32, np.float64):
        a = rows.astype(dtype)
        d2 = (a**2).sum(1)[:, None] + (a**2).sum(1)[None, :] - 2 * a @ a.T
        assert (np.diag(d2) < 0).any(), dtype


def good_img_to_encoding(image_path, encoder):
    chip = fr_utils.align_face(image_path, encoder.input_size, encoder.padding).chip
    return encoder.encode(chip[None])


def flat_img_to_encoding(image_path, encoder):
    return good_img_to_encoding(image_path, encoder)[0]


def unaligned_img_to_encoding(image_path, encoder):
    return encoder.encode(fr_utils.load_image(image_path)[None])


def resized_img_to_encoding(image_path, encoder):
    from PIL import Image

    photo = Image.fromarray(fr_utils.load_image(image_path)).resize((150, 150))
    return encoder.encode(np.asarray(photo)[None])


@pytest.mark.slow
def test_check_img_to_encoding_accepts_the_reference(capsys):
    check_img_to_encoding(good_img_to_encoding)
    check_img_to_encoding(lambda path, encoder: fr_utils.img_to_encoding(path, encoder))
    assert "All checks passed for img_to_encoding" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (flat_img_to_encoding, r"shape \(128,\)"),
        (unaligned_img_to_encoding, "align"),
        (resized_img_to_encoding, "wrong"),
    ],
)
def test_check_img_to_encoding_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_img_to_encoding(mistake)


@pytest.mark.slow
def test_check_img_to_encoding_fails_on_the_stub():
    with pytest.raises(NotImplementedError):
        check_img_to_encoding(stub)


def test_check_photos_exist():
    from fr_utils.checks.nb02 import _CHECK_PHOTOS

    for relative in _CHECK_PHOTOS:
        assert data_path(relative).is_file()
