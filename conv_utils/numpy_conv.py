"""Reference forward passes of 1D and 3D convolution layers in NumPy (notebook 10).

Deep-learning "convolution" is cross-correlation: the filter is *not* flipped. For a 1D input
``x`` of shape ``(n, C)``, a kernel ``W`` of shape ``(f, C, F)`` and biases ``b`` of shape ``(F,)``,

    z[i, k] = sum_{t < f} sum_{c < C} x_pad[i * s + t, c] * W[t, c, k] + b[k]

and the 3D layer is the same sum over three filter offsets ``(t_1, t_2, t_3)``.

Layouts match Keras (channels last), so a Keras ``Conv1D``/``Conv3D`` layer's
``get_weights()`` can be passed straight in:

* ``conv1d``: ``x`` is ``(n, C)`` or a batch ``(m, n, C)``; ``kernel`` is ``(f, C, F)``.
* ``conv3d``: ``x`` is ``(n_1, n_2, n_3, C)`` or ``(m, n_1, n_2, n_3, C)``; ``kernel`` is
  ``(f_1, f_2, f_3, C, F)``.

The output keeps the input's batching. The implementation is vectorised: it builds a strided
*view* of every window (no copy), keeps every ``s``-th window per axis and contracts the window
and channel axes with the kernel in one ``np.tensordot``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from conv_utils.shapes import conv_output_length, normalize_padding

__all__ = ["conv1d", "conv3d", "conv_nd", "same_padding"]


def same_padding(n: int, f: int, stride: int = 1) -> tuple[int, int]:
    """Return the zeros Keras/TensorFlow add ``(before, after)`` an axis for ``padding="same"``.

    The output length is ``ceil(n / s)``; the total padding is the least that lets the last
    window fit, ``max((ceil(n / s) - 1) * s + f - n, 0)``, and the odd zero goes *after*.

    Args:
        n: input length; f: filter size; stride: step between windows.

    Returns:
        ``(pad_before, pad_after)`` as ints.
    """
    n_out = conv_output_length(n, f, stride, "same")
    total = max((n_out - 1) * stride + f - n, 0)
    return total // 2, total - total // 2


def conv_nd(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """Apply a channels-last convolution layer with any number ``d`` of spatial axes.

    Args:
        x: input, ``(n_1, ..., n_d, C)`` or a batch ``(m, n_1, ..., n_d, C)``, where ``d`` is
            ``kernel.ndim - 2``.
        kernel: ``(f_1, ..., f_d, C, F)`` weights in Keras' layout (not flipped).
        bias: ``(F,)`` biases, or ``None`` for none.
        stride: one int for every spatial axis or one per axis.
        padding: ``"valid"``, ``"same"`` (as Keras), an int ``p`` of zeros on both sides of every
            spatial axis, or one int per axis.

    Returns:
        ``(n_out_1, ..., n_out_d, F)`` (or with a leading batch axis when ``x`` had one), with
        ``n_out = floor((n + 2p - f) / s) + 1``; float32 unless an input is float64.

    Raises:
        ValueError: if the ranks or the channel counts of ``x``, ``kernel`` and ``bias`` do not
            agree, or for a bad stride/padding, or a filter larger than the padded input.
    """
    x, kernel = np.asarray(x), np.asarray(kernel)
    if kernel.ndim < 3:
        raise ValueError(f"kernel must be (f_1, ..., f_d, C, F); got shape {kernel.shape}.")
    d = kernel.ndim - 2
    if x.ndim not in (d + 1, d + 2):
        raise ValueError(
            f"a {d}D kernel {kernel.shape} needs x of shape (n_1..n_{d}, C) or (m, n_1..n_{d}, C);"
            f" got x of shape {x.shape}."
        )
    batched = x.ndim == d + 2
    if not batched:
        x = x[np.newaxis]
    *filter_size, channels, n_filters = kernel.shape
    if x.shape[-1] != channels:
        raise ValueError(
            f"x has {x.shape[-1]} channels but the kernel expects C = {channels}"
            f" (kernel shape {kernel.shape} is (f_1, ..., f_d, C, F))."
        )
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (n_filters,):
            raise ValueError(f"bias must have shape ({n_filters},); got {bias.shape}.")
    strides = stride if isinstance(stride, list | tuple) else (stride,) * d
    if len(strides) != d:
        raise ValueError(f"stride needs 1 or {d} entries; got {stride!r}.")
    mode = normalize_padding(padding, d)

    pad_width = [(0, 0)]
    for axis, (n, f, s) in enumerate(zip(x.shape[1:-1], filter_size, strides, strict=True)):
        if mode == "same":
            pad_width.append(same_padding(n, f, s))
        else:
            p = 0 if mode == "valid" else mode[axis]
            pad_width.append((p, p))
        conv_output_length(n + sum(pad_width[-1]), f, s)  # validates s and that the filter fits
    pad_width.append((0, 0))

    dtype = np.result_type(x.dtype, kernel.dtype, np.float32)
    x = np.pad(x.astype(dtype, copy=False), pad_width)
    axes = tuple(range(1, d + 1))
    windows = sliding_window_view(x, filter_size, axis=axes)  # (m, *positions, C, f_1..f_d)
    windows = windows[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    # Contract (C, f_1, ..., f_d) of each window with (f_1, ..., f_d, C) of the kernel.
    window_axes = [d + 1 + t for t in range(d + 1)]
    kernel_axes = [d] + list(range(d))
    out = np.tensordot(windows, kernel.astype(dtype, copy=False), axes=(window_axes, kernel_axes))
    if bias is not None:
        out = out + bias.astype(dtype, copy=False)
    return out if batched else out[0]


def conv1d(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """Apply a 1D convolution layer (Keras ``Conv1D`` without activation) to a signal.

    Args:
        x: signal ``(n, C)`` or batch ``(m, n, C)``.
        kernel: ``(f, C, F)``: ``F`` filters of ``f`` taps spanning all ``C`` channels.
        bias: ``(F,)`` or ``None``.
        stride: step ``s`` between two filter positions.
        padding: ``"valid"``, ``"same"`` or an int ``p`` of zeros on both ends.

    Returns:
        ``(n_out, F)`` (or ``(m, n_out, F)``) with ``n_out = floor((n + 2p - f) / s) + 1``.
        The lecture's ``14 x 1`` signal with 16 filters ``5 x 1`` gives ``10 x 16``.

    Raises:
        ValueError: for mismatched shapes or a bad stride/padding (see `conv_nd`).
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 3:
        raise ValueError(f"a Conv1D kernel is (f, C, F); got shape {kernel.shape}.")
    return conv_nd(x, kernel, bias, stride, padding)


def conv3d(x, kernel, bias=None, stride=1, padding="valid") -> np.ndarray:
    """Apply a 3D convolution layer (Keras ``Conv3D`` without activation) to a volume.

    Args:
        x: volume ``(n_1, n_2, n_3, C)`` or batch ``(m, n_1, n_2, n_3, C)``.
        kernel: ``(f_1, f_2, f_3, C, F)``: ``F`` filters, each a ``f_1 x f_2 x f_3 x C`` block.
        bias: ``(F,)`` or ``None``.
        stride: one int or three (one per spatial axis).
        padding: ``"valid"``, ``"same"``, an int ``p`` or three ints.

    Returns:
        ``(n_out_1, n_out_2, n_out_3, F)`` (batched if ``x`` was). The lecture's
        ``14 x 14 x 14 x 1`` volume with 16 filters ``5 x 5 x 5 x 1`` gives ``10 x 10 x 10 x 16``.

    Raises:
        ValueError: for mismatched shapes or a bad stride/padding (see `conv_nd`).
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 5:
        raise ValueError(f"a Conv3D kernel is (f_1, f_2, f_3, C, F); got shape {kernel.shape}.")
    return conv_nd(x, kernel, bias, stride, padding)
