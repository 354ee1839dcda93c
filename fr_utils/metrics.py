"""The one decision rule of face verification, and how its threshold is chosen.

A face system says "same person" when the distance between two encodings is **at most** a
threshold ``tau``::

    is_match(d, tau)  ==  d <= tau

Everything in `fr_utils` that decides (``verify``, ``who_is_it``, `FaceDatabase.identify`, the
door of notebook 05, the command line, the LFW evaluation) calls `is_match`; everything that
accepts a threshold from a user validates it with `check_threshold`; and every threshold the
project derives from data comes from `best_threshold`. So the rule is written once.

Choosing ``tau`` from labelled pairs is a one-dimensional search: sort the pairs by distance; a
threshold between the ``k``-th and ``(k+1)``-th distance accepts exactly the first ``k`` pairs.
Trying every ``k`` is exact and costs one sort.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CRITERIA",
    "best_threshold",
    "check_threshold",
    "cross_validate",
    "is_match",
    "verification_accuracy",
]

#: What `best_threshold` can maximise.
CRITERIA = ("accuracy", "balanced")
# Distance beyond the smallest / largest pair used when the best threshold accepts no pair / all.
_END_MARGIN = 1e-6


def check_threshold(value, what: str = "threshold") -> float:
    """Return ``value`` as a float if it is a usable distance threshold, else raise.

    A threshold must be a finite number above zero: ``0`` would reject even identical photos
    and ``inf`` would accept everybody. (Between unit-length encodings, plain L2 distances lie
    in ``[0, 2]`` and squared ones in ``[0, 4]``.)

    Args:
        value: the threshold (any number-like value, e.g. a string from a command line).
        what: its name in the error message (e.g. ``"--threshold"``).

    Raises:
        ValueError: not a number, not finite, or not positive; the message says which.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(
            f"{what} must be a finite distance above 0 (unit encodings: L2 distances lie"
            f" between 0 and 2), got {value!r}"
        )
    return number


def is_match(distance, threshold):
    """Return whether ``distance`` means "same person": ``distance <= threshold``.

    Args:
        distance: one distance (a bool is returned) or an array of them (a bool array).
        threshold: from `check_threshold` or `best_threshold`.
    """
    result = np.asarray(distance) <= threshold
    return bool(result) if result.ndim == 0 else result


def _pairs(distances, same) -> tuple[np.ndarray, np.ndarray]:
    distances = np.asarray(distances, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if distances.shape != same.shape or distances.ndim != 1 or len(distances) == 0:
        raise ValueError(
            f"Need equal-length, non-empty 1-D arrays of distances and same-person flags;"
            f" got shapes {distances.shape} and {same.shape}."
        )
    if not np.isfinite(distances).all():
        raise ValueError("distances contain NaN or infinite values")
    return distances, same


def verification_accuracy(distances, same, threshold: float) -> float:
    """Fraction of pairs that `is_match` classifies right at ``threshold``.

    Args:
        distances: ``(m,)`` distance of each pair.
        same: ``(m,)`` bool, True for genuine (same-person) pairs.
        threshold: the decision threshold.
    """
    distances, same = _pairs(distances, same)
    return float(np.mean(is_match(distances, threshold) == same))


def best_threshold(distances, same, criterion: str = "accuracy") -> float:
    """Return the threshold that classifies labelled pairs best with `is_match`.

    Args:
        distances: ``(m,)`` distance of each pair (plain or squared: the rule does not care).
        same: ``(m,)`` bool, True for genuine pairs.
        criterion: ``"accuracy"`` (fraction of pairs right: right when genuine and impostor
            pairs come in the proportion the system will meet, e.g. LFW's balanced pairs) or
            ``"balanced"`` (mean of the genuine and the impostor accept rates, Youden's J:
            weighs the two kinds equally, right when impostor pairs vastly outnumber genuine
            ones, as among all pairs of a photo collection).

    Returns:
        A threshold halfway between two consecutive distinct sorted distances (or just below
        the smallest / above the largest when accepting no pair / every pair is best). When
        several thresholds score the same, the middle one of them is returned, which keeps
        the choice stable when a few pairs change.

    Raises:
        ValueError: mismatched or empty inputs, an unknown criterion, or (``"balanced"``) pairs
            of only one kind.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    distances, same = _pairs(distances, same)
    if criterion == "balanced" and (same.all() or not same.any()):
        raise ValueError("need both genuine (same) and impostor (different) pairs")
    order = np.argsort(distances, kind="stable")
    d, s = distances[order], same[order]
    # Accepting the first k sorted pairs (k = 0..m): true accepts and true rejects.
    true_accepts = np.concatenate([[0], np.cumsum(s)])
    true_rejects = (~s).sum() - np.concatenate([[0], np.cumsum(~s)])
    if criterion == "accuracy":
        score = (true_accepts + true_rejects) / len(d)
    else:
        score = (true_accepts / s.sum() + true_rejects / (~s).sum()) / 2
    # A cut between two equal distances is impossible: only k where d[k-1] < d[k] count.
    possible = np.concatenate([[True], d[1:] > d[:-1], [True]])
    score = np.where(possible, score, -np.inf)
    best = np.flatnonzero(score == score.max())
    k = int(best[len(best) // 2])
    if k == 0:
        return float(d[0] - _END_MARGIN)
    if k == len(d):
        return float(d[-1] + _END_MARGIN)
    return float((d[k - 1] + d[k]) / 2)


def cross_validate(distances, same, folds, criterion: str = "accuracy") -> dict:
    """Leave-one-fold-out accuracy: each fold is judged at the threshold of the other folds.

    Args:
        distances, same: as in `best_threshold`.
        folds: ``(m,)`` fold label of each pair (LFW view 2: folds 1-10).
        criterion: passed to `best_threshold`.

    Returns:
        ``{"folds": [{"fold", "threshold", "accuracy"}, ...], "mean_accuracy",
        "std_accuracy"}`` (the standard deviation over folds, as LFW results are reported).
    """
    distances, same = _pairs(distances, same)
    folds = np.asarray(folds)
    per_fold = []
    for fold in np.unique(folds):
        held = folds == fold
        threshold = best_threshold(distances[~held], same[~held], criterion)
        accuracy = verification_accuracy(distances[held], same[held], threshold)
        per_fold.append({"fold": int(fold), "threshold": threshold, "accuracy": accuracy})
    accuracies = np.array([fold["accuracy"] for fold in per_fold])
    return {
        "folds": per_fold,
        "mean_accuracy": float(accuracies.mean()),
        "std_accuracy": float(accuracies.std()),
    }
