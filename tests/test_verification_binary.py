"""Notebook 04's library code (pair features, logistic head, LFW pairs) and exercise checks."""

import numpy as np
import pytest

from fr_utils.checks.nb04 import (
    check_abs_diff_features,
    check_chi2_features,
    check_logistic_unit,
)
from fr_utils.lessons.pair_features import (
    abs_diff_features,
    chi2_features,
    head_weights,
    logistic_unit,
    train_verification_head,
)
from fr_utils.lfw.pairs import Pairs, identity_of, official_pairs, training_pairs
from workbook.checking import CheckFailed


def unit_rows(seed, n=8):
    rows = np.random.default_rng(seed).normal(size=(n, 128)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def stub(*args, **kwargs):
    raise NotImplementedError()


# ---- reference features and head -------------------------------------------------------------


def test_chi2_features_positive_bounded_and_equal_to_the_lecture_form_when_nonnegative():
    f1, f2 = unit_rows(0), unit_rows(1)
    chi2 = chi2_features(f1, f2)
    assert np.isfinite(chi2).all() and (chi2 >= 0).all()
    assert (chi2 <= abs_diff_features(f1, f2) + 1e-6).all()
    np.testing.assert_allclose(chi2, chi2_features(f2, f1))
    p1, p2 = np.abs(f1), np.abs(f2)  # non-negative encodings: the lecture's (f1-f2)^2/(f1+f2)
    lecture = (p1 - p2) ** 2 / (p1 + p2 + 1e-6)
    np.testing.assert_allclose(chi2_features(p1, p2), lecture, rtol=1e-5)
    assert (chi2_features(np.zeros(3), np.zeros(3)) == 0).all()


def test_lecture_denominator_goes_negative_on_unit_encodings():
    """Why the notebook changes the denominator: f1_k + f2_k < 0 happens on real-like data."""
    f1, f2 = unit_rows(0), unit_rows(1)
    assert ((f1 + f2) < 0).any()
    with pytest.raises(ValueError, match="eps"):
        chi2_features(f1, f2, eps=0)


def test_logistic_unit_is_stable_and_matches_the_formula():
    features = np.array([[0.0], [1.0], [-1.0], [1000.0], [-1000.0]])
    with np.errstate(over="raise"):
        p = logistic_unit(features, np.array([2.0]), 0.5)
    z = features[:, 0] * 2 + 0.5
    np.testing.assert_allclose(p[:3], 1 / (1 + np.exp(-z[:3])))
    assert p[3] == 1.0 and p[4] == 0.0


@pytest.mark.slow
def test_trained_head_separates_pairs_and_matches_keras():
    rng = np.random.default_rng(0)
    anchors = unit_rows(2, 200)
    same = rng.random(200) < 0.5
    noise = rng.normal(scale=0.03, size=anchors.shape).astype(np.float32)
    others = np.where(same[:, None], anchors + noise, unit_rows(3, 200))
    features = abs_diff_features(anchors, others)
    model, history = train_verification_head(features, same, epochs=30, learning_rate=0.05)
    assert history.history["loss"][-1] < history.history["loss"][0]
    w, b = head_weights(model)
    p = logistic_unit(features, w, b)
    np.testing.assert_allclose(p, model.predict(features, verbose=0).ravel(), atol=1e-5)
    assert np.mean((p > 0.5) == same) > 0.95


# ---- LFW pairs -------------------------------------------------------------------------------


def test_official_pairs_are_balanced_and_reproducible():
    test = official_pairs(40, seed=3)
    assert len(test) == 40 and test.same.sum() == 20
    again = official_pairs(40, seed=3)
    assert again.paths_a == test.paths_a and again.paths_b == test.paths_b
    assert official_pairs(40, seed=4).paths_a != test.paths_a
    for a, b, same in zip(test.paths_a, test.paths_b, test.same, strict=True):
        assert (identity_of(a) == identity_of(b)) == same
    with pytest.raises(ValueError, match="split"):
        official_pairs(10, split="view3")
    with pytest.raises(ValueError, match="even"):
        official_pairs(11)


def test_training_pairs_avoid_the_excluded_people():
    test = official_pairs(100, seed=0)
    train = training_pairs(200, exclude=test.identities(), seed=0)
    assert len(train) == 200 and train.same.sum() == 100
    assert not train.identities() & test.identities()
    for a, b, same in zip(train.paths_a, train.paths_b, train.same, strict=True):
        assert a != b and (identity_of(a) == identity_of(b)) == same
    assert len({(a, b) for a, b in zip(train.paths_a, train.paths_b, strict=True)}) == 200


def test_pairs_index_rows_of_the_distinct_images():
    pairs = Pairs(("A/A_1.jpg", "B/B_1.jpg"), ("A/A_2.jpg", "A/A_1.jpg"), np.array([True, False]))
    images = pairs.images()
    assert images == ["A/A_1.jpg", "A/A_2.jpg", "B/B_1.jpg"]
    rows_a, rows_b = pairs.index(images)
    assert [images[i] for i in rows_a] == list(pairs.paths_a)
    assert [images[i] for i in rows_b] == list(pairs.paths_b)
    with pytest.raises(KeyError, match="not in"):
        pairs.index(images[:1])
    with pytest.raises(ValueError, match="one entry per pair"):
        Pairs(("A/A_1.jpg",), (), np.array([True]))


# ---- exercise checks -------------------------------------------------------------------------


def test_checks_accept_the_references(capsys):
    check_abs_diff_features(abs_diff_features)
    check_abs_diff_features(lambda f1, f2: np.abs(np.asarray(f1) - np.asarray(f2)))
    check_chi2_features(chi2_features)
    check_chi2_features(lambda f1, f2, eps=1e-6: (f1 - f2) ** 2 / (abs(f1) + abs(f2) + eps))
    check_logistic_unit(logistic_unit)
    check_logistic_unit(lambda x, w, b: 1 / (1 + np.exp(-(x @ w + b))))
    assert capsys.readouterr().out.count("All checks passed") == 6


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (lambda f1, f2: f1 - f2, "negative"),
        (lambda f1, f2: (f1 - f2) ** 2, "squares"),
        (lambda f1, f2: np.abs(f1 - f2).sum(axis=-1), "one number per pair"),
    ],
)
def test_check_abs_diff_features_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_abs_diff_features(mistake)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        # the lecture's denominator, unchanged: negative and infinite values on unit encodings
        (lambda f1, f2, eps=1e-6: (f1 - f2) ** 2 / (f1 + f2 + eps), "negative"),
        (lambda f1, f2, eps=1e-6: (f1 - f2) ** 2 / (np.abs(f1) + np.abs(f2)), "eps"),
        (lambda f1, f2, eps=1e-6: np.abs(f1 - f2) / (np.abs(f1) + np.abs(f2) + eps), "square"),
        (lambda f1, f2, eps=1e-6: (f1 - f2) ** 2 / np.abs(f1 + f2 + eps), "wrong"),
    ],
)
def test_check_chi2_features_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_chi2_features(mistake)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (lambda x, w, b: x @ w + b, "logit"),
        (lambda x, w, b: 1 / (1 + np.exp(x @ w + b)), "sigmoid"),
        (lambda x, w, b: 1 / (1 + np.exp(-(x @ w))), "bias"),
        (lambda x, w, b: 1 / (1 + np.exp(-(x @ w.reshape(-1, 1) + b))), r"\(5, 1\)"),
    ],
)
def test_check_logistic_unit_names_the_mistake(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_logistic_unit(mistake)


@pytest.mark.parametrize(
    "check", [check_abs_diff_features, check_chi2_features, check_logistic_unit]
)
def test_checks_fail_on_the_stub(check):
    with pytest.raises(NotImplementedError):
        check(stub)


@pytest.mark.slow
def test_funneled_encoding_separates_one_person_from_another():
    import fr_utils
    from fr_utils.lfw.pairs import encode_funneled, funneled_landmarks

    photos = [f"Colin_Powell/Colin_Powell_000{i}.jpg" for i in (1, 2)] + [
        "Laura_Bush/Laura_Bush_0001.jpg"
    ]
    landmarks = funneled_landmarks(photos)
    # deep-funneled LFW: eyes near (104, 112) and (146, 112), mouth corners near y = 158
    assert landmarks.shape == (5, 2)
    assert np.abs(landmarks[0] - (104, 112)).max() < 10 and landmarks[1, 0] > landmarks[0, 0]
    codes = encode_funneled(photos, fr_utils.load_face_model(), landmarks, batch_size=2)
    assert codes.shape == (3, 128) and codes.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)
    same = np.linalg.norm(codes[0] - codes[1])
    different = min(np.linalg.norm(codes[0] - codes[2]), np.linalg.norm(codes[1] - codes[2]))
    assert same < 0.45 < different
