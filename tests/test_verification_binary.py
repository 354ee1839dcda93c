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


@pytest.mark.slow
def test_pooled_features_and_last_layer_reproduce_the_encoder():
    import fr_utils
    from fr_utils.lessons.siamese import descriptor_kernel, encode_pooled, pooled_features
    from fr_utils.lfw.pairs import funneled_chips

    encoder = fr_utils.load_face_model()
    landmarks = np.array([[104, 112], [146, 111.5], [124.5, 137.5], [108.5, 158.5], [144, 158.5]])
    photos = ["Colin_Powell/Colin_Powell_0001.jpg", "Laura_Bush/Laura_Bush_0001.jpg"]
    chips = funneled_chips(photos, landmarks, encoder.input_size, encoder.padding)
    assert chips.shape == (2, 150, 150, 3) and chips.dtype == np.uint8 and chips.std() > 20
    pooled = pooled_features(encoder.model, chips, batch_size=1)
    kernel = descriptor_kernel(encoder.model)
    assert pooled.shape == (2, kernel.shape[0]) and kernel.shape == (256, 128)
    plain = encoder.encode(chips, mirror=False)  # the network alone, without the mirror image
    np.testing.assert_allclose(encode_pooled(pooled, kernel), plain, atol=1e-5)


# ---- pixel baseline and the end-to-end Siamese network ---------------------------------------


def test_pixel_distances_are_l2_between_scaled_pixels_in_chunks():
    from fr_utils.lessons.pair_features import pixel_distances

    chips = np.random.default_rng(0).integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8)
    first, second = np.array([0, 1, 2, 4, 3]), np.array([1, 1, 4, 0, 2])
    brute = [
        np.linalg.norm(chips[a] / 255.0 - chips[b] / 255.0)
        for a, b in zip(first, second, strict=True)
    ]
    np.testing.assert_allclose(pixel_distances(chips, first, second, chunk=2), brute, rtol=1e-5)
    assert pixel_distances(chips, first, second)[1] == 0.0


def _pooled_pairs(seed=0, n=80, width=16, codes=8):
    """Pooled features of pairs whose 'identity' is a random direction, plus a true kernel."""
    rng = np.random.default_rng(seed)
    people = rng.normal(size=(10, width)).astype(np.float32)
    a_id = rng.integers(0, 10, n)
    same = rng.random(n) < 0.5
    b_id = np.where(same, a_id, (a_id + rng.integers(1, 10, n)) % 10)
    noise = lambda: rng.normal(scale=0.6, size=(n, width)).astype(np.float32)  # noqa: E731
    kernel = rng.normal(size=(width, codes)).astype(np.float32)
    return people[a_id] + noise(), people[b_id] + noise(), same, kernel


def test_build_siamese_is_the_formula_with_one_shared_layer():
    from fr_utils.lessons.siamese import build_siamese, encode_pooled

    pooled_a, pooled_b, _, kernel = _pooled_pairs()
    w = np.random.default_rng(1).normal(size=kernel.shape[1]).astype(np.float32)
    model = build_siamese(kernel, w, b=0.3)
    expected = logistic_unit(
        abs_diff_features(encode_pooled(pooled_a, kernel), encode_pooled(pooled_b, kernel)), w, 0.3
    )
    got = model.predict([pooled_a, pooled_b], verbose=0).ravel()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    shared = [v for v in model.trainable_variables if "descriptor" in v.path]
    assert len(shared) == 1, "both branches must use the same last layer"


def test_train_siamese_moves_the_shared_layer_and_records_validation_auc():
    from fr_utils.lessons.siamese import siamese_weights, train_siamese

    pooled_a, pooled_b, same, kernel = _pooled_pairs()
    va, vb, vsame, _ = _pooled_pairs(seed=1)
    model, history = train_siamese(
        pooled_a, pooled_b, same, kernel, epochs=4, learning_rate=0.05, batch_size=20,
        validation=(va, vb, vsame),
    )  # fmt: skip
    tuned, w, b = siamese_weights(model)
    assert not np.allclose(tuned, kernel) and np.abs(w).sum() > 0  # both parts were trained
    assert len(history.history["val_auc"]) == 4
    assert all(0.0 <= auc <= 1.0 for auc in history.history["val_auc"])
    assert history.history["loss"][-1] < history.history["loss"][0]
    again, _ = train_siamese(
        pooled_a, pooled_b, same, kernel, epochs=4, learning_rate=0.05, batch_size=20
    )
    np.testing.assert_allclose(siamese_weights(again)[0], tuned, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one row per pair|n labels"):
        train_siamese(pooled_a, pooled_b[:-1], same, kernel)


def test_split_by_people_never_shares_a_person():
    from fr_utils.lessons.siamese import split_by_people

    train = training_pairs(200, exclude=set(), seed=2)
    first, second = split_by_people(train, seed=3)
    assert first.any() and second.any() and not (first & second).any()
    people = [
        {identity_of(p) for i in np.flatnonzero(mask) for p in (train.paths_a[i], train.paths_b[i])}
        for mask in (first, second)
    ]
    assert not people[0] & people[1]
    crossing = ~first & ~second
    assert all(not train.same[i] for i in np.flatnonzero(crossing))  # only impostors cross
