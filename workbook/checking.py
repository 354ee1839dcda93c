"""Friendly checks for the exercises.

The graded cells of every notebook call a ``check_*`` function from
`fr_utils.checks`, `nst_utils.checks` or `conv_utils.checks`. Those functions
run the student's code on a few inputs and compare with the reference
implementation. When something is off they raise `CheckFailed` (an
`AssertionError`, so nbgrader counts it as a failed test) with a sentence that
names the likely mistake, e.g. ``J_content should be a scalar; you returned
shape (1, 4)``. The helpers here turn values into such sentences.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CheckFailed", "as_array", "expect_close", "expect_scalar", "expect_shape", "passed"]


class CheckFailed(AssertionError):
    """An exercise check failed; the message says what was expected and the likely bug."""


def as_array(value, what: str) -> np.ndarray:
    """Convert a tensor, array or number to a float64 numpy array, or fail with a clear message."""
    if value is None:
        raise CheckFailed(f"{what} returned None: did you forget the `return` statement?")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckFailed(
            f"{what} should be numeric; got {type(value).__name__}: {error}"
        ) from None


def expect_shape(value, shape: tuple, what: str, hint: str = "") -> np.ndarray:
    """Fail unless ``value`` has exactly ``shape``; return it as an array."""
    array = as_array(value, what)
    if tuple(array.shape) != tuple(shape):
        message = (
            f"{what} should have shape {tuple(shape)}; you returned shape {tuple(array.shape)}."
        )
        raise CheckFailed(f"{message} {hint}".strip())
    return array


def expect_scalar(value, what: str, hint: str = "") -> float:
    """Fail unless ``value`` is a single number (shape ``()``); return it as a float."""
    array = as_array(value, what)
    if array.shape != ():
        message = f"{what} should be a scalar; you returned shape {tuple(array.shape)}."
        raise CheckFailed(f"{message} {hint}".strip())
    return float(array)


def expect_close(got, expected, what: str, hint: str = "", rtol=1e-5, atol=1e-6) -> None:
    """Fail unless ``got`` matches ``expected`` within the tolerances (shapes must agree too)."""
    expected = np.asarray(expected, dtype=np.float64)
    got = expect_shape(got, expected.shape, what)
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        if expected.size == 1:
            detail = f"expected {expected.item():.6g}, got {got.item():.6g}"
        else:
            worst = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape)
            detail = (
                f"largest difference at index {tuple(int(i) for i in worst)}: "
                f"expected {expected[worst]:.6g}, got {got[worst]:.6g}"
            )
        raise CheckFailed(f"{what} is wrong: {detail}. {hint}".strip())


def passed(name: str) -> None:
    """Print the one-line success message every check ends with."""
    print(f"All checks passed for {name}.")
