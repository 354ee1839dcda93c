"""Checks for the style-transfer exercises, called from the graded cells of notebooks 07-09.

Each ``check_*`` runs the student's function on fresh random inputs (new variable names, so a
function that reads a notebook global fails), compares it with an independent NumPy
computation of the formula in CONVENTIONS.md, and raises `workbook.CheckFailed` with a
sentence naming the likely bug when they differ: the reshape trap, a missing normalisation,
a mean instead of a sum, swapped weights.

The checks are grouped by notebook; each group is self-contained.
"""

from __future__ import annotations

import numpy as np

from workbook.checking import CheckFailed, as_array, expect_close, expect_scalar, passed

__all__ = [
    "check_compute_content_cost",
    "check_compute_layer_style_cost",
    "check_compute_style_cost",
    "check_gram_matrix",
    "check_total_cost",
]

_RTOL = 1e-4  # students compute in float32; the references are float64


def _call(function, *args, what: str, **kwargs):
    """Call the student's function, turning a crash into a `CheckFailed` that says what happened."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{what} raised NotImplementedError: replace `raise NotImplementedError()`"
            " with your code."
        ) from None
    except Exception as error:  # any crash is the student's bug: report it, not a traceback
        raise CheckFailed(f"{what} raised {type(error).__name__}: {error}") from None


def _activation(rng, n_H, n_W, n_C, scale=1.0):
    """A random ``(1, n_H, n_W, n_C)`` float32 activation (ReLU-like: non-negative)."""
    return (scale * rng.random((1, n_H, n_W, n_C))).astype(np.float32)


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=_RTOL, atol=1e-12))


def _expect_value(got, expected, what, mistakes):
    """Compare ``got`` with ``expected``; if wrong, name the first matching classic mistake.

    Args:
        mistakes: ``{hint: value a function with that mistake would return}``.
    """
    if _close(got, expected):
        return
    for hint, wrong in mistakes.items():
        if np.shape(wrong) == np.shape(got) and _close(got, wrong):
            raise CheckFailed(f"{what} returned {np.asarray(got).ravel()[0]:.6g}. {hint}")
    expect_close(got, expected, what, rtol=_RTOL, atol=1e-12)


# --- Notebook 07: content cost -----------------------------------------------------------------


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
        got = _call(compute_content_cost, content_act, generated_act, what="compute_content_cost")
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
    same = _call(compute_content_cost, content_act, content_act, what="compute_content_cost")
    if abs(expect_scalar(same, "J_content(a, a)")) > 1e-6:
        raise CheckFailed("J_content of an activation with itself should be 0.")
    passed("compute_content_cost")


# --- Notebook 08: style cost -------------------------------------------------------------------


def _unroll(a) -> np.ndarray:
    """The correct unrolling: ``(1, n_H, n_W, n_C)`` -> ``(n_C, n_H*n_W)`` via a transpose."""
    return a.reshape(-1, a.shape[-1]).T.astype(np.float64)


def _layer_style_cost(a_S, a_G, unroll=_unroll, exponent=2, four=4) -> float:
    _, n_H, n_W, n_C = a_G.shape
    G_S, G_G = unroll(a_S) @ unroll(a_S).T, unroll(a_G) @ unroll(a_G).T
    return float(np.sum((G_S - G_G) ** 2) / (four * n_C**2 * (n_H * n_W) ** exponent))


def check_gram_matrix(gram_matrix) -> None:
    """Check ``gram_matrix(A)`` = ``A @ A.T`` for ``A`` of shape ``(n_C, n_H*n_W)``.

    Raises:
        CheckFailed: wrong shape (``A.T @ A``), an element-wise product, or wrong values.
    """
    rng = np.random.default_rng(8)
    for n_C, n_positions in ((3, 4), (2, 6), (5, 1)):
        unrolled = rng.standard_normal((n_C, n_positions)).astype(np.float32)
        got = _call(gram_matrix, unrolled, what="gram_matrix")
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
        got = _call(
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


# --- Notebook 09: art generation ---------------------------------------------------------------


def check_compute_style_cost(compute_style_cost) -> None:
    """Check ``compute_style_cost(style_outputs, generated_outputs, style_layers)``.

    It must return ``sum_l weight_l * J_style^[l]`` over the ``(layer_name, weight)`` pairs and
    ignore activations of layers that are not listed.

    Raises:
        CheckFailed: weights ignored, averaged instead of summed, or wrong values.
    """
    rng = np.random.default_rng(10)
    shapes = {"conv_a": (1, 6, 6, 2), "conv_b": (1, 3, 3, 4), "conv_c": (1, 2, 2, 8)}
    style_outputs = {name: _activation(rng, *s[1:]) for name, s in shapes.items()}
    generated_outputs = {name: _activation(rng, *s[1:]) for name, s in shapes.items()}
    layer_weights = [("conv_a", 0.5), ("conv_c", 2.0)]  # conv_b is present but not listed
    got = _call(
        compute_style_cost,
        style_outputs,
        generated_outputs,
        layer_weights,
        what="compute_style_cost",
    )
    got = expect_scalar(got, "J_style")
    per_layer = {n: _layer_style_cost(style_outputs[n], generated_outputs[n]) for n in shapes}
    expected = sum(w * per_layer[n] for n, w in layer_weights)
    _expect_value(
        got,
        expected,
        "J_style",
        {
            "Multiply each layer's cost by its weight from style_layers.": sum(
                per_layer[n] for n, _ in layer_weights
            ),
            "Sum the weighted layer costs; do not average them.": expected / len(layer_weights),
            "Only the layers listed in style_layers count; loop over style_layers, not over"
            " the dict of outputs.": sum(per_layer.values()),
        },
    )
    passed("compute_style_cost")


def check_total_cost(total_cost) -> None:
    """Check ``total_cost(J_content, J_style, alpha=10, beta=40)`` (``alpha J_c + beta J_s``).

    Raises:
        CheckFailed: wrong defaults, swapped weights, or wrong values.
    """
    content_value, style_value = 1.5, 0.25
    got = expect_scalar(
        _call(total_cost, content_value, style_value, what="total_cost"), "total_cost(1.5, 0.25)"
    )
    _expect_value(
        got,
        10 * content_value + 40 * style_value,
        "total_cost(1.5, 0.25) with the default weights",
        {
            "You swapped the weights: alpha multiplies J_content, beta multiplies J_style.": (
                40 * content_value + 10 * style_value
            ),
            "The defaults must be alpha=10 and beta=40.": content_value + style_value,
        },
    )
    for alpha_value, beta_value in ((1.0, 0.0), (0.0, 1.0), (2.5, 7.0)):
        got = _call(
            total_cost,
            content_value,
            style_value,
            alpha=alpha_value,
            beta=beta_value,
            what="total_cost",
        )
        expected = alpha_value * content_value + beta_value * style_value
        label = f"total_cost(1.5, 0.25, alpha={alpha_value}, beta={beta_value})"
        _expect_value(
            expect_scalar(got, label),
            expected,
            label,
            {"Use the alpha and beta arguments, not fixed numbers.": 25.0},
        )
    passed("total_cost")
