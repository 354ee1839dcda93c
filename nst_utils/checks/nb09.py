"""Checks for notebook 09: the style cost over layers and the total cost (see nst_utils.checks)."""

from __future__ import annotations

import numpy as np

from nst_utils.checks._common import _activation, _expect_value, _layer_style_cost
from workbook.checking import (
    call_student,
    expect_scalar,
    passed,
)

__all__ = ["check_compute_style_cost", "check_total_cost"]


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
    got = call_student(
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
        call_student(total_cost, content_value, style_value, what="total_cost"),
        "total_cost(1.5, 0.25)",
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
        got = call_student(
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
