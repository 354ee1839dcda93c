"""Shape arithmetic and parameter counts of 1D, 2D and 3D convolutions (notebook 10).

A convolution layer with ``n_filters`` filters of spatial size ``f`` slides over every spatial
axis of its input independently. Along an axis of length ``n`` with padding ``p`` and stride
``s`` it visits

    n_out = floor((n + 2p - f) / s) + 1

positions, and it writes one output channel per filter, whatever the number of input channels
(each filter spans all of them). Keras' ``padding="same"`` chooses the padding that gives
``n_out = ceil(n / s)``. The lecture's examples:

* 1D: ``14 x 1`` with 16 filters ``5 x 1`` -> ``10 x 16``; then 32 filters ``5 x 16`` -> ``6 x 32``.
* 3D: ``14 x 14 x 14 x 1`` with 16 filters ``5 x 5 x 5 x 1`` -> ``10 x 10 x 10 x 16``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["conv_output_length", "conv_output_shape", "conv_param_count", "normalize_padding"]

_PADDING_CHOICES = "'valid', 'same' or a non-negative int (or one int per spatial axis)"


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)


def _per_axis(value, n_axes: int, what: str) -> tuple:
    """Broadcast an int to one value per spatial axis, or check a sequence has ``n_axes`` items."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n_axes:
            raise ValueError(
                f"{what} has {len(value)} entries but the input has {n_axes} spatial axes;"
                f" give one int or {n_axes} ints."
            )
        return tuple(value)
    return (value,) * n_axes


def normalize_padding(padding, n_axes: int):
    """Return ``"valid"``, ``"same"`` or a tuple of ``n_axes`` explicit paddings ``p >= 0``.

    Args:
        padding: ``"valid"`` (``p = 0``), ``"same"`` (Keras: output length ``ceil(n / s)``), an int
            ``p`` added on both sides of every spatial axis, or one int per spatial axis.
        n_axes: number of spatial axes (1, 2 or 3).

    Raises:
        ValueError: for any other value, listing the valid choices.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError(f"padding must be {_PADDING_CHOICES}; got {padding!r}.")
        return mode
    pads = _per_axis(padding, n_axes, "padding")
    for pad in pads:
        if isinstance(pad, bool) or not isinstance(pad, numbers.Integral) or pad < 0:
            raise ValueError(f"padding must be {_PADDING_CHOICES}; got {padding!r}.")
    return tuple(int(pad) for pad in pads)


def conv_output_length(n: int, f: int, stride: int = 1, padding="valid") -> int:
    """Return the output length of a convolution along one spatial axis.

    Args:
        n: input length along the axis.
        f: filter size along the axis.
        stride: step ``s`` between two filter positions.
        padding: ``"valid"``, ``"same"`` or an int ``p`` (zeros added on each side).

    Returns:
        ``floor((n + 2p - f) / s) + 1``, or ``ceil(n / s)`` for ``"same"``.

    Raises:
        ValueError: if an argument is not a positive int, or the (padded) input is shorter
            than the filter, so that the filter fits nowhere.
    """
    n = _positive_int(n, "input length n")
    f = _positive_int(f, "filter size f")
    s = _positive_int(stride, "stride s")
    mode = normalize_padding(padding, 1)
    if mode == "same":
        return -(-n // s)  # ceil(n / s) in integers
    p = 0 if mode == "valid" else mode[0]
    if n + 2 * p < f:
        raise ValueError(
            f"filter of size {f} does not fit in an input of length {n} with padding {p}:"
            f" n + 2p - f = {n + 2 * p - f} < 0. Use a smaller filter or more padding."
        )
    return (n + 2 * p - f) // s + 1


def conv_output_shape(
    input_shape: Sequence[int],
    filter_shape: Sequence[int],
    n_filters: int,
    stride=1,
    padding="valid",
) -> tuple[int, ...]:
    """Return the output shape of a 1D, 2D or 3D convolution layer (channels last, no batch axis).

    Args:
        input_shape: ``(n, C)``, ``(n_H, n_W, C)`` or ``(n_1, n_2, n_3, C)``: spatial sizes, then
            the number of input channels ``C``.
        filter_shape: the spatial size of one filter, ``(f,)``, ``(f_H, f_W)`` or
            ``(f_1, f_2, f_3)``, optionally followed by its depth, which must equal ``C``
            (the lecture writes ``5 x 5 x 5 x 1``).
        n_filters: number of filters, i.e. of output channels.
        stride: one int for every spatial axis, or one int per axis.
        padding: ``"valid"``, ``"same"`` (Keras), an int ``p``, or one int per axis.

    Returns:
        The output shape as a tuple of ints: the spatial sizes, then ``n_filters``.
        For example ``conv_output_shape((14, 1), (5, 1), 16) == (10, 16)``.

    Raises:
        ValueError: for an input of rank other than 2-4, a filter of the wrong rank or depth,
            non-positive sizes, an unknown padding, or a filter that fits nowhere.
    """
    input_shape, filter_shape = tuple(input_shape), tuple(filter_shape)
    if not 2 <= len(input_shape) <= 4:
        raise ValueError(
            f"input_shape must be (n, C), (n_H, n_W, C) or (n_1, n_2, n_3, C); got {input_shape}."
            " Leave out the batch axis."
        )
    *spatial, channels = (_positive_int(v, "every entry of input_shape") for v in input_shape)
    n_axes = len(spatial)
    if len(filter_shape) == n_axes + 1:
        *filter_shape, depth = filter_shape
        if depth != channels:
            raise ValueError(
                f"a filter spans all {channels} input channels, so its depth must be {channels};"
                f" got filter_shape {tuple(filter_shape) + (depth,)}."
            )
    elif len(filter_shape) != n_axes:
        raise ValueError(
            f"filter_shape {filter_shape} does not match a {n_axes}D input {input_shape}:"
            f" give {n_axes} spatial sizes, optionally followed by the depth {channels}."
        )
    n_filters = _positive_int(n_filters, "n_filters")
    strides = _per_axis(stride, n_axes, "stride")
    pads = normalize_padding(padding, n_axes)
    pads = (pads,) * n_axes if isinstance(pads, str) else pads
    return tuple(
        conv_output_length(n, f, s, p)
        for n, f, s, p in zip(spatial, filter_shape, strides, pads, strict=True)
    ) + (n_filters,)


def conv_param_count(
    filter_shape: Sequence[int], in_channels: int, n_filters: int, use_bias: bool = True
) -> int:
    """Return the number of trainable parameters of a convolution layer.

    Each of the ``n_filters`` filters holds ``prod(filter_shape) * in_channels`` weights and one
    bias, so a ``5 x 5 x 5`` filter costs ``5**3 = 125`` times ``in_channels`` weights where a
    ``5``-tap 1D filter costs 5: the count grows with the filter size to the power of the number
    of spatial axes.

    Args:
        filter_shape: the spatial size of one filter, e.g. ``(5,)`` or ``(5, 5, 5)``.
        in_channels: depth ``C`` of the input (and of each filter).
        n_filters: number of filters.
        use_bias: whether each filter has a bias (Keras' default).

    Returns:
        ``prod(filter_shape) * in_channels * n_filters (+ n_filters)``, as Keras'
        ``count_params()`` reports it.

    Raises:
        ValueError: for an empty filter shape or non-positive sizes.
    """
    filter_shape = tuple(filter_shape)
    if not 1 <= len(filter_shape) <= 3:
        raise ValueError(f"filter_shape must have 1 to 3 spatial sizes; got {filter_shape}.")
    sizes = [_positive_int(v, "every entry of filter_shape") for v in filter_shape]
    in_channels = _positive_int(in_channels, "in_channels")
    n_filters = _positive_int(n_filters, "n_filters")
    weights = math.prod(sizes) * in_channels * n_filters
    return weights + (n_filters if use_bias else 0)
