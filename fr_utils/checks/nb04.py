"""Checks for the exercises of notebook 04 (face verification as binary classification).

Each ``check_*`` function runs a student's function on fresh inputs, compares it with the
reference in `fr_utils.lessons.pair_features`, and raises `workbook.CheckFailed` with a sentence
naming the likely mistake. It prints one "All checks passed" line when everything matches.
"""

from __future__ import annotations

import numpy as np

from fr_utils.lessons.pair_features import abs_diff_features, chi2_features, logistic_unit
from workbook.checking import (
    CheckFailed,
    as_array,
    expect_close,
    expect_shape,
    passed,
    random_unit_rows,
)

__all__ = ["check_abs_diff_features", "check_chi2_features", "check_logistic_unit"]


def _features(function, name: str, first, second) -> np.ndarray:
    what = f"{name}(f1, f2) for two ({first.shape[0]}, 128) batches"
    out = as_array(function(first, second), what)
    if out.shape == (first.shape[0],):
        raise CheckFailed(
            f"{what} returned one number per pair, shape {out.shape}. Return one feature per"
            f" component, shape {first.shape}: do not sum over the 128 components (the"
            " logistic unit weighs them)."
        )
    return expect_shape(out, first.shape, what)


def check_abs_diff_features(abs_diff_features_fn) -> None:
    """Check ``abs_diff_features(f1, f2)`` = ``|f1 - f2|`` per component, shape kept."""
    rng = np.random.default_rng(21)
    first, second = random_unit_rows(rng, 6), random_unit_rows(rng, 6)
    got = _features(abs_diff_features_fn, "abs_diff_features", first, second)
    if (got < 0).any():
        raise CheckFailed(
            "abs_diff_features has negative values: take the absolute value of f1 - f2."
        )
    if np.allclose(got, (first - second) ** 2, atol=1e-6):
        raise CheckFailed("abs_diff_features squares the difference; use its absolute value.")
    expect_close(got, abs_diff_features(first, second), "abs_diff_features(f1, f2)", atol=1e-6)
    single = as_array(abs_diff_features_fn(first[0], second[0]), "abs_diff_features(f1, f2)")
    expect_shape(single, (128,), "abs_diff_features for two single (128,) encodings")
    passed("abs_diff_features")


def check_chi2_features(chi2_features_fn) -> None:
    """Check ``chi2_features(f1, f2)`` = ``(f1 - f2)^2 / (|f1| + |f2| + eps)`` per component."""
    rng = np.random.default_rng(22)
    first, second = random_unit_rows(rng, 6), random_unit_rows(rng, 6)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = _features(chi2_features_fn, "chi2_features", first, second)
    if not np.isfinite(got).all() or (got < 0).any():
        raise CheckFailed(
            "chi2_features gives negative, infinite or NaN values on unit encodings. Their"
            " components can be negative, so f1_k + f2_k can be <= 0: use the positive"
            " denominator |f1_k| + |f2_k| + eps, as the exercise says."
        )
    expected = chi2_features(first, second)
    if np.allclose(got, np.abs(first - second) / (np.abs(first) + np.abs(second)), rtol=1e-3):
        raise CheckFailed("chi2_features must square the difference (f1_k - f2_k)^2.")
    expect_close(
        got,
        expected,
        "chi2_features(f1, f2)",
        hint="Expected (f1 - f2)**2 / (np.abs(f1) + np.abs(f2) + eps).",
        rtol=1e-4,
        atol=1e-7,
    )
    zeros = np.zeros((2, 128), dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_zero = as_array(chi2_features_fn(zeros, zeros), "chi2_features(0, 0)")
    if not np.isfinite(at_zero).all():
        raise CheckFailed(
            "chi2_features(0, 0) gives NaN (0/0): add the small eps to the denominator."
        )
    expect_close(at_zero, np.zeros((2, 128)), "chi2_features of two zero encodings")
    passed("chi2_features")


def check_logistic_unit(logistic_unit_fn) -> None:
    """Check ``logistic_unit(features, w, b)`` = ``sigmoid(features @ w + b)``, shape ``(n,)``."""
    rng = np.random.default_rng(23)
    features = np.abs(rng.normal(scale=0.05, size=(5, 128)))
    weights = rng.normal(scale=20.0, size=128)
    bias = 1.5
    what = "logistic_unit(features, w, b) for 5 pairs"
    with np.errstate(over="ignore"):
        got = as_array(logistic_unit_fn(features, weights, bias), what)
    if got.shape == (5, 1):
        raise CheckFailed(
            f"{what} should return shape (5,), one probability per pair; you"
            " returned (5, 1). Use a (128,) weight vector, or .ravel() the result."
        )
    expect_shape(got, (5,), what)
    expected = logistic_unit(features, weights, bias)
    z = features @ weights + bias
    if np.allclose(got, z, atol=1e-6):
        raise CheckFailed(
            f"{what} returned z = features @ w + b, the logit: apply the sigmoid 1 / (1 + e^-z)."
        )
    if (got < 0).any() or (got > 1).any():
        raise CheckFailed(f"{what} should return probabilities in [0, 1]; got {got.round(3)}.")
    if np.allclose(got, 1 - expected, atol=1e-6):
        raise CheckFailed(f"{what} computes sigmoid(-z): the sigmoid is 1 / (1 + exp(-z)).")
    if np.allclose(got, logistic_unit(features, weights, 0.0), atol=1e-6):
        raise CheckFailed(f"{what} ignores the bias b: z = features @ w + b.")
    expect_close(got, expected, what, rtol=1e-5, atol=1e-7)
    passed("logistic_unit")
