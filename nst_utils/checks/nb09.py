"""Checks for notebook 09: the style cost over layers, the total cost and one optimisation step
(see nst_utils.checks)."""

from __future__ import annotations

import numpy as np

from nst_utils.checks._common import _activation, _close, _expect_value, _layer_style_cost
from workbook.checking import (
    CheckFailed,
    call_student,
    expect_close,
    expect_scalar,
    passed,
)

__all__ = ["check_compute_style_cost", "check_total_cost", "check_train_step"]


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


class _ToyNetwork:
    """A stand-in for the frozen feature extractor: ``{"feat": kernel * x}``."""

    def __init__(self, tf):
        self.kernel = tf.Variable(0.5, name="network_kernel")
        self.trainable_variables = [self.kernel]

    def __call__(self, image):
        return {"feat": self.kernel * image}


class _RecordingOptimizer:
    """Passes every call on to a real optimizer; checks the ``(gradient, variable)`` pairs first."""

    def __init__(self, optimizer):
        self._optimizer = optimizer
        self.applied: list[list] = []

    def apply_gradients(self, grads_and_vars, *args, **kwargs):
        pairs = list(grads_and_vars)
        self.applied.append(pairs)
        _check_applied(pairs, self.generated, self.network)
        return self._optimizer.apply_gradients(pairs, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._optimizer, name)


def _check_applied(pairs, generated, network) -> None:
    """Diagnose the gradient/variable pairs a ``train_step`` hands to the optimizer."""
    for grad, variable in pairs:
        if variable is network.kernel:
            raise CheckFailed(
                "train_step updated the network's weights. In style transfer the network stays"
                " frozen and only the pixels of G change: take tape.gradient(J, generated) and"
                " apply it to generated."
            )
        if variable is not generated:
            raise CheckFailed(
                "train_step applied a gradient to another variable than its argument `generated`"
                " (a global from the notebook?): use the `generated` it was called with."
            )
        if grad is None:
            raise CheckFailed(
                "tape.gradient(J, generated) returned None: the tape did not record J being"
                " computed from `generated`. Compute outputs = extractor(generated) and"
                " J = cost_of(outputs) inside `with tf.GradientTape() as tape:`, and take the"
                " gradient with respect to the argument `generated` (not another image)."
            )
        if tuple(grad.shape) != tuple(generated.shape):
            raise CheckFailed(
                f"The gradient has shape {tuple(grad.shape)} but generated has"
                f" {tuple(generated.shape)}: that is the gradient of another variable. Take"
                " tape.gradient(J, generated)."
            )


def _reference_steps(tf, x0, target, low, high, learning_rate, steps):
    """The correct loop on the toy problem: the cost before each update, the image after it."""
    x = tf.Variable(x0)
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)
    costs, images = [], []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            J = tf.reduce_sum(tf.square(0.5 * x - target))
        optimizer.apply_gradients([(tape.gradient(J, x), x)])
        x.assign(tf.clip_by_value(x, low, high))
        costs.append(float(J))
        images.append(x.numpy())
    return costs, images


def check_train_step(train_step) -> None:
    """Check ``train_step(generated, optimizer, extractor, cost_of, low, high)``.

    One step must compute ``J = cost_of(extractor(generated))`` under a ``tf.GradientTape``,
    apply ``dJ/d generated`` with the optimizer, clip ``generated`` to ``[low, high]`` and
    return ``J`` (the cost of the image before the update). The check runs three steps on a
    small problem whose gradients push some pixels past the bounds, next to the correct loop.

    Raises:
        CheckFailed: the stub, a gradient that is None or of the wrong variable (the network's
            weights, a global), no update, no clipping, or costs not recomputed at each step.
    """
    import tensorflow as tf

    rng = np.random.default_rng(9)
    x0 = rng.uniform(0.0, 10.0, (1, 4, 5, 3)).astype(np.float32)
    x0[0, 0, :, :] = 10.0  # on the upper bound, pulled further up by the target
    target = (0.5 * x0 + rng.choice([-2.0, 2.0], x0.shape)).astype(np.float32)
    target[0, 0, :, :] = 8.0
    low, high, rate, steps = np.float32(0.0), np.float32(10.0), 1.0, 3
    expected_costs, expected_images = _reference_steps(tf, x0, target, low, high, rate, steps)

    generated, network = tf.Variable(x0), _ToyNetwork(tf)
    optimizer = _RecordingOptimizer(tf.keras.optimizers.Adam(learning_rate=rate))
    optimizer.generated, optimizer.network = generated, network

    def cost_of(outputs):
        return tf.reduce_sum(tf.square(outputs["feat"] - target))

    got_costs = []
    for step in range(steps):
        before = generated.numpy()
        J = call_student(
            train_step, generated, optimizer, network, cost_of, low, high, what="train_step"
        )
        got_costs.append(expect_scalar(J, f"J returned by train_step at step {step + 1}"))
        _diagnose_step(step, before, generated.numpy(), got_costs, expected_costs, low, high)
        if not _close(generated.numpy(), expected_images[step]):
            expect_close(
                generated.numpy(),
                expected_images[step],
                f"generated after step {step + 1}",
                "An Adam step on the pixels followed by clipping gives these values.",
                rtol=1e-4,
                atol=1e-4,
            )
    passed("train_step")


def _diagnose_step(step, before, after, got_costs, expected_costs, low, high) -> None:
    """Name the classic mistake behind a wrong step, from what the step did to the image."""
    label = f"step {step + 1}"
    if np.array_equal(before, after):
        raise CheckFailed(
            f"generated did not change at {label}: apply the gradient with"
            " optimizer.apply_gradients([(grad, generated)])."
        )
    if after.max() > high + 1e-6 or after.min() < low - 1e-6:
        raise CheckFailed(
            f"After {label} some pixels lie outside [low, high] = [{low:g}, {high:g}] (from"
            f" {after.min():.3g} to {after.max():.3g}): clip them after the update with"
            " generated.assign(tf.clip_by_value(generated, low, high))."
        )
    got, expected = got_costs[step], expected_costs[step]
    if _close(got, expected):
        return
    if step > 0 and _close(got, got_costs[0]):
        raise CheckFailed(
            f"train_step returned J = {got:.6g} at {label}, the same as at step 1, although the"
            f" image changed (expected {expected:.6g}): compute the activations of G and J"
            " inside train_step at every step, from the current generated. A cost computed"
            " once, before the loop, describes the old image."
        )
    if step + 1 < len(expected_costs) and _close(got, expected_costs[step + 1]):
        raise CheckFailed(
            f"train_step returned the cost after the update at {label}: return the J computed"
            " under the tape (the cost of the image before this step's update)."
        )
    expect_close(got, expected, f"J returned at {label}", rtol=1e-4, atol=1e-6)
