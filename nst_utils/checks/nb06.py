"""Checks for the exercise of notebook 06 (what deep ConvNets learn).

`check_receptive_field_size` runs the student's ``receptive_field_size(layers)`` on stacks
given as ``(kernel, stride)`` pairs and compares with `nst_utils.layers.receptive_field`. When an
answer is wrong it names the likely mistake, recognised by recomputing the answer the
usual wrong formulas give.
"""

from __future__ import annotations

import numpy as np

from nst_utils.layers.receptive_field import receptive_field
from workbook.checking import CheckFailed, call_student, passed

__all__ = ["check_receptive_field_size"]

# (description, stack) pairs: the stride-1 cases first, so that mistakes show on the simplest.
_CASES = [
    ("one 3x3 convolution", [(3, 1)]),
    ("two 3x3 convolutions", [(3, 1), (3, 1)]),
    ("a 5x5 convolution then a 3x3 one", [(5, 1), (3, 1)]),
    ("VGG's first block, its pooling and one 3x3 convolution", [(3, 1), (3, 1), (2, 2), (3, 1)]),
    ("a 7x7/2 convolution, a 3x3/2 pooling and a 3x3 convolution", [(7, 2), (3, 2), (3, 1)]),
    (
        "VGG-16 up to block3_conv3",
        [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)],
    ),
]

# Wrong formulas students often write, to recognise them from their outputs.
_MISTAKES = {
    "you added the kernel sizes without multiplying each (k - 1) by the jump, the product of"
    " the strides of the layers *before* it (after a stride-2 layer, one step of the next"
    " kernel spans 2 input pixels)": lambda layers: 1 + sum(k - 1 for k, _ in layers),
    "you added whole kernel sizes k; consecutive fields overlap, so each layer adds k - 1"
    " (times the jump), starting from r = 1": lambda layers: sum(k for k, _ in layers),
    "you multiplied (k - 1) by the strides up to and *including* the current layer; the jump"
    " that scales a layer's kernel is the product of the strides of the layers before it": (
        lambda layers: _with_own_stride(layers)
    ),
    "you multiplied (k - 1) by the layer's own stride instead of the product of the strides"
    " before it": lambda layers: 1 + sum((k - 1) * s for k, s in layers),
}


def _reference(layers) -> int:
    fields = receptive_field([(k, s) for k, s in layers])
    return list(fields.values())[-1].size if fields else 1


def _with_own_stride(layers) -> int:
    size, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        size += (kernel - 1) * jump
    return size


def _diagnose(layers, got) -> str:
    for hint, wrong in _MISTAKES.items():
        if wrong(layers) == got != _reference(layers):
            return f" It looks like {hint}."
    return " Build it up layer by layer from r = 1 and jump j = 1: r += (k - 1) * j, then j *= s."


def check_receptive_field_size(receptive_field_size) -> None:
    """Check a student's ``receptive_field_size(layers)`` against the reference.

    Args:
        receptive_field_size: function taking a list of ``(kernel, stride)`` pairs (input
            side first) and returning the side of the receptive field of one unit of the
            last layer, in input pixels.

    Raises:
        CheckFailed: with the stack it failed on, the expected and returned sizes and, where
            recognised, the mistake.
    """
    for description, layers in _CASES:
        expected = _reference(layers)
        got = call_student(
            receptive_field_size, [tuple(layer) for layer in layers], what="receptive_field_size()"
        )
        if got is None:
            raise CheckFailed("receptive_field_size() returned None: did you forget `return`?")
        if np.ndim(got) != 0 or not np.issubdtype(np.asarray(got).dtype, np.number):
            raise CheckFailed(
                f"receptive_field_size() should return a number; got {type(got).__name__} {got!r}"
            )
        value = float(got)
        if value != expected:
            raise CheckFailed(
                f"receptive_field_size({layers}) ({description}) should be {expected};"
                f" you returned {got}.{_diagnose(layers, value)}"
            )
    passed("receptive_field_size")
