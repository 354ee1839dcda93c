"""Checks for notebook 08: the Gram matrix and one layer's style cost (see nst_utils.checks)."""

from __future__ import annotations

import numpy as np

from nst_utils.checks._common import _RTOL, _activation, _expect_value, _layer_style_cost
from workbook.checking import (
    CheckFailed,
    as_array,
    call_student,
    expect_close,
    expect_scalar,
    passed,
)

__all__ = ["check_compute_layer_style_cost", "check_gram_matrix"]


def check_gram_matrix(gram_matrix) -> None:
    """Check ``gram_matrix(A)`` = ``A @ A.T`` for ``A`` of shape ``(n_C, n_H*n_W)``.

    Raises:
        CheckFailed: wrong shape (``A.T @ A``), an element-wise product, or wrong values.
    """
    rng = np.random.default_rng(8)
    for n_C, n_positions in ((3, 4), (2, 6), (5, 1)):
        unrolled = rng.standard_normal((n_C, n_positions)).astype(np.float32)
        got = call_student(gram_matrix, unrolled, what="gram_matrix")
        got = as_array(got, "gram_matrix")
        if got.shape == (n_positions, n_positions) and n_C != n_positions:
            raise CheckFailed(
                f"gram_matrix returned shape {got.shape}, expected ({n_C}, {n_C}): you computed"
                " A^T A; the Gram matrix is A A^T (tf.matmul(A, tf.transpose(A)))."
            )
        if got.shape == unrolled.shape:
            raise CheckFailed(
                f"gram_matrix returned the shape of A, {got.shape}: use a matrix product"
                " (tf.matmul), not the element-wise `*`."
            )
        expected = unrolled.astype(np.float64) @ unrolled.T
        expect_close(got, expected, f"gram_matrix of a {unrolled.shape} matrix", rtol=_RTOL)
    passed("gram_matrix")


def check_compute_layer_style_cost(compute_layer_style_cost) -> None:
    """Check ``compute_layer_style_cost(a_S, a_G)`` against CONVENTIONS.md, reshape trap included.

    Raises:
        CheckFailed: naming the likely mistake (plain reshape to ``(n_C, -1)``, a missing or
            wrong normalisation, a mean instead of a sum, a non-scalar result).
    """
    rng = np.random.default_rng(9)
    for shape in ((1, 4, 4, 3), (1, 3, 5, 6), (1, 2, 7, 4)):
        style_act, generated_act = _activation(rng, *shape[1:]), _activation(rng, *shape[1:])
        got = call_student(
            compute_layer_style_cost, style_act, generated_act, what="compute_layer_style_cost"
        )
        got = expect_scalar(got, "J_style_layer", "Sum over every element with tf.reduce_sum.")
        _, n_H, n_W, n_C = shape
        expected = _layer_style_cost(style_act, generated_act)
        trap = lambda a: a.reshape(a.shape[-1], -1).astype(np.float64)  # noqa: E731
        raw = expected * 4 * n_C**2 * (n_H * n_W) ** 2
        _expect_value(
            got,
            expected,
            f"J_style_layer for activations of shape {shape}",
            {
                "This is the reshape trap: reshaping (1, n_H, n_W, n_C) straight to (n_C, -1)"
                " mixes channels, because the channel index varies fastest in memory. Reshape"
                " to (n_H * n_W, n_C) first, then transpose.": _layer_style_cost(
                    style_act, generated_act, unroll=trap
                ),
                "The normalisation is 1 / (4 n_C^2 (n_H n_W)^2): square (n_H * n_W) too.": (
                    _layer_style_cost(style_act, generated_act, exponent=1)
                ),
                "You forgot the factor 4 in 1 / (4 n_C^2 (n_H n_W)^2).": 4 * expected,
                "You forgot the normalisation 1 / (4 n_C^2 (n_H n_W)^2).": raw,
                "Use tf.reduce_sum, not tf.reduce_mean, before dividing by 4 n_C^2 (n_H n_W)^2"
                " (the mean divides by n_C^2 once more).": expected / n_C**2,
                "Square n_C in the normalisation: 1 / (4 n_C^2 (n_H n_W)^2).": expected * n_C,
            },
        )
    passed("compute_layer_style_cost")
