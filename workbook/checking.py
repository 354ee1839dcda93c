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

__all__ = [
    "CheckFailed",
    "as_array",
    "call_student",
    "expect_close",
    "expect_scalar",
    "expect_shape",
    "passed",
    "random_unit_rows",
]


class CheckFailed(AssertionError):
    """An exercise check failed; the message says what was expected and the likely bug."""


def call_student(function, *args, what: str | None = None, **kwargs):
    """Call a student's function; a stub or a crash becomes a `CheckFailed` that says what happened.

    Args:
        function: the student's function.
        *args, **kwargs: the inputs of this test case.
        what: how to name the call in messages, e.g. ``"gram_matrix(A) for A of shape (3, 4)"``;
            default ``"<function name>()"``.

    Returns:
        Whatever the function returned.

    Raises:
        CheckFailed: the function still raises ``NotImplementedError`` (the stub), or crashed
            (the message names the exception, so the student sees their bug, not a traceback
            into the check). A `CheckFailed` raised inside passes through unchanged.
    """
    what = what or f"{getattr(function, '__name__', 'your function')}()"
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{what} still raises NotImplementedError: replace `raise NotImplementedError()`"
            " with your code (between the solution markers)."
        ) from None
    except CheckFailed:
        raise
    except Exception as error:  # any crash is the student's bug: report it, not a traceback
        raise CheckFailed(f"{what} raised {type(error).__name__}: {error}") from None


def random_unit_rows(rng: np.random.Generator, n: int, d: int = 128) -> np.ndarray:
    """``(n, d)`` float32 rows of unit L2 norm, random directions: stand-ins for face encodings."""
    rows = rng.normal(size=(n, d)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


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
