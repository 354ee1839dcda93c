"""The exercise checks of notebook 10 pass the reference and fail stubs and classic mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conv_utils import conv_nd, conv_output_shape, same_padding
from conv_utils.checks import check_conv1d, check_conv3d, check_conv_output_shape
from workbook import CheckFailed


def _stub(*args, **kwargs):
    raise NotImplementedError()


# --------------------------------------------------------------------------- conv_output_shape


def _shape_solution(rule=None, channels_from_input=False, raises=True):
    """A student-style solution; ``rule(n, f, s, p)`` replaces the correct per-axis formula."""

    def solution(input_shape, filter_shape, n_filters, stride=1, padding="valid"):
        *spatial, depth = input_shape
        out = []
        for n, f in zip(spatial, filter_shape[: len(spatial)], strict=True):
            if padding == "same":
                out.append(math.ceil(n / stride))
                continue
            p = 0 if padding == "valid" else padding
            if raises and n + 2 * p < f:
                raise ValueError("filter does not fit")
            out.append((rule or (lambda n, f, s, p: (n + 2 * p - f) // s + 1))(n, f, stride, p))
        return (*out, depth if channels_from_input else n_filters)

    return solution


def test_shape_check_passes_reference_and_a_student_solution(capsys):
    check_conv_output_shape(conv_output_shape)
    check_conv_output_shape(_shape_solution())
    assert "All checks passed for conv_output_shape" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("solution", "hint"),
    [
        (_stub, "NotImplementedError"),
        (_shape_solution(lambda n, f, s, p: (n + 2 * p - f) // s), r"forgot the \+ 1"),
        (_shape_solution(lambda n, f, s, p: math.ceil((n + 2 * p - f) / s) + 1), "floor"),
        (_shape_solution(lambda n, f, s, p: round((n + 2 * p - f) / s) + 1), "floor"),
        (_shape_solution(lambda n, f, s, p: n + 2 * p - f + 1), "ignored the stride"),
        (_shape_solution(lambda n, f, s, p: (n - f) // s + 1), "ignored the padding"),
        (_shape_solution(lambda n, f, s, p: (n + p - f) // s + 1), "each"),
        (_shape_solution(channels_from_input=True), "n_filters"),
        (_shape_solution(raises=False), "ValueError"),
        (lambda *args, **kwargs: None, "tuple of ints"),
    ],
)
def test_shape_check_fails_on_classic_mistakes(solution, hint):
    with pytest.raises(CheckFailed, match=hint):
        check_conv_output_shape(solution)


def test_shape_check_names_same_padding_mistake():
    def ignores_same(input_shape, filter_shape, n_filters, stride=1, padding="valid"):
        padding = 0 if padding == "same" else padding
        return _shape_solution()(input_shape, filter_shape, n_filters, stride, padding)

    with pytest.raises(CheckFailed, match="ignored padding='same'"):
        check_conv_output_shape(ignores_same)


# --------------------------------------------------------------------------- conv1d / conv3d


def _loop_conv(flip=False, bias=True, stride=None, pad_mode="correct"):
    """A loop-based student solution for any number of spatial axes, with optional mistakes."""

    def solution(x, W, b, stride_arg=1, padding="valid"):
        s = stride_arg if stride is None else stride
        d = W.ndim - 2
        kernel = np.flip(W, axis=tuple(range(d))) if flip else W
        if padding == "same" and pad_mode != "no-same":
            pads = [same_padding(n, f, s) for n, f in zip(x.shape[:d], W.shape[:d], strict=True)]
            if pad_mode == "swap-same":
                pads = [(after, before) for before, after in pads]
        elif isinstance(padding, int):
            pads = [(padding, 0 if pad_mode == "one-side" else padding)] * d
        else:
            pads = [(0, 0)] * d
        x = np.pad(x, [*pads, (0, 0)])
        out_size = [(n - f) // s + 1 for n, f in zip(x.shape[:d], W.shape[:d], strict=True)]
        out = np.zeros((*out_size, W.shape[-1]))
        for index in np.ndindex(*out_size):
            window = x[tuple(slice(i * s, i * s + f) for i, f in zip(index, W.shape, strict=False))]
            out[index] = np.tensordot(window, kernel, axes=d + 1) + (b if bias else 0)
        return out

    # expose the keyword names the checks use
    return lambda x, W, b, stride=1, padding="valid": solution(x, W, b, stride, padding)


@pytest.mark.parametrize("check", [check_conv1d, check_conv3d])
def test_conv_checks_pass_reference_and_loop_solution(check):
    check(lambda x, W, b, stride=1, padding="valid": conv_nd(x, W, b, stride, padding))
    check(_loop_conv())


@pytest.mark.parametrize("check", [check_conv1d, check_conv3d])
@pytest.mark.parametrize(
    ("solution", "hint"),
    [
        (_stub, "NotImplementedError"),
        (_loop_conv(flip=True), "flipped the kernel"),
        (_loop_conv(bias=False), "forgot to add the bias"),
        (_loop_conv(stride=1), "ignored the stride"),
        (_loop_conv(pad_mode="no-same"), "ignored the padding"),
        (_loop_conv(pad_mode="swap-same"), "goes \\*after\\*"),
        (_loop_conv(pad_mode="one-side"), "both"),
        (lambda x, W, b, stride=1, padding="valid": None, "forget the `return`"),
        (lambda x, W, b, stride=1, padding="valid": np.zeros(3), "should have shape"),
        (
            lambda x, W, b, stride=1, padding="valid": conv_nd(x, W, b, stride, padding) + 0.01,
            "is wrong",
        ),
    ],
)
def test_conv_checks_fail_on_classic_mistakes(check, solution, hint):
    with pytest.raises(CheckFailed, match=hint):
        check(solution)


def test_conv_check_reports_a_crash_with_its_inputs():
    def crashes(x, W, b, stride=1, padding="valid"):
        return x[len(x)]  # off by one: the last index is len(x) - 1

    with pytest.raises(CheckFailed, match=r"conv1d\(<array \(14, 1\)>.*raised IndexError"):
        check_conv1d(crashes)
