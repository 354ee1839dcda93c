"""Tests of the NumPy reference convolutions against Keras `Conv1D`/`Conv3D` (to 1e-5)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conv_utils import conv1d, conv3d, same_padding


def _keras_reference(layer, x):
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    return y, kernel, bias


def test_hand_checkable_example():
    # x = [1, 2, 3, 4, 5] with the filter [1, 0, -1]: x[i] - x[i + 2] = -2 everywhere; no flip.
    x = np.arange(1, 6, dtype=np.float32)[:, None]
    kernel = np.array([1.0, 0.0, -1.0], dtype=np.float32)[:, None, None]
    np.testing.assert_array_equal(conv1d(x, kernel), [[-2.0], [-2.0], [-2.0]])
    np.testing.assert_array_equal(conv1d(x, kernel, np.array([1.0]), stride=2), [[-1.0], [-1.0]])
    # padding 1 adds a zero at both ends: [0, 1, 2, 3, 4, 5, 0]
    np.testing.assert_array_equal(conv1d(x, kernel, padding=1)[:, 0], [-2, -2, -2, -2, 4])


def test_lecture_shapes():
    rng = np.random.default_rng(0)
    first = conv1d(rng.normal(size=(14, 1)), rng.normal(size=(5, 1, 16)))
    assert first.shape == (10, 16)
    assert conv1d(first, rng.normal(size=(5, 16, 32))).shape == (6, 32)
    volume = conv3d(rng.normal(size=(14, 14, 14, 1)), rng.normal(size=(5, 5, 5, 1, 16)))
    assert volume.shape == (10, 10, 10, 16)
    assert conv3d(volume, rng.normal(size=(5, 5, 5, 16, 32))).shape == (6, 6, 6, 32)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize(("n", "f", "channels", "filters"), [(14, 5, 1, 16), (17, 4, 3, 5)])
def test_conv1d_matches_keras(n, f, channels, filters, stride, padding):
    rng = np.random.default_rng(n * 10 + stride)
    x = rng.normal(size=(3, n, channels)).astype(np.float32)
    layer = keras.layers.Conv1D(filters, f, strides=stride, padding=padding)
    y, kernel, bias = _keras_reference(layer, x)
    np.testing.assert_allclose(conv1d(x, kernel, bias, stride, padding), y, atol=1e-5, rtol=1e-5)
    # one unbatched signal gives the first row of the batch
    np.testing.assert_allclose(conv1d(x[0], kernel, bias, stride, padding), y[0], atol=1e-5)


def test_conv1d_explicit_padding_matches_keras_zero_padding():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 2)).astype(np.float32)
    layer = keras.layers.Conv1D(3, 4, strides=2)
    padded = keras.layers.ZeroPadding1D(2)(x)
    y, kernel, bias = _keras_reference(layer, padded)
    np.testing.assert_allclose(conv1d(x, kernel, bias, 2, padding=2), y, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "kernel_size", "stride", "padding"),
    [
        ((14, 14, 14, 1), 5, 1, "valid"),
        ((9, 8, 7, 2), (3, 2, 4), 1, "valid"),
        ((9, 8, 7, 2), (3, 2, 4), 2, "valid"),
        ((9, 8, 7, 2), (3, 2, 4), (2, 1, 3), "same"),
        ((10, 7, 6, 3), 3, 2, "same"),
        ((6, 6, 6, 1), 2, 3, "same"),
    ],
)
def test_conv3d_matches_keras(shape, kernel_size, stride, padding):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=(2, *shape)).astype(np.float32)
    layer = keras.layers.Conv3D(4, kernel_size, strides=stride, padding=padding)
    y, kernel, bias = _keras_reference(layer, x)
    np.testing.assert_allclose(conv3d(x, kernel, bias, stride, padding), y, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(conv3d(x[1], kernel, bias, stride, padding), y[1], atol=1e-5)


def test_conv3d_explicit_padding_matches_keras_zero_padding():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 5, 6, 4, 2)).astype(np.float32)
    layer = keras.layers.Conv3D(3, 3, strides=2)
    y, kernel, bias = _keras_reference(layer, keras.layers.ZeroPadding3D((1, 0, 2))(x))
    np.testing.assert_allclose(conv3d(x, kernel, bias, 2, padding=(1, 0, 2)), y, atol=1e-5)


def test_is_cross_correlation_not_convolution():
    # An asymmetric 3D kernel: a true convolution (flipped kernel) would differ.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 6, 6, 1))
    kernel = np.zeros((3, 3, 3, 1, 1))
    kernel[0, 1, 2, 0, 0] = 1.0  # picks x[i, j + 1, k + 2]
    np.testing.assert_array_equal(conv3d(x, kernel)[..., 0], x[:4, 1:5, 2:6, 0])


def test_same_padding_puts_the_odd_zero_after():
    assert same_padding(10, 4, 1) == (1, 2)
    assert same_padding(14, 5, 3) == (1, 2)
    assert same_padding(14, 1, 2) == (0, 0)


def test_float64_in_float64_out_and_float32_by_default():
    x = np.ones((5, 1))
    assert conv1d(x, np.ones((2, 1, 1))).dtype == np.float64
    assert conv1d(x.astype(np.float32), np.ones((2, 1, 1), np.float32)).dtype == np.float32
    assert conv1d(np.ones((5, 1), int), np.ones((2, 1, 1), int)).dtype == np.float64


@pytest.mark.parametrize(
    ("fn", "x_shape", "kernel_shape", "bias_shape", "kwargs", "message"),
    [
        (conv1d, (10, 2), (3, 3, 4), None, {}, "channels"),
        (conv1d, (10, 2), (3, 2), None, {}, "Conv1D kernel"),
        (conv1d, (2, 3, 10, 2), (3, 2, 4), None, {}, "needs x of shape"),
        (conv1d, (10,), (3, 1, 4), None, {}, "needs x of shape"),
        (conv1d, (4, 1), (5, 1, 2), None, {}, "does not fit"),
        (conv1d, (10, 2), (3, 2, 4), (3,), {}, "bias"),
        (conv1d, (10, 2), (3, 2, 4), None, {"stride": 0}, "stride"),
        (conv1d, (10, 2), (3, 2, 4), None, {"padding": "causal"}, "padding"),
        (conv3d, (5, 5, 5, 1), (3, 3, 1, 2), None, {}, "Conv3D kernel"),
        (conv3d, (5, 5, 1), (3, 3, 3, 1, 2), None, {}, "needs x of shape"),
        (conv3d, (5, 5, 2, 1), (3, 3, 3, 1, 2), None, {}, "does not fit"),
        (conv3d, (5, 5, 5, 1), (3, 3, 3, 1, 2), None, {"stride": (1, 2)}, "stride"),
        (conv3d, (5, 5, 5, 1), (3, 3, 3, 1, 2), None, {"padding": (1, 1)}, "padding"),
    ],
)
def test_invalid_shapes_raise_value_error(fn, x_shape, kernel_shape, bias_shape, kwargs, message):
    bias = None if bias_shape is None else np.zeros(bias_shape)
    with pytest.raises(ValueError, match=message):
        fn(np.zeros(x_shape), np.zeros(kernel_shape), bias, **kwargs)
