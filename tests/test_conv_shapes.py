"""Tests of `conv_utils.shapes`: the output-shape formula and parameter counts, against Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conv_utils import conv_output_length, conv_output_shape, conv_param_count


@pytest.mark.parametrize(
    ("input_shape", "filter_shape", "n_filters", "expected"),
    [
        ((14, 1), (5, 1), 16, (10, 16)),
        ((10, 16), (5, 16), 32, (6, 32)),
        ((14, 14, 14, 1), (5, 5, 5, 1), 16, (10, 10, 10, 16)),
        ((10, 10, 10, 16), (5, 5, 5, 16), 32, (6, 6, 6, 32)),
        ((14, 1), (5,), 16, (10, 16)),  # depth may be left out
        ((6, 6, 3), (3, 3, 3), 2, (4, 4, 2)),  # 2D: the course's 6x6x3 * 3x3x3 example
    ],
)
def test_lecture_numbers(input_shape, filter_shape, n_filters, expected):
    assert conv_output_shape(input_shape, filter_shape, n_filters) == expected


@pytest.mark.parametrize(
    ("n", "f", "stride", "padding", "expected"),
    [
        (7, 3, 2, "valid", 3),
        (64, 3, 2, "valid", 31),  # (64 - 3) / 2 = 30.5 -> floor
        (19, 4, 2, "valid", 8),  # 7.5 -> floor
        (28, 5, 1, 2, 28),
        (6, 3, 1, 1, 6),
        (14, 5, 3, "same", 5),  # ceil(14 / 3)
        (15, 3, 2, "SAME", 8),
        (5, 5, 1, "valid", 1),  # a filter as long as the input fits once
        (1, 3, 1, 1, 1),
    ],
)
def test_output_length(n, f, stride, padding, expected):
    assert conv_output_length(n, f, stride, padding) == expected


def test_per_axis_stride_and_padding():
    assert conv_output_shape((9, 8, 7, 2), (3, 3, 3), 4, stride=(1, 2, 3), padding=(1, 0, 2)) == (
        9,
        3,
        3,
        4,
    )


@pytest.mark.parametrize(
    ("layer", "input_shape"),
    [
        (keras.layers.Conv1D(16, 5), (14, 1)),
        (keras.layers.Conv1D(8, 4, strides=3, padding="same"), (17, 3)),
        (keras.layers.Conv1D(8, 4, strides=2), (19, 2)),
        (keras.layers.Conv2D(6, 3, strides=2, padding="same"), (15, 12, 3)),
        (keras.layers.Conv3D(16, 5), (14, 14, 14, 1)),
        (keras.layers.Conv3D(4, (3, 2, 4), strides=(2, 1, 3), padding="valid"), (11, 9, 13, 2)),
        (keras.layers.Conv3D(4, 3, strides=2, padding="same"), (9, 8, 7, 1)),
    ],
)
def test_matches_keras_on_real_tensors(layer, input_shape):
    x = np.zeros((1, *input_shape), dtype=np.float32)
    keras_shape = tuple(layer(x).shape[1:])
    config = layer.get_config()
    ours = conv_output_shape(
        input_shape, config["kernel_size"], config["filters"], config["strides"], config["padding"]
    )
    assert ours == keras_shape
    assert layer.count_params() == conv_param_count(
        config["kernel_size"], input_shape[-1], config["filters"]
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((4, 1), (5, 1), 2), {}, "does not fit"),
        (((14,), (5,), 2), {}, "input_shape"),
        (((2, 3, 4, 5, 1), (1, 1, 1, 1), 2), {}, "input_shape"),
        (((14, 3), (5, 2), 2), {}, "depth must be 3"),
        (((14, 14, 1), (5,), 2), {}, "does not match"),
        (((14, 1), (5,), 0), {}, "n_filters"),
        (((14, 1), (5,), 2), {"stride": 0}, "stride"),
        (((14, 1), (5,), 2), {"stride": 1.5}, "stride"),
        (((14, 1), (5,), 2), {"padding": "full"}, "padding"),
        (((14, 1), (5,), 2), {"padding": -1}, "padding"),
        (((14, 14, 1), (3, 3), 2), {"stride": (1, 2, 3)}, "stride"),
        (((0, 1), (1,), 2), {}, "input_shape"),
    ],
)
def test_invalid_shapes_raise_value_error(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        conv_output_shape(*args, **kwargs)


def test_param_counts_grow_with_the_power_of_the_dimension():
    counts = [conv_param_count((5,) * d, 16, 32, use_bias=False) for d in (1, 2, 3)]
    assert counts == [5 * 16 * 32, 25 * 16 * 32, 125 * 16 * 32]
    assert conv_param_count((5, 5, 5), 1, 16) == 125 * 16 + 16
    with pytest.raises(ValueError):
        conv_param_count((), 1, 1)
    with pytest.raises(ValueError):
        conv_param_count((3, 3), 0, 1)
