"""Notebook 01's library code and exercise checks."""

import numpy as np
import pytest

from fr_utils.checks.nb01 import check_distance, check_is_same_person
from fr_utils.lessons.one_shot import (
    NOBODY,
    door_split,
    identify,
    predicted_false_accept_rate,
    recognition_errors,
    squared_distance_matrix,
    train_softmax,
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


def _toy_names():
    # 4 people with 4 photos, 6 with one photo
    return [p for p in "abcd" for _ in range(4)] + [f"single{i}" for i in range(6)]


def test_door_split_gives_disjoint_roles():
    names = np.array(_toy_names())
    split = door_split(names, n_known=3, max_shots=2, n_nobody=4, seed=1)
    assert split.enrol.shape == (3, 2) and len(split.known) == 3
    assert split.newcomer not in split.known
    enrolled = set(split.enrol.ravel())
    assert enrolled.isdisjoint(split.probes) and len(split.probes) == 3 * 2
    for row, label in zip(split.probes, split.probe_labels, strict=True):
        assert names[row] == split.known[label]
    for rows, person in zip(split.enrol, split.known, strict=True):
        assert set(names[rows]) == {person}
    assert set(names[split.newcomer_rows]) == {split.newcomer}
    assert len(split.nobody) == 4 and len(split.strangers) == 2
    assert set(split.nobody).isdisjoint(split.strangers)
    assert all(names[r].startswith("single") for r in np.r_[split.nobody, split.strangers])
    with pytest.raises(ValueError, match="lower the numbers"):
        door_split(names, n_known=4, max_shots=2, n_nobody=4)  # 4 known + newcomer > 4 people
    with pytest.raises(ValueError, match="lower the numbers"):
        door_split(names, n_known=2, max_shots=2, n_nobody=6)  # no stranger would be left


def test_train_softmax_learns_separable_classes_and_nobody_deterministically():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:4] * 3.0  # people 0, 1, 2 and "nobody" at the fourth centre
    labels = np.repeat([0, 1, 2, NOBODY], [2, 2, 2, 10])
    x = centres[np.where(labels == NOBODY, 3, labels)] + rng.normal(scale=0.1, size=(16, 8))
    clf = train_softmax(x, labels, n_people=3, steps=200)
    assert clf.weights.shape == (8, 4) and clf.bias.shape == (4,) and clf.n_people == 3
    np.testing.assert_array_equal(clf.predict(x), labels)
    assert clf.final_loss < 0.05
    again = train_softmax(x, labels, n_people=3, steps=200)
    np.testing.assert_allclose(again.weights, clf.weights, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="each class"):
        train_softmax(x[:6], labels[:6], n_people=3)  # no "nobody" row
    with pytest.raises(ValueError, match="NOBODY"):
        train_softmax(x, np.where(labels == 2, 5, labels), n_people=3)


def test_train_softmax_weighs_every_class_the_same():
    # one photo of a person against 50 of "nobody" on the same side: balanced weights keep the
    # person's own photo named, an unweighted loss would call everything "nobody"
    x = np.array([[1.0, 0.0]] + [[1.0, 0.2 * k] for k in range(1, 51)])
    labels = np.array([0] + [NOBODY] * 50)
    clf = train_softmax(x, labels, n_people=1, steps=300)
    assert clf.predict(x[:1])[0] == 0


def test_identify_answers_the_nearest_within_the_threshold():
    gallery = np.array([[0.0, 0.0], [1.0, 0.0]])
    probes = np.array([[0.1, 0.0], [0.9, 0.0], [0.5, 3.0], [1.5, 0.0]])
    got = identify(probes, gallery, np.array([7, 8]), threshold=0.25)
    np.testing.assert_array_equal(got, [7, 8, NOBODY, 8])  # d = 0.25 exactly is a match


def test_on_real_encodings_one_photo_suits_the_similarity_not_the_softmax():
    encodings, names = load_openface_reference()
    tau = best_threshold(*verification_pairs(encodings, names), criterion="balanced")
    split = door_split(names, n_known=10, max_shots=5, n_nobody=100, seed=0)
    rows, labels = split.enrol[:, 0], np.arange(10)
    x = encodings[np.r_[rows, split.nobody]]
    softmax = train_softmax(x, np.r_[labels, np.full(len(split.nobody), NOBODY)], 10)
    softmax_right = np.mean(softmax.predict(encodings[split.probes]) == split.probe_labels)
    similar = identify(encodings[split.probes], encodings[rows], labels, tau)
    assert np.mean(similar == split.probe_labels) > softmax_right + 0.1
    assert set(softmax.predict(encodings[split.newcomer_rows])) <= set(range(10)) | {NOBODY}
