"""Checks for notebook 07: the content cost (see nst_utils.checks for how they work)."""

from __future__ import annotations

import numpy as np

from nst_utils.checks._common import _activation, _expect_value
from workbook.checking import (
    CheckFailed,
    call_student,
    expect_scalar,
    passed,
)

__all__ = ["check_compute_content_cost"]


def _content_cost(a_C, a_G) -> float:
    _, n_H, n_W, n_C = a_G.shape
    return float(np.sum((a_C.astype(np.float64) - a_G) ** 2) / (4 * n_H * n_W * n_C))


def check_compute_content_cost(compute_content_cost) -> None:
    """Check ``compute_content_cost(a_C, a_G)`` against ``sum((a_C - a_G)^2) / (4 n_H n_W n_C)``.

    Raises:
        CheckFailed: naming the likely mistake (mean instead of sum, missing 4, missing
            normalisation, a norm instead of its square, a non-scalar result).
    """
    rng = np.random.default_rng(7)
    for shape in ((1, 4, 4, 3), (1, 3, 5, 7), (1, 1, 2, 16)):
        content_act, generated_act = _activation(rng, *shape[1:]), _activation(rng, *shape[1:])
        got = call_student(
            compute_content_cost, content_act, generated_act, what="compute_content_cost"
        )
        got = expect_scalar(
            got, "J_content", "Sum over every axis with tf.reduce_sum (no axis argument)."
        )
        expected = _content_cost(content_act, generated_act)
        n = int(np.prod(shape))
        squares = np.sum((content_act.astype(np.float64) - generated_act) ** 2)
        _expect_value(
            got,
            expected,
            f"J_content for activations of shape {shape}",
            {
                "That is 4x too big: divide by 4 * n_H * n_W * n_C (or did you take a mean "
                "instead of the sum?)": 4 * expected,
                "You divided twice: tf.reduce_mean already divides by n_H*n_W*n_C; use "
                "tf.reduce_sum before dividing by 4 * n_H * n_W * n_C.": expected / n,
                "You forgot the normalisation 1 / (4 n_H n_W n_C).": squares,
                "Square the differences before summing: J uses the squared norm, not the "
                "norm.": np.sqrt(squares) / (4 * n),
                "Use the squared differences (a_C - a_G)^2, not the difference of squares.": (
                    np.sum(content_act.astype(np.float64) ** 2 - generated_act**2) / (4 * n)
                ),
            },
        )
    same = call_student(compute_content_cost, content_act, content_act, what="compute_content_cost")
    if abs(expect_scalar(same, "J_content(a, a)")) > 1e-6:
        raise CheckFailed("J_content of an activation with itself should be 0.")
    passed("compute_content_cost")
