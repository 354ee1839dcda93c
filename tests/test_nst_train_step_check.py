"""Notebook 09's train_step check passes a correct step and names each classic mistake."""

import pytest
import tensorflow as tf

from nst_utils.checks.nb09 import check_train_step
from workbook import CheckFailed


def correct(generated, optimizer, extractor, cost_of, low, high):
    with tf.GradientTape() as tape:
        J = cost_of(extractor(generated))
    optimizer.apply_gradients([(tape.gradient(J, generated), generated)])
    generated.assign(tf.clip_by_value(generated, low, high))
    return J


def _fails(function, match):
    with pytest.raises(CheckFailed, match=match):
        check_train_step(function)


def test_passes_a_correct_step_eager_and_compiled(capsys):
    check_train_step(correct)
    check_train_step(tf.function(correct))
    assert "All checks passed" in capsys.readouterr().out


def test_fails_the_stub():
    def stub(generated, optimizer, extractor, cost_of, low, high):
        raise NotImplementedError()

    _fails(stub, "NotImplementedError")


def test_names_the_gradient_of_the_wrong_variable():
    elsewhere = tf.Variable(tf.zeros((1, 4, 5, 3)))  # e.g. the notebook's own image

    def other_image(generated, optimizer, extractor, cost_of, low, high):
        with tf.GradientTape() as tape:
            J = cost_of(extractor(generated))
        optimizer.apply_gradients([(tape.gradient(J, elsewhere), generated)])
        generated.assign(tf.clip_by_value(generated, low, high))
        return J

    def network_weights(generated, optimizer, extractor, cost_of, low, high):
        with tf.GradientTape() as tape:
            J = cost_of(extractor(generated))
        weights = extractor.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(J, weights), weights, strict=True))
        generated.assign(tf.clip_by_value(generated, low, high))
        return J

    _fails(other_image, "returned None.*argument `generated`")
    _fails(network_weights, "network's weights")


def test_names_a_missing_clip():
    def no_clip(generated, optimizer, extractor, cost_of, low, high):
        with tf.GradientTape() as tape:
            J = cost_of(extractor(generated))
        optimizer.apply_gradients([(tape.gradient(J, generated), generated)])
        return J

    _fails(no_clip, r"outside \[low, high\].*clip_by_value")


def test_names_costs_not_recomputed_each_step():
    cache = {}

    def cost_once(generated, optimizer, extractor, cost_of, low, high):
        if "J" not in cache:  # the cost of the first image, reused at every step
            with tf.GradientTape() as tape:
                cache["J"] = cost_of(extractor(generated))
            cache["grad"] = tape.gradient(cache["J"], generated)
        optimizer.apply_gradients([(cache["grad"], generated)])
        generated.assign(tf.clip_by_value(generated, low, high))
        return cache["J"]

    def forward_outside_the_tape(generated, optimizer, extractor, cost_of, low, high):
        outputs = extractor(generated)
        with tf.GradientTape() as tape:
            J = cost_of(outputs)
        optimizer.apply_gradients([(tape.gradient(J, generated), generated)])
        generated.assign(tf.clip_by_value(generated, low, high))
        return J

    _fails(cost_once, "same as at step 1.*every step")
    _fails(forward_outside_the_tape, "inside `with tf.GradientTape")


def test_names_no_update_and_the_cost_after_the_update():
    def no_update(generated, optimizer, extractor, cost_of, low, high):
        return cost_of(extractor(generated))

    def cost_after(generated, optimizer, extractor, cost_of, low, high):
        correct(generated, optimizer, extractor, cost_of, low, high)
        return cost_of(extractor(generated))

    _fails(no_update, "did not change")
    _fails(cost_after, "cost after the update")
