"""Checks for the exercises of the face notebooks (01-05).

Each ``check_*`` function runs a student's function on a few inputs (with fresh
variable names, so a function that reads notebook globals is caught), compares the
result with the reference, and raises `workbook.CheckFailed` with a sentence naming
the likely mistake. It prints one "All checks passed" line when everything matches.
"""

from __future__ import annotations

import numpy as np

from workbook.checking import (
    CheckFailed,
    expect_close,
    expect_scalar,
    expect_shape,
    passed,
    random_unit_rows,
)

__all__ = ["check_distance", "check_is_same_person"]


def check_distance(distance) -> None:
    """Check ``distance(f1, f2)`` = squared L2 distance, for single encodings and row batches."""
    e1, e2 = np.eye(128, dtype=np.float32)[:2]
    got = expect_scalar(distance(e1, e2), "distance(f1, f2) for two 128-D vectors")
    if np.isclose(got, np.sqrt(2.0)):
        raise CheckFailed(
            "distance(e1, e2) for two orthogonal unit vectors should be 2.0; you returned 1.414..."
            " = sqrt(2): that is the plain L2 norm ||f1 - f2||. The lecture's d is its square."
        )
    expect_close(got, 2.0, "distance(e1, e2) for two orthogonal unit vectors")
    rng = np.random.default_rng(7)
    batch_a, batch_b = random_unit_rows(rng, 4), random_unit_rows(rng, 4)
    expected = ((batch_a - batch_b) ** 2).sum(axis=1)
    out = distance(batch_a, batch_b)
    expect_shape(
        out,
        (4,),
        "distance(A, B) for two (4, 128) batches",
        hint="Sum over the last axis only (axis=-1), one distance per row.",
    )
    if np.allclose(out, np.abs(batch_a - batch_b).sum(axis=1), rtol=1e-4):
        raise CheckFailed(
            "distance(A, B) returns the L1 distance (sum of |f1 - f2|); square instead."
        )
    expect_close(out, expected, "distance(A, B) for two (4, 128) batches", rtol=1e-4, atol=1e-5)
    passed("distance")


def check_is_same_person(is_same_person) -> None:
    """Check ``is_same_person(f1, f2, tau)``: True exactly when ``||f1 - f2||^2 <= tau``."""
    f1 = np.zeros(128, dtype=np.float32)
    f2 = np.zeros(128, dtype=np.float32)
    f2[0] = 0.9  # squared distance 0.81, plain distance 0.9
    verdict = is_same_person(f1, f2, 0.85)
    if verdict is None:
        raise CheckFailed("is_same_person returned None: did you forget the `return` statement?")
    if not bool(np.asarray(verdict)):
        raise CheckFailed(
            "is_same_person(f1, f2, tau=0.85) with d = ||f1 - f2||^2 = 0.81 should be True. Did you"
            " compare the plain distance (0.9) with a threshold meant for the squared distance?"
        )
    if bool(np.asarray(is_same_person(f1, f2, 0.5))):
        raise CheckFailed(
            "is_same_person(f1, f2, tau=0.5) with d = 0.81 should be False (d > tau)."
        )
    f3 = np.zeros(128, dtype=np.float32)
    f3[1] = 0.5  # squared distance 0.25 exactly
    if not bool(np.asarray(is_same_person(f1, f3, 0.25))):
        raise CheckFailed(
            "d == tau should count as the same person: use d <= tau, as in the lecture."
        )
    passed("is_same_person")
