"""What the style-cost checks of notebooks 07-09 share: random activations and value comparisons."""

from __future__ import annotations

import numpy as np

from workbook.checking import CheckFailed, expect_close

__all__: list[str] = []  # private to nst_utils.checks

_RTOL = 1e-4  # students compute in float32; the references are float64


def _activation(rng, n_H, n_W, n_C, scale=1.0):
    """A random ``(1, n_H, n_W, n_C)`` float32 activation (ReLU-like: non-negative)."""
    return (scale * rng.random((1, n_H, n_W, n_C))).astype(np.float32)


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=_RTOL, atol=1e-12))


def _expect_value(got, expected, what, mistakes):
    """Compare ``got`` with ``expected``; if wrong, name the first matching classic mistake.

    Args:
        mistakes: ``{hint: value a function with that mistake would return}``.
    """
    if _close(got, expected):
        return
    for hint, wrong in mistakes.items():
        if np.shape(wrong) == np.shape(got) and _close(got, wrong):
            raise CheckFailed(f"{what} returned {np.asarray(got).ravel()[0]:.6g}. {hint}")
    expect_close(got, expected, what, rtol=_RTOL, atol=1e-12)


def _unroll(a) -> np.ndarray:
    """The correct unrolling: ``(1, n_H, n_W, n_C)`` -> ``(n_C, n_H*n_W)`` via a transpose."""
    return a.reshape(-1, a.shape[-1]).T.astype(np.float64)


def _layer_style_cost(a_S, a_G, unroll=_unroll, exponent=2, four=4) -> float:
    _, n_H, n_W, n_C = a_G.shape
    G_S, G_G = unroll(a_S) @ unroll(a_S).T, unroll(a_G) @ unroll(a_G).T
    return float(np.sum((G_S - G_G) ** 2) / (four * n_C**2 * (n_H * n_W) ** exponent))
