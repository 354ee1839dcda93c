"""`count_flops`: arithmetic counted from a graph's shapes, checked against counts by hand."""

import keras
import pytest
import tensorflow as tf

from nst_utils import DEFAULT_STYLE_LAYERS, count_flops, feature_extractor, load_backbone
from nst_utils.gatys import _Objective


def _conv_model(filters, kernel, input_shape, **kwargs):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Conv2D(filters, kernel, **kwargs)(inputs))


def test_one_conv_counted_by_hand():
    # 10x12 output positions, 5 filters, each a 3x3x3 window: 10*12*5*27 = 16200 multiply-adds.
    model = _conv_model(5, 3, (10, 12, 3), padding="same")
    flops = count_flops(lambda x: model(x), tf.TensorSpec((1, 10, 12, 3)))
    assert flops == {"Conv2D": 2 * 16200, "total": 2 * 16200}


def test_a_strided_valid_conv_counts_its_smaller_output():
    # (21 - 5) // 2 + 1 = 9 rows, (17 - 5) // 2 + 1 = 7 columns, 8 filters of 5x5x4.
    model = _conv_model(8, 5, (21, 17, 4), strides=2, padding="valid")
    flops = count_flops(lambda x: model(x), tf.TensorSpec((2, 21, 17, 4)))
    assert flops["total"] == 2 * (2 * 9 * 7) * 8 * (5 * 5 * 4)


def test_the_input_gradient_costs_one_more_pass_and_filter_gradients_count_only_if_used():
    model = _conv_model(5, 3, (10, 12, 3), padding="same")
    forward = 2 * 10 * 12 * 5 * 27

    def input_gradient(x):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            J = tf.reduce_sum(tf.square(model(x)))
        return tape.gradient(J, x)

    def both_gradients(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            J = tf.reduce_sum(tf.square(model(x)))
        return tape.gradient(J, [x, model.layers[1].kernel])

    spec = tf.TensorSpec((1, 10, 12, 3))
    assert count_flops(input_gradient, spec) == {
        "Conv2D": forward,
        "Conv2DBackpropInput": forward,
        "total": 2 * forward,
    }
    assert count_flops(both_gradients, spec)["Conv2DBackpropFilter"] == forward


def test_matrix_products_honour_transposes_and_nested_functions_are_counted():
    # (7x3)^T (7x5): 3*5 outputs, each a sum of 7 products.
    inner = tf.function(lambda a, b: tf.matmul(a, b, transpose_a=True))
    specs = (tf.TensorSpec((7, 3)), tf.TensorSpec((7, 5)))
    assert count_flops(inner, *specs)["MatMul"] == 2 * 3 * 5 * 7
    assert count_flops(lambda a, b: inner(a, b) + 1.0, *specs)["total"] == 2 * 3 * 5 * 7


def test_unknown_shapes_raise_a_clear_error():
    model = _conv_model(5, 3, (None, None, 3), padding="same")
    with pytest.raises(ValueError, match="TensorSpec"):
        count_flops(lambda x: model(x), tf.TensorSpec((1, None, None, 3)))


def test_vgg16_to_block5_conv1_at_256_px_is_18_8_g_multiply_adds():
    vgg = keras.applications.VGG16(weights=None, include_top=False)
    extractor = feature_extractor(vgg, ["block5_conv1"])
    # (side, c_in, c_out) of the ten convs up to block5_conv1; each is side^2 * 9 c_in c_out.
    convs = [(256, 3, 64), (256, 64, 64), (128, 64, 128), (128, 128, 128), (64, 128, 256)]
    convs += [(64, 256, 256)] * 2 + [(32, 256, 512)] + [(32, 512, 512)] * 2 + [(16, 512, 512)]
    by_hand = sum(side * side * 9 * c_in * c_out for side, c_in, c_out in convs)
    flops = count_flops(lambda x: extractor(x), tf.TensorSpec((1, 256, 256, 3)))
    assert flops == {"Conv2D": 2 * by_hand, "total": 2 * by_hand}
    assert by_hand == pytest.approx(18.84e9, rel=1e-3)


def test_a_stylize_step_is_a_forward_and_an_input_gradient_pass_and_one_gram_backward():
    """No filter gradients; each Gram matrix costs one product forward and one backward."""
    backbone = load_backbone()
    image = tf.zeros((48, 64, 3))
    objective = _Objective(
        backbone,
        content=image,
        style=image,
        content_layer="block4_conv2",
        style_layers=DEFAULT_STYLE_LAYERS,
        alpha=10.0,
        beta=40.0,
        tv_weight=0.0,
        jit_compile=False,
    )
    flops = count_flops(objective.traceable, tf.TensorSpec((1, 48, 64, 3)))
    assert "Conv2DBackpropFilter" not in flops
    assert flops["Conv2DBackpropInput"] == flops["Conv2D"]
    # Style layers block1..5_conv1 at 48x64 / 2^(b-1): C^2 * positions multiply-adds per Gram.
    grams = [(64, 48 * 64), (128, 24 * 32), (256, 12 * 16), (512, 6 * 8), (512, 3 * 4)]
    assert flops["MatMul"] == 2 * 2 * sum(c * c * n for c, n in grams)
