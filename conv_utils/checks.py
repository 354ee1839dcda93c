"""Checks behind the graded cells of notebook 10 (1D and 3D convolutions).

Each ``check_*`` function calls the student's function on several inputs (built here, so a
solution that reads notebook globals fails), compares with the reference in `conv_utils`, and
raises `workbook.CheckFailed` with a sentence that names the likely bug: forgetting the ``+ 1``
or the padding, rounding ``(n + 2p - f) / s`` up, ignoring the stride, flipping the kernel
(a true convolution instead of the cross-correlation Keras computes), forgetting the bias.
"""

from __future__ import annotations

import math

import numpy as np

from conv_utils.numpy_conv import conv_nd, same_padding
from conv_utils.shapes import conv_output_shape
from workbook.checking import CheckFailed, as_array, call_student, expect_close, passed

__all__ = ["check_conv1d", "check_conv3d", "check_conv_output_shape"]

_STUB = "{name} still raises NotImplementedError: write your code between the solution markers."


def _call(fn, name: str, *args, **kwargs):
    """Call the student's function; a crash is reported with the inputs that caused it."""
    call = ", ".join([*map(_describe, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return call_student(fn, *args, what=f"{name}({call})", **kwargs)


def _describe(value) -> str:
    return f"<array {np.shape(value)}>" if isinstance(value, np.ndarray) else repr(value)


# --------------------------------------------------------------------------- output shapes


def _shape_mistakes(input_shape, filter_shape, n_filters, stride, padding) -> list:
    """Return ``(wrong_shape, hint)`` for the classic mistakes in the shape formula."""
    *spatial, channels = input_shape
    sizes = filter_shape[: len(spatial)]
    p = 0 if padding == "valid" else padding
    mistakes = []
    if padding == "same":
        ignored_stride = tuple(spatial) + (n_filters,)
        mistakes.append((ignored_stride, "With padding='same' the output length is ceil(n / s)."))
        valid = tuple((n - f) // stride + 1 for n, f in zip(spatial, sizes, strict=True))
        mistakes.append((valid + (n_filters,), "You ignored padding='same' (that was 'valid')."))
        return mistakes

    def formula(rule):
        return tuple(rule(n, f) for n, f in zip(spatial, sizes, strict=True))

    mistakes += [
        (
            formula(lambda n, f: (n + 2 * p - f) // stride + 1) + (channels,),
            "The number of output channels is n_filters (one per filter), not the input's C.",
        ),
        (
            formula(lambda n, f: (n + 2 * p - f) // stride) + (n_filters,),
            "You forgot the + 1: a filter as long as the input still fits once.",
        ),
        (
            formula(lambda n, f: math.ceil((n + 2 * p - f) / stride) + 1) + (n_filters,),
            "Round (n + 2p - f) / s *down* (floor): a window that runs past the end is dropped.",
        ),
        (
            formula(lambda n, f: (n + 2 * p - f) + 1) + (n_filters,),
            "You ignored the stride: divide (n + 2p - f) by s before adding 1.",
        ),
        (
            formula(lambda n, f: (n - f) // stride + 1) + (n_filters,),
            "You ignored the padding: each axis grows by 2p (p zeros on each side).",
        ),
        (
            formula(lambda n, f: (n + p - f) // stride + 1) + (n_filters,),
            "Padding p adds p zeros on *each* side, so the length grows by 2p.",
        ),
    ]
    return mistakes


_SHAPE_CASES = [
    # (input_shape, filter_shape, n_filters, stride, padding): the lecture's numbers first
    ((14, 1), (5, 1), 16, 1, "valid"),
    ((10, 16), (5, 16), 32, 1, "valid"),
    ((14, 14, 14, 1), (5, 5, 5, 1), 16, 1, "valid"),
    ((10, 10, 10, 16), (5, 5, 5, 16), 32, 1, "valid"),
    ((64, 64, 3), (3, 3), 8, 2, "valid"),  # (64 - 3) / 2 = 30.5 rounds down
    ((19, 2), (4,), 3, 2, "valid"),  # 7.5 rounds down
    ((28, 28, 1), (5, 5, 1), 6, 1, 2),  # p = 2 keeps 28 x 28
    ((12, 9, 7, 4), (3, 3, 3), 5, 2, 1),
    ((14, 1), (5,), 4, 3, "same"),  # ceil(14 / 3) = 5
    ((15, 15, 15, 2), (3, 3, 3, 2), 7, 2, "same"),
]


def check_conv_output_shape(conv_output_shape_fn) -> None:
    """Check the student's ``conv_output_shape`` on the lecture's numbers, strides and paddings.

    Raises:
        CheckFailed: naming the case and the likely mistake.
    """
    name = "conv_output_shape"
    for input_shape, filter_shape, n_filters, stride, padding in _SHAPE_CASES:
        expected = conv_output_shape(input_shape, filter_shape, n_filters, stride, padding)
        got = _call(
            conv_output_shape_fn,
            name,
            input_shape,
            filter_shape,
            n_filters,
            stride=stride,
            padding=padding,
        )
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            raise CheckFailed(f"{name} should return a tuple of ints; got {got!r}.") from None
        if got == expected:
            continue
        call = f"{name}({input_shape}, {filter_shape}, {n_filters}, {stride=}, {padding=})"
        mistakes = _shape_mistakes(input_shape, filter_shape, n_filters, stride, padding)
        hint = next(
            (h for wrong, h in mistakes if wrong == got),
            "Apply n_out = floor((n + 2p - f) / s) + 1 per spatial axis, then append n_filters.",
        )
        raise CheckFailed(f"{call} should be {expected}; you returned {got}. {hint}")
    try:
        conv_output_shape_fn((4, 1), (5, 1), 2, stride=1, padding="valid")
    except NotImplementedError:
        raise CheckFailed(_STUB.format(name=name)) from None
    except ValueError:
        pass
    except Exception as error:
        raise CheckFailed(
            "A 5-tap filter on a length-4 input should raise ValueError;"
            f" got {type(error).__name__}."
        ) from None
    else:
        raise CheckFailed(
            f"{name}((4, 1), (5, 1), 2) should raise ValueError: a 5-tap filter fits nowhere in 4"
            " samples (n + 2p - f < 0)."
        )
    passed(name)


# --------------------------------------------------------------------------- convolutions


def _conv_with_pads(x, kernel, bias, stride, pads) -> np.ndarray:
    """Reference convolution with explicit ``(before, after)`` zeros per spatial axis."""
    x = np.pad(x, [*pads, (0, 0)])
    return conv_nd(x, kernel, bias, stride, "valid")


def _conv_mistakes(x, kernel, bias, stride, padding) -> list:
    """Return ``(wrong_output, hint)`` for the classic mistakes of a convolution forward pass."""
    d = kernel.ndim - 2
    spatial_axes = tuple(range(d))
    flipped = np.flip(kernel, axis=spatial_axes)
    mistakes = [
        (
            conv_nd(x, flipped, bias, stride, padding),
            "You flipped the kernel (a true convolution). Deep-learning layers compute the"
            " cross-correlation: z[i] = sum_t x[i*s + t] * W[t] with W not reversed.",
        ),
        (conv_nd(x, kernel, None, stride, padding), "You forgot to add the bias b."),
        (
            conv_nd(x, kernel, bias, 1, padding),
            "You ignored the stride: the filter moves s samples between two outputs.",
        ),
        (conv_nd(x, kernel, bias, stride, "valid"), "You ignored the padding."),
    ]
    if padding == "same":
        sizes = zip(x.shape[:d], kernel.shape[:d], strict=True)
        pads = [same_padding(n, f, stride) for n, f in sizes]
        swapped = [(after, before) for before, after in pads]
        if swapped != pads:
            mistakes.append(
                (
                    _conv_with_pads(x, kernel, bias, stride, swapped),
                    "With 'same' padding and an odd number of zeros, the extra zero goes *after*"
                    " the signal (pad_before = total // 2), as in Keras.",
                )
            )
    elif isinstance(padding, int) and padding:
        one_sided = [(padding, 0)] * d
        mistakes.append(
            (
                _conv_with_pads(x, kernel, bias, stride, one_sided),
                "Padding p puts p zeros on *both* sides of each axis.",
            )
        )
    return mistakes


def _check_conv(fn, name: str, cases, rng) -> None:
    for case, (x_shape, kernel_shape, stride, padding) in enumerate(cases, start=1):
        signal = rng.standard_normal(x_shape).astype(np.float32)
        weights = rng.standard_normal(kernel_shape).astype(np.float32)
        biases = rng.standard_normal(kernel_shape[-1]).astype(np.float32)
        expected = conv_nd(signal, weights, biases, stride, padding)
        got = _call(
            fn, name, signal.copy(), weights.copy(), biases.copy(), stride=stride, padding=padding
        )
        what = (
            f"{name}(x {x_shape}, W {kernel_shape}, b ({kernel_shape[-1]},), stride={stride},"
            f" padding={padding!r}) [case {case}]"
        )
        got_array = as_array(got, what)
        if got_array.shape == expected.shape and np.allclose(got_array, expected, atol=1e-4):
            continue
        for wrong, hint in _conv_mistakes(signal, weights, biases, stride, padding):
            if got_array.shape == wrong.shape and np.allclose(got_array, wrong, atol=1e-4):
                raise CheckFailed(f"{what} is wrong. {hint}")
        if got_array.shape != expected.shape:
            raise CheckFailed(
                f"{what} should have shape {expected.shape}; you returned {got_array.shape}."
                " Use n_out = floor((n + 2p - f) / s) + 1 per axis and one channel per filter."
            )
        expect_close(
            got_array,
            expected,
            what,
            rtol=1e-4,
            atol=1e-4,
            hint="Each output is sum over the window and all input channels of x * W, plus b.",
        )


def check_conv1d(conv1d_fn, seed: int = 10) -> None:
    """Check the student's ``conv1d(x, W, b, stride=1, padding="valid")`` on unbatched signals.

    ``x`` is ``(n, C)``, ``W`` is ``(f, C, F)`` (Keras' layout), ``b`` is ``(F,)``; the cases
    cover stride 1-3, ``"valid"``, ``"same"`` and explicit padding, and are compared with
    `conv_utils.conv1d` (itself tested against Keras ``Conv1D``).

    Raises:
        CheckFailed: naming the case and the likely mistake.
    """
    cases = [
        ((14, 1), (5, 1, 16), 1, "valid"),  # the lecture's 14 x 1 -> 10 x 16
        ((12, 3), (4, 3, 5), 1, "valid"),
        ((13, 2), (3, 2, 4), 2, "valid"),
        ((11, 3), (4, 3, 2), 3, "same"),
        ((10, 2), (4, 2, 3), 1, "same"),
        ((9, 2), (3, 2, 3), 1, 2),
    ]
    _check_conv(conv1d_fn, "conv1d", cases, np.random.default_rng(seed))
    passed("conv1d")


def check_conv3d(conv3d_fn, seed: int = 30) -> None:
    """Check the student's ``conv3d(x, W, b, stride=1, padding="valid")`` on unbatched volumes.

    ``x`` is ``(n_1, n_2, n_3, C)``, ``W`` is ``(f_1, f_2, f_3, C, F)``, ``b`` is ``(F,)``; the
    cases cover non-cubic volumes and filters, strides 1-2, and all paddings.

    Raises:
        CheckFailed: naming the case and the likely mistake.
    """
    cases = [
        ((8, 8, 8, 1), (5, 5, 5, 1, 4), 1, "valid"),
        ((7, 6, 5, 2), (3, 2, 3, 2, 4), 1, "valid"),
        ((9, 8, 7, 2), (3, 3, 2, 2, 3), 2, "valid"),
        ((7, 6, 5, 1), (3, 3, 3, 1, 2), 1, 1),
        ((7, 8, 6, 2), (2, 3, 4, 2, 2), 2, "same"),
    ]
    _check_conv(conv3d_fn, "conv3d", cases, np.random.default_rng(seed))
    passed("conv3d")
