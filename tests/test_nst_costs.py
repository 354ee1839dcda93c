"""The style-transfer costs against independent NumPy computations of CONVENTIONS.md."""

import numpy as np
import pytest
import tensorflow as tf

from nst_utils import (
    compute_content_cost,
    compute_layer_style_cost,
    compute_style_cost,
    gram_matrix,
    total_cost,
    total_variation_cost,
    unroll,
)


def _act(rng, n_H, n_W, n_C):
    return rng.random((1, n_H, n_W, n_C)).astype(np.float32)


def _np_unroll(a):
    """Explicit loops: row c holds channel c at every position, in row-major (h, w) order."""
    _, n_H, n_W, n_C = a.shape
    out = np.empty((n_C, n_H * n_W))
    for c in range(n_C):
        for h in range(n_H):
            for w in range(n_W):
                out[c, h * n_W + w] = a[0, h, w, c]
    return out


def _np_layer_style_cost(a_S, a_G):
    _, n_H, n_W, n_C = a_G.shape
    G_S = _np_unroll(a_S) @ _np_unroll(a_S).T
    G_G = _np_unroll(a_G) @ _np_unroll(a_G).T
    return np.sum((G_S - G_G) ** 2) / (4 * n_C**2 * (n_H * n_W) ** 2)


@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (1, 3, 5, 7), (1, 1, 1, 2)])
def test_content_cost_matches_numpy(shape):
    rng = np.random.default_rng(0)
    a_C, a_G = _act(rng, *shape[1:]), _act(rng, *shape[1:])
    expected = np.sum((a_C.astype(np.float64) - a_G) ** 2) / (4 * np.prod(shape))
    J = compute_content_cost(a_C, a_G)
    assert J.shape == () and J.dtype == tf.float32
    np.testing.assert_allclose(float(J), expected, rtol=1e-5)
    assert float(compute_content_cost(a_C, a_C)) == 0.0


def test_content_cost_hand_example():
    a_C = np.zeros((1, 1, 2, 2), np.float32)
    a_G = np.array([[[[1, 2], [0, 3]]]], np.float32)  # squares sum to 14, 4*1*2*2 = 16
    assert float(compute_content_cost(a_C, a_G)) == pytest.approx(14 / 16)


def test_content_cost_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="must match"):
        compute_content_cost(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="n_H, n_W, n_C"):
        compute_content_cost(np.zeros((2, 3)), np.zeros((2, 3)))


def test_gram_matrix_hand_example():
    A = np.array([[1, 2, 3], [0, 1, -1]], np.float32)  # 2 channels, 3 positions
    np.testing.assert_array_equal(gram_matrix(A).numpy(), [[14, -1], [-1, 2]])


def test_unroll_is_reshape_then_transpose_not_the_reshape_trap():
    a = _act(np.random.default_rng(1), 3, 4, 5)
    np.testing.assert_array_equal(unroll(a).numpy(), _np_unroll(a))
    trap = a.reshape(5, -1)  # the classic bug: same shape, scrambled channels
    assert trap.shape == (5, 12)
    assert not np.allclose(unroll(a).numpy(), trap)
    # The trap changes the style cost too, so a test against it can tell the two apart.
    b = _act(np.random.default_rng(2), 3, 4, 5)
    trapped = np.sum((trap @ trap.T - b.reshape(5, -1) @ b.reshape(5, -1).T) ** 2)
    trapped = trapped / (4 * 5**2 * 12**2)
    assert not np.isclose(float(compute_layer_style_cost(a, b)), trapped, rtol=1e-3)


@pytest.mark.parametrize("shape", [(1, 4, 4, 3), (1, 3, 5, 6), (1, 8, 2, 16)])
def test_layer_style_cost_matches_numpy(shape):
    rng = np.random.default_rng(3)
    a_S, a_G = _act(rng, *shape[1:]), _act(rng, *shape[1:])
    J = compute_layer_style_cost(a_S, a_G)
    assert J.shape == ()
    np.testing.assert_allclose(float(J), _np_layer_style_cost(a_S, a_G), rtol=1e-4)
    assert float(compute_layer_style_cost(a_S, a_S)) == pytest.approx(0.0, abs=1e-9)


def test_layer_style_cost_with_style_of_another_size():
    """Each Gram matrix is normalised by its own n_C n_H n_W, so sizes may differ."""
    rng = np.random.default_rng(4)
    a_S, a_G = _act(rng, 7, 3, 4), _act(rng, 4, 5, 4)
    G_S = _np_unroll(a_S) @ _np_unroll(a_S).T / (4 * 7 * 3)
    G_G = _np_unroll(a_G) @ _np_unroll(a_G).T / (4 * 4 * 5)
    expected = np.sum((G_S - G_G) ** 2) / 4
    np.testing.assert_allclose(float(compute_layer_style_cost(a_S, a_G)), expected, rtol=1e-4)
    # Gram statistics do not depend on image size: tiling a texture leaves the cost ~0.
    tiled = np.tile(a_S, (1, 2, 3, 1))
    assert float(compute_layer_style_cost(a_S, tiled)) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="channels"):
        compute_layer_style_cost(a_S, _act(rng, 7, 3, 5))


def test_style_cost_is_weighted_sum_over_listed_layers():
    rng = np.random.default_rng(5)
    shapes = {"a": (6, 6, 2), "b": (3, 3, 4), "c": (2, 2, 8)}
    style = {k: _act(rng, *s) for k, s in shapes.items()}
    generated = {k: _act(rng, *s) for k, s in shapes.items()}
    layers = [("a", 0.5), ("c", 2.0)]
    expected = 0.5 * _np_layer_style_cost(style["a"], generated["a"]) + 2.0 * _np_layer_style_cost(
        style["c"], generated["c"]
    )
    np.testing.assert_allclose(
        float(compute_style_cost(style, generated, layers)), expected, rtol=1e-4
    )
    with pytest.raises(KeyError, match="missing"):
        compute_style_cost(style, generated, [("missing", 1.0)])


def test_total_cost_defaults_and_weights():
    assert float(total_cost(1.5, 0.25)) == pytest.approx(10 * 1.5 + 40 * 0.25)
    assert float(total_cost(1.5, 0.25, alpha=2, beta=3)) == pytest.approx(3.75)
    J = total_cost(tf.constant(1.0), tf.constant(2.0))
    assert J.shape == ()


def test_total_variation_cost_matches_numpy():
    image = np.random.default_rng(6).random((1, 5, 7, 3)).astype(np.float32)
    x = image[0].astype(np.float64)
    expected = (np.sum((x[1:] - x[:-1]) ** 2) + np.sum((x[:, 1:] - x[:, :-1]) ** 2)) / x.size
    np.testing.assert_allclose(float(total_variation_cost(image)), expected, rtol=1e-5)
    assert float(total_variation_cost(np.ones((1, 4, 4, 3), np.float32))) == 0.0


def test_costs_are_differentiable():
    rng = np.random.default_rng(7)
    a_C, a_S = _act(rng, 4, 4, 3), _act(rng, 4, 4, 3)
    a_G = tf.Variable(_act(rng, 4, 4, 3))
    with tf.GradientTape() as tape:
        J = total_cost(compute_content_cost(a_C, a_G), compute_layer_style_cost(a_S, a_G))
    grad = tape.gradient(J, a_G)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0
