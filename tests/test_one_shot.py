"""Notebook 01's library code and exercise checks."""

import numpy as np
import pytest

from fr_utils.checks.nb01 import check_distance, check_is_same_person
from fr_utils.lessons.one_shot import (
    predicted_false_accept_rate,
    recognition_errors,
    squared_distance_matrix,
    verification_pairs,
)
from fr_utils.lessons.reference import load_openface_reference
from fr_utils.metrics import best_threshold
from workbook.checking import CheckFailed


def reference_distance(f1, f2):
    return np.sum((np.asarray(f1) - np.asarray(f2)) ** 2, axis=-1)


def test_openface_reference_rows_and_names():
    encodings, names = load_openface_reference()
    assert encodings.shape == (918, 128) and encodings.dtype == np.float32
    assert len(set(names)) == 366
    np.testing.assert_allclose(np.linalg.norm(encodings, axis=1), 1.0, atol=1e-5)


def test_squared_distance_matrix_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 8)), rng.normal(size=(3, 8))
    brute = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(squared_distance_matrix(a, b), brute, rtol=1e-10, atol=1e-10)


def test_verification_pairs_counts_and_labels():
    enc = np.eye(4)
    d, same = verification_pairs(enc, ["a", "a", "b", "c"])
    assert len(d) == 6 and same.sum() == 1
    np.testing.assert_allclose(d, 2.0)


def test_balanced_threshold_separates_separable_data():
    d = np.array([0.1, 0.2, 0.3, 1.0, 1.2])
    same = np.array([True, True, True, False, False])
    tau = best_threshold(d, same, criterion="balanced")
    assert 0.3 < tau < 1.0
    with pytest.raises(ValueError):
        best_threshold(d, np.ones(5, bool), criterion="balanced")


def test_recognition_false_accepts_grow_with_gallery_size():
    encodings, names = load_openface_reference()
    d, same = verification_pairs(encodings, names)
    tau = best_threshold(d, same, criterion="balanced")
    errors = recognition_errors(encodings, names, [1, 10, 100], tau, n_trials=300, seed=1)
    fa = errors["false_accept"]
    assert fa[0] < fa[1] < fa[2]
    p = float(np.mean(d[~same] <= tau))
    # one enrolled person: the stranger's false-accept rate is the 1:1 rate
    assert abs(fa[0] - p) < 0.05
    assert predicted_false_accept_rate(p, [1])[0] == pytest.approx(p)
    with pytest.raises(ValueError, match="gallery size"):
        recognition_errors(encodings, names, [1000], tau)


def test_distance_check_accepts_reference_and_rejects_mistakes():
    check_distance(reference_distance)
    mistakes = {
        "plain L2 norm": lambda a, b: np.sqrt(reference_distance(a, b)),
        "sum over all axes": lambda a, b: np.sum((a - b) ** 2),
        "L1 distance": lambda a, b: np.sum(np.abs(a - b), axis=-1),
        "returns None": lambda a, b: None,
    }
    for name, fn in mistakes.items():
        with pytest.raises(CheckFailed):
            check_distance(fn)
        print("caught", name)


def test_distance_check_fails_on_the_stub():
    def stub(f1, f2):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_distance(stub)


def test_is_same_person_check_catches_scale_and_boundary_mistakes():
    check_is_same_person(lambda a, b, t: reference_distance(a, b) <= t)
    with pytest.raises(CheckFailed, match="plain distance"):
        check_is_same_person(lambda a, b, t: np.sqrt(reference_distance(a, b)) <= t)
    with pytest.raises(CheckFailed, match="d <= tau"):
        check_is_same_person(lambda a, b, t: reference_distance(a, b) < t)
