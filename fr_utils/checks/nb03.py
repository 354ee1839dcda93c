"""Checks for the exercises of notebook 03 (triplet loss), with a diagnosis of the usual bugs.

`check_triplet_loss` runs the student's ``triplet_loss`` on hand-checkable batches and on a
random one, compares with `fr_utils.losses.triplet_loss`, and, when they differ, recomputes
the classic wrong versions on the same inputs to say which mistake was made: the mean
instead of the sum, a missing ``max(., 0)``, plain instead of squared distances, distances
summed over the wrong axis, the margin outside the ``max`` or a hard-coded margin. Then it
passes the same kind of batches as Python lists and as NumPy arrays, the way the course's own
test cell calls the loss, and says how to convert them when the function cannot take them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fr_utils.losses import triplet_loss as _reference
from workbook.checking import CheckFailed, as_array, call_student, passed

__all__ = ["check_batch_hard_triplets", "check_triplet_loss"]

_FORMULA = "J = sum_i max(||a_i - p_i||^2 - ||a_i - n_i||^2 + alpha, 0)"


@dataclass(frozen=True)
class _Case:
    """One input of the check: a named batch of triplets and a margin."""

    name: str
    anchor: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    alpha: float | None  # None: call without alpha, i.e. with the default 0.2
    kind: str = "tensor"  # how the batch is passed: "tensor", "list" (Python lists) or "numpy"


def _cases() -> list[_Case]:
    rng = np.random.default_rng(3)
    zero = np.zeros((4, 3), np.float32)
    # One easy triplet: d(A,P) = 0.01, d(A,N) = 1, so 0.01 - 1 + 0.2 < 0 and the loss is exactly 0.
    easy = [np.array([[0.0, 0.0]], np.float32), [[0.1, 0.0]], [[1.0, 0.0]]]
    return [
        _Case("one easy triplet (loss exactly 0)", *(np.float32(x) for x in easy), None),
        _Case("4 triplets of all-zero encodings (loss exactly 4 * alpha)", zero, zero, zero, 0.3),
        _Case(
            "a random batch of 6 triplets of 5-D encodings",
            *(rng.normal(scale=0.3, size=(6, 5)).astype(np.float32) for _ in range(3)),
            0.5,
        ),
    ]


def _squared(a, b, axis=-1):
    return np.sum(np.square(a - b), axis=axis)


def _plain(a, b, axis=-1):
    return np.sqrt(np.sum(np.square(a - b), axis=axis))


# Each wrong version: (what it computes, diagnosis). Arguments: anchor, positive, negative, alpha.
_MISTAKES = [
    (
        lambda a, p, n, alpha: np.mean(np.maximum(_squared(a, p) - _squared(a, n) + alpha, 0)),
        "It matches the MEAN over the batch: the triplet loss is a SUM over the m triplets"
        " (use tf.reduce_sum, not tf.reduce_mean, for the last step).",
    ),
    (
        lambda a, p, n, alpha: np.sum(_squared(a, p) - _squared(a, n) + alpha),
        "It matches the loss WITHOUT max(., 0): a triplet whose negative is already far enough"
        " must contribute 0, not a negative number (use tf.maximum(basic_loss, 0.0)).",
    ),
    (
        lambda a, p, n, alpha: np.sum(np.maximum(_plain(a, p) - _plain(a, n) + alpha, 0)),
        "It matches PLAIN (square-rooted) distances: the lecture's loss uses SQUARED distances"
        " ||a - p||^2 = sum of squared differences, with no square root.",
    ),
    (
        lambda a, p, n, alpha: np.sum(np.maximum(_plain(a, p) - _squared(a, n) + alpha, 0)),
        "It matches a PLAIN distance for the positive but a SQUARED one for the negative:"
        " use the squared distance for both.",
    ),
    (
        lambda a, p, n, alpha: np.sum(np.maximum(_squared(a, p) - _plain(a, n) + alpha, 0)),
        "It matches a SQUARED distance for the positive but a PLAIN one for the negative:"
        " use the squared distance for both.",
    ),
    (
        lambda a, p, n, alpha: np.sum(
            np.maximum(_squared(a, p, axis=0) - _squared(a, n, axis=0) + alpha, 0)
        ),
        "It matches distances summed over the WRONG AXIS (axis=0, over the batch): each"
        " distance is a sum over the encoding's d numbers, i.e. axis=-1.",
    ),
    (
        lambda a, p, n, alpha: np.maximum(
            _squared(a, p, axis=None) - _squared(a, n, axis=None) + alpha, 0
        ),
        "It matches distances summed over ALL axes (no axis argument): that adds the whole"
        " batch into one number before the max; sum over axis=-1 to get one distance per triplet.",
    ),
    (
        lambda a, p, n, alpha: np.sum(np.maximum(_squared(a, p) - _squared(a, n), 0)) + alpha,
        "It matches alpha added OUTSIDE the max (once): the margin goes inside,"
        " max(d(A,P) - d(A,N) + alpha, 0), once per triplet.",
    ),
    (
        lambda a, p, n, alpha: np.sum(np.maximum(_squared(a, p) - _squared(a, n) + 0.2, 0)),
        "It matches a hard-coded margin of 0.2: use the `alpha` argument.",
    ),
]


def _plain_cases() -> list[_Case]:
    """Batches passed as Python lists and NumPy arrays (float64), as the course's test cell does."""
    rng = np.random.default_rng(4)
    swapped = [
        np.float32([[1, 0], [0, 1]]),
        np.float32([[1, 0], [0, 1]]),
        np.float32([[0, 1], [1, 0]]),
    ]
    return [
        _Case(
            "one triplet of equal encodings, as Python lists",
            *np.ones((3, 2), np.float32),
            5.0,
            "list",
        ),
        _Case("2 triplets as nested Python lists", *swapped, 3.0, "list"),
        _Case(
            "a float64 NumPy batch of 3 triplets",
            *rng.normal(scale=0.4, size=(3, 3, 4)),
            0.2,
            "numpy",
        ),
    ]


def _as_given(array: np.ndarray, kind: str):
    import tensorflow as tf

    if kind == "list":
        return array.tolist()
    return array if kind == "numpy" else tf.constant(array)


def _run(fn: Callable, case: _Case) -> object:
    """Call ``fn`` as Keras calls a loss: ``fn(y_true, [anchor, positive, negative], alpha)``."""
    import tensorflow as tf

    y_pred = [_as_given(x, case.kind) for x in (case.anchor, case.positive, case.negative)]
    if case.kind == "list":
        y_pred = tuple(y_pred)  # the course's test cell passes a tuple of lists
    labels = tf.zeros((len(case.anchor), 1))  # ignored by the triplet loss, as in Keras
    alpha = {} if case.alpha is None else {"alpha": case.alpha}
    return call_student(fn, labels, y_pred, what=f"triplet_loss on {case.name}", **alpha)


def _scalar(value, case: _Case) -> float:
    array = as_array(value, "triplet_loss")
    if array.size != 1:
        hint = (
            " You returned one value per triplet: sum them with tf.reduce_sum."
            if array.shape == (len(case.anchor),)
            else ""
        )
        raise CheckFailed(
            f"triplet_loss should return a scalar; on {case.name} it returned shape"
            f" {tuple(array.shape)}.{hint}"
        )
    return float(array.reshape(()))


def _diagnose(got: list[float], cases: list[_Case]) -> str:
    """Name the mistake whose outputs match ``got`` on every case (or on the failing ones)."""
    inputs = [(c.anchor.astype(np.float64), c.positive, c.negative, c.alpha or 0.2) for c in cases]
    expected = [float(_reference(None, [c.anchor, c.positive, c.negative], alpha=c.alpha or 0.2))
                for c in cases]  # fmt: skip
    wrong = [i for i in range(len(cases)) if not _close(got[i], expected[i])]
    for indices in (range(len(cases)), wrong):
        for mistake, diagnosis in _MISTAKES:
            if all(_close(got[i], float(mistake(*inputs[i]))) for i in indices):
                return diagnosis
    return f"Check each step against the formula {_FORMULA}."


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=1e-4, atol=1e-5))


def _expected(case: _Case) -> float:
    alpha = 0.2 if case.alpha is None else case.alpha
    return float(_reference(None, [case.anchor, case.positive, case.negative], alpha=alpha))


def _run_plain(fn: Callable, case: _Case) -> float:
    """`_run` for a list or NumPy case: a crash there means the inputs were not converted."""
    try:
        return _scalar(_run(fn, case), case)
    except CheckFailed as failure:
        raise CheckFailed(
            f"{failure} triplet_loss must also accept Python lists and NumPy arrays, as the"
            " course's test cell passes them: turn each of y_pred's three parts into a float32"
            " tensor first, with tf.cast(x, tf.float32) (the given first line does)."
        ) from None


def check_triplet_loss(triplet_loss: Callable) -> None:
    """Check a student's ``triplet_loss(y_true, y_pred, alpha=0.2)`` against the reference.

    Tensor batches first (a wrong value is diagnosed), then the same kind of batches given as
    Python lists and as NumPy arrays.

    Raises:
        CheckFailed: with the first input it gets wrong, the expected and returned values, and
            the likely mistake (mean instead of sum, missing max, plain distances, wrong axis...,
            or inputs not converted to tensors).
    """
    for cases, run in ((_cases(), None), (_plain_cases(), _run_plain)):
        if run is None:
            got = [_scalar(_run(triplet_loss, case), case) for case in cases]
        else:
            got = [run(triplet_loss, case) for case in cases]
        for case, value in zip(cases, got, strict=True):
            expected = _expected(case)
            if not _close(value, expected):
                alpha = 0.2 if case.alpha is None else case.alpha
                raise CheckFailed(
                    f"triplet_loss is wrong on {case.name} (alpha={alpha}): expected"
                    f" {expected:.6g}, got {value:.6g}. {_diagnose(got, cases)}"
                )
    passed("triplet_loss")


def _mining_case(seed: int, people: int, photos: int):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(people), photos)
    rng.shuffle(labels)
    codes = rng.normal(size=(len(labels), 3)) + 1.5 * rng.normal(size=(people, 3))[labels]
    distances = ((codes[:, None] - codes[None]) ** 2).sum(-1)
    return distances, labels


def _as_indices(value, n: int, what: str) -> np.ndarray:
    array = as_array(value, what)
    if array.shape != (n,) or not np.all(array == np.round(array)):
        raise CheckFailed(
            f"{what} should be {n} integer indices, one per anchor; got shape {array.shape}."
        )
    return array.astype(np.int64)


def check_batch_hard_triplets(batch_hard_triplets: Callable) -> None:
    """Check a student's ``batch_hard_triplets(distances, labels)`` against the definition.

    The function gets an ``(n, n)`` matrix of squared distances and ``(n,)`` labels and must
    return ``(positive_index, negative_index)``: for every anchor, its farthest positive (same
    label, not itself) and its closest negative (another label).

    Raises:
        CheckFailed: naming the first anchor it gets wrong and the likely mistake.
    """
    for seed, people, photos in [(0, 3, 3), (1, 6, 4), (2, 16, 4)]:
        distances, labels = _mining_case(seed, people, photos)
        n = len(labels)
        same = labels[:, None] == labels[None, :]
        want_pos = np.where(same & ~np.eye(n, dtype=bool), distances, -np.inf).argmax(axis=1)
        want_neg = np.where(~same, distances, np.inf).argmin(axis=1)
        result = call_student(
            batch_hard_triplets, distances.copy(), labels.copy(), what="batch_hard_triplets"
        )
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise CheckFailed(
                "batch_hard_triplets should return a pair (positive_index, negative_index)."
            )
        positive = _as_indices(result[0], n, "positive_index")
        negative = _as_indices(result[1], n, "negative_index")
        if np.any((positive < 0) | (positive >= n) | (negative < 0) | (negative >= n)):
            raise CheckFailed(f"Indices must lie in 0..{n - 1} (rows of the batch).")
        rows = np.arange(n)
        for i in rows:
            if positive[i] == i:
                hint = "the anchor itself is not a positive: mask the diagonal out."
            elif labels[positive[i]] != labels[i]:
                hint = "the positive must have the anchor's label: mask other labels out."
            elif labels[negative[i]] == labels[i]:
                hint = "the negative must have ANOTHER label: mask the anchor's label out."
            elif positive[i] != want_pos[i]:
                closest = np.where(same[i] & (rows != i), distances[i], np.inf).argmin()
                hint = (
                    "you took the CLOSEST positive; batch-hard takes the FARTHEST one (argmax)."
                    if positive[i] == closest
                    else "the positive should be the farthest one with the anchor's label."
                )
            elif negative[i] != want_neg[i]:
                farthest = np.where(~same[i], distances[i], -np.inf).argmax()
                hint = (
                    "you took the FARTHEST negative; batch-hard takes the CLOSEST one (argmin)."
                    if negative[i] == farthest
                    else "the negative should be the closest one with another label."
                )
            else:
                continue
            raise CheckFailed(
                f"batch_hard_triplets is wrong for anchor {i} of a batch of {n} ({people} people x"
                f" {photos} photos): expected positive {want_pos[i]} and negative {want_neg[i]},"
                f" got {positive[i]} and {negative[i]}. {hint}"
            )
    passed("batch_hard_triplets")
