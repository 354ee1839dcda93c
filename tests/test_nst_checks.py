"""The exercise checks pass the reference, and fail stubs and the classic mistakes with a hint."""

import numpy as np
import pytest
import tensorflow as tf

from nst_utils import costs
from nst_utils.checks import nb07, nb08, nb09
from workbook import CheckFailed


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _fails(check, function, match):
    with pytest.raises(CheckFailed, match=match):
        check(function)


# --- compute_content_cost ---------------------------------------------------------------------


def test_content_check_passes_reference(capsys):
    nb07.check_compute_content_cost(costs.compute_content_cost)
    assert "All checks passed" in capsys.readouterr().out


def test_content_check_fails_stub_and_mistakes():
    _fails(nb07.check_compute_content_cost, _stub, "NotImplementedError")

    def mean_instead_of_sum(a_C, a_G):
        return tf.reduce_mean(tf.square(a_C - a_G))

    def forgot_normalisation(a_C, a_G):
        return tf.reduce_sum(tf.square(a_C - a_G))

    def mean_and_normalised(a_C, a_G):
        _, n_H, n_W, n_C = a_G.shape
        return tf.reduce_mean(tf.square(a_C - a_G)) / (4 * n_H * n_W * n_C)

    def not_scalar(a_C, a_G):
        return tf.reduce_sum(tf.square(a_C - a_G), axis=-1)

    def global_shape(a_C, a_G):  # reads the shape of a fixed notebook example
        return tf.reduce_sum(tf.square(a_C - a_G)) / (4 * 4 * 4 * 3)

    _fails(nb07.check_compute_content_cost, mean_instead_of_sum, "mean")
    _fails(nb07.check_compute_content_cost, forgot_normalisation, "forgot the normalisation")
    _fails(nb07.check_compute_content_cost, mean_and_normalised, "divided twice")
    _fails(nb07.check_compute_content_cost, not_scalar, "scalar")
    _fails(nb07.check_compute_content_cost, global_shape, "wrong")
    _fails(nb07.check_compute_content_cost, lambda a_C, a_G: None, "return")


# --- gram_matrix and compute_layer_style_cost --------------------------------------------------


def test_gram_check_passes_reference_and_fails_mistakes():
    nb08.check_gram_matrix(costs.gram_matrix)
    _fails(nb08.check_gram_matrix, _stub, "NotImplementedError")
    _fails(nb08.check_gram_matrix, lambda A: tf.matmul(A, A, transpose_a=True), "A\\^T A")
    _fails(nb08.check_gram_matrix, lambda A: A * A, "element-wise")


def _style_cost_with(unroll, exponent=2, four=4, reduce=tf.reduce_sum):
    def compute_layer_style_cost(a_S, a_G):
        _, n_H, n_W, n_C = a_G.shape
        G_S, G_G = costs.gram_matrix(unroll(a_S)), costs.gram_matrix(unroll(a_G))
        return reduce(tf.square(G_S - G_G)) / (four * n_C**2 * (n_H * n_W) ** exponent)

    return compute_layer_style_cost


def _good_unroll(a):
    return tf.transpose(tf.reshape(a, (-1, a.shape[-1])))


def _trap_unroll(a):
    return tf.reshape(a, (a.shape[-1], -1))


def test_layer_style_check_passes_reference_and_student_style_solution():
    nb08.check_compute_layer_style_cost(costs.compute_layer_style_cost)
    nb08.check_compute_layer_style_cost(_style_cost_with(_good_unroll))


def test_layer_style_check_names_the_reshape_trap():
    _fails(nb08.check_compute_layer_style_cost, _style_cost_with(_trap_unroll), "reshape trap")


def test_layer_style_check_fails_stub_and_normalisation_mistakes():
    check = nb08.check_compute_layer_style_cost
    _fails(check, _stub, "NotImplementedError")
    _fails(check, _style_cost_with(_good_unroll, exponent=1), "square \\(n_H \\* n_W\\)")
    _fails(check, _style_cost_with(_good_unroll, four=1), "factor 4")
    _fails(check, _style_cost_with(_good_unroll, reduce=tf.reduce_mean), "reduce_mean")

    def forgot_normalisation(a_S, a_G):
        G_S, G_G = costs.gram_matrix(_good_unroll(a_S)), costs.gram_matrix(_good_unroll(a_G))
        return tf.reduce_sum(tf.square(G_S - G_G))

    _fails(check, forgot_normalisation, "forgot the normalisation")


# --- compute_style_cost and total_cost ---------------------------------------------------------


def test_style_cost_check():
    nb09.check_compute_style_cost(costs.compute_style_cost)
    _fails(nb09.check_compute_style_cost, _stub, "NotImplementedError")

    def unweighted(style_outputs, generated_outputs, style_layers):
        return sum(
            costs.compute_layer_style_cost(style_outputs[n], generated_outputs[n])
            for n, _ in style_layers
        )

    def every_output(style_outputs, generated_outputs, style_layers):
        return sum(
            costs.compute_layer_style_cost(style_outputs[n], generated_outputs[n])
            for n in style_outputs
        )

    def averaged(style_outputs, generated_outputs, style_layers):
        return costs.compute_style_cost(style_outputs, generated_outputs, style_layers) / len(
            style_layers
        )

    _fails(nb09.check_compute_style_cost, unweighted, "weight")
    _fails(nb09.check_compute_style_cost, every_output, "wrong|listed")
    _fails(nb09.check_compute_style_cost, averaged, "do not average")


def test_total_cost_check():
    nb09.check_total_cost(costs.total_cost)
    _fails(nb09.check_total_cost, _stub, "NotImplementedError")
    _fails(
        nb09.check_total_cost,
        lambda J_c, J_s, alpha=10, beta=40: beta * J_c + alpha * J_s,
        "swapped",
    )
    _fails(
        nb09.check_total_cost,
        lambda J_c, J_s, alpha=1, beta=1: alpha * J_c + beta * J_s,
        "defaults",
    )
    _fails(
        nb09.check_total_cost,
        lambda J_c, J_s, alpha=10, beta=40: 10 * J_c + 40 * J_s,
        "alpha and beta",
    )
    _fails(nb09.check_total_cost, lambda J_c, J_s: J_c + J_s, "defaults")
    _fails(nb09.check_total_cost, lambda J_c, J_s, a, b: a * J_c + b * J_s, "TypeError")


def test_checks_use_fresh_inputs_not_fixed_answers():
    """A function that returns the notebook's printed value must not pass."""
    _fails(nb07.check_compute_content_cost, lambda a_C, a_G: np.float32(0.5), "wrong")
