"""Checks for the exercises of notebook 06 (what deep ConvNets learn).

* `check_receptive_field_size` runs the student's ``receptive_field_size(layers)`` on stacks
  given as ``(kernel, stride)`` pairs and compares with `nst_utils.layers.receptive_field`.
* `check_top_k_positions` runs ``top_k_positions(activations, unit, k)`` on activation maps
  built so that each classic mistake gives a different answer.
* `check_input_window` runs ``input_window(index, layers)`` on ``(kernel, stride, padding)``
  stacks and compares with `nst_utils.layers.receptive_field.ReceptiveField.span`.

When an answer is wrong, each check names the likely mistake, recognised by recomputing the
answer the usual wrong formulas give.
"""

from __future__ import annotations

import numpy as np

from nst_utils.layers.receptive_field import receptive_field
from workbook.checking import CheckFailed, call_student, passed

__all__ = ["check_input_window", "check_receptive_field_size", "check_top_k_positions"]

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
    (
        "SqueezeNet up to fire3 (conv1, pool1, then squeeze 1x1 and expand 3x3 twice)",
        [(3, 2), (3, 2), (1, 1), (3, 1), (1, 1), (3, 1)],
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


# --- top_k_positions ----------------------------------------------------------------------


def _top_k_reference(activations, unit, k):
    """Each photo's strongest position of channel ``unit``; the ``k`` strongest photos."""
    maps = activations[..., unit]
    flat = maps.reshape(len(maps), -1)
    best, strength = flat.argmax(axis=1), flat.max(axis=1)
    photos = np.argsort(-strength, kind="stable")[:k]
    return [(int(p), int(best[p] // maps.shape[2]), int(best[p] % maps.shape[2])) for p in photos]


def _top_k_not_deduplicated(activations, unit, k):
    maps = activations[..., unit]
    order = np.argsort(-maps.reshape(-1), kind="stable")[:k]
    return [tuple(int(v) for v in np.unravel_index(i, maps.shape)) for i in order]


def _top_k_all_channels(activations, unit, k):
    """The maximum over every channel of the photo, not over the unit's channel only."""
    n, n_h, n_w, n_c = activations.shape
    flat = activations.reshape(n, -1)
    best, strength = flat.argmax(axis=1) // n_c, flat.max(axis=1)
    photos = np.argsort(-strength, kind="stable")[:k]
    return [(int(p), int(best[p] // n_w), int(best[p] % n_w)) for p in photos]


def _top_k_width_swapped(activations, unit, k):
    """Flat position turned into (row, col) with the grid's height instead of its width."""
    n_h = activations.shape[1]
    reference = _top_k_reference(activations, unit, k)
    width = activations.shape[2]
    return [(p, (r * width + c) // n_h, (r * width + c) % n_h) for p, r, c in reference]


def _top_k_weakest_first(activations, unit, k):
    maps = activations[..., unit]
    flat = maps.reshape(len(maps), -1)
    photos = np.argsort(flat.max(axis=1), kind="stable")[-k:]
    best = flat.argmax(axis=1)
    return [(int(p), int(best[p] // maps.shape[2]), int(best[p] % maps.shape[2])) for p in photos]


_TOP_K_MISTAKES = {
    "the same photo appears more than once: you ranked every position of every photo. Take"
    " each photo's maximum first (one patch per photo), then rank the photos": (
        _top_k_not_deduplicated
    ),
    "you took each photo's maximum over all channels; first select the unit's channel,"
    " activations[..., unit], then take the maximum over the n_H x n_W positions": (
        _top_k_all_channels
    ),
    "rows and columns are off: a flat index i of an n_H x n_W grid is at row i // n_W and"
    " column i % n_W (divide by the width, the number of columns)": _top_k_width_swapped,
    "the order is reversed: strongest photo first": _top_k_weakest_first,
}


def _top_k_case(seed: int) -> np.ndarray:
    """Random maps (6 photos, a 3x5 grid, 4 channels) where every mistake changes the answer.

    Photo 0 holds the two strongest positions of unit 2 (only de-duplication keeps its
    second one out); channel 0 is large everywhere (it wins any maximum over channels), and
    the grid is not square (a swapped height and width moves the positions).
    """
    rng = np.random.default_rng(seed)
    activations = rng.uniform(0.0, 1.0, size=(6, 3, 5, 4)).astype(np.float32)
    activations[..., 0] += 2.0
    activations[0, 1, 3, 2], activations[0, 2, 4, 2] = 1.9, 1.8
    activations[3, 2, 1, 2] = 1.5
    return activations


def _as_positions(got, k: int) -> list[tuple[int, int, int]]:
    if got is None:
        raise CheckFailed("top_k_positions() returned None: did you forget `return`?")
    try:
        rows = [tuple(int(v) for v in np.asarray(row).reshape(-1)) for row in got]
    except (TypeError, ValueError):
        raise CheckFailed(
            f"top_k_positions() should return a list of (photo, row, col) triples; got {got!r:.80}"
        ) from None
    if len(rows) != k or any(len(row) != 3 for row in rows):
        raise CheckFailed(
            f"top_k_positions(..., k={k}) should return {k} (photo, row, col) triples; got {rows}"
        )
    return rows


def check_top_k_positions(top_k_positions) -> None:
    """Check a student's ``top_k_positions(activations, unit, k)``.

    Args:
        top_k_positions: function taking ``(N, n_H, n_W, C)`` activations, a channel index and
            ``k``, returning ``k`` ``(photo, row, col)`` triples, strongest photo first, one per
            photo (each photo's strongest position of that channel).

    Raises:
        CheckFailed: with the case, the expected and returned triples and, where recognised,
            the mistake.
    """
    for seed, unit, k in ((0, 2, 3), (1, 2, 4), (2, 1, 2)):
        activations = _top_k_case(seed)
        expected = _top_k_reference(activations, unit, k)
        got = call_student(top_k_positions, activations.copy(), unit, k, what="top_k_positions()")
        rows = _as_positions(got, k)
        if rows == expected:
            continue
        hint = " Find each photo's maximum of the channel, then keep the k strongest photos."
        for text, wrong in _TOP_K_MISTAKES.items():
            if rows == wrong(activations, unit, k):
                hint = f" It looks like {text}."
                break
        raise CheckFailed(
            f"top_k_positions(activations of shape {activations.shape}, unit={unit}, k={k})"
            f" should return {expected}; you returned {rows}.{hint}"
        )
    passed("top_k_positions")


# --- input_window -------------------------------------------------------------------------

_WINDOW_CASES = [
    ("unit 0 of one 3x3 convolution with padding 1", 0, [(3, 1, 1)]),
    ("unit 4 of a 3x3 convolution (padding 1) and a 2x2 pooling", 4, [(3, 1, 1), (2, 2, 0)]),
    ("unit 3 of Darknet's first layers up to conv2d_2", 3, [(3, 1, 1), (2, 2, 0), (3, 1, 1)]),
    (
        "unit 2 of SqueezeNet's conv1, pool1 and fire2's expand 3x3",
        2,
        [(3, 2, 0), (3, 2, 0), (1, 1, 0), (3, 1, 1)],
    ),
    ("unit 5 after two stride-2 convolutions with padding", 5, [(5, 2, 2), (3, 2, 1), (3, 1, 1)]),
]


def _window(index, layers, padding_after_jump=False, spacing_before_stride=False, pad=True):
    size, jump, start, previous = 1, 1, 0, 1
    for kernel, stride, padding in layers:
        size += (kernel - 1) * jump
        previous = jump
        if not padding_after_jump and pad:
            start -= padding * jump
        jump *= stride
        if padding_after_jump and pad:
            start -= padding * jump
    first = start + index * (previous if spacing_before_stride else jump)
    return first, first + size


_WINDOW_MISTAKES = {
    "you left out the padding: each layer's padding p shifts the field's start by p input"
    " steps of the jump *before* that layer, start -= p * j": lambda i, layers: _window(
        i, layers, pad=False
    ),
    "you scaled the padding by the jump *after* the layer's stride; the padding is counted in"
    " units of the layer's input, whose spacing is the jump before it": lambda i, layers: _window(
        i, layers, padding_after_jump=True
    ),
    "neighbouring units of the last layer are j_L input pixels apart, the jump *including* the"
    " last layer's stride; you used the jump before it": lambda i, layers: _window(
        i, layers, spacing_before_stride=True
    ),
    "the stop is one short: return (first, first + r), with the stop excluded as in Python's"
    " slices, so image[first:stop] holds r pixels": lambda i, layers: (
        _window(i, layers)[0],
        _window(i, layers)[1] - 1,
    ),
}


def check_input_window(input_window) -> None:
    """Check a student's ``input_window(index, layers)``.

    Args:
        input_window: function taking a unit's position along one axis of the last layer and
            the stack as ``(kernel, stride, padding)`` triples (input side first), returning
            ``(first, stop)``: the input pixels ``first, ..., stop - 1`` the unit sees
            (``first`` is negative when the field reaches into the zero padding).

    Raises:
        CheckFailed: with the case, the expected and returned windows and, where recognised,
            the mistake.
    """
    for description, index, layers in _WINDOW_CASES:
        field = list(receptive_field(layers).values())[-1]
        expected = tuple(int(v) for v in field.span(index))
        got = call_student(input_window, index, [tuple(x) for x in layers], what="input_window()")
        if got is None:
            raise CheckFailed("input_window() returned None: did you forget `return`?")
        try:
            window = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(
                f"input_window() should return a pair (first, stop); got {got!r:.80}"
            ) from None
        if window == expected:
            continue
        hint = " Keep r, j and start from the input side: r += (k-1) j; start -= p j; j *= s."
        for text, wrong in _WINDOW_MISTAKES.items():
            if window == tuple(wrong(index, layers)):
                hint = f" It looks like {text}."
                break
        raise CheckFailed(
            f"input_window({index}, {layers}) ({description}) should be {expected};"
            f" you returned {window}.{hint}"
        )
    passed("input_window")
