"""Tests for notebook 06's library: receptive fields, top patches, probe images, exercise check."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_utils.backbone import Backbone
from nst_utils.checks.nb06 import check_receptive_field_size
from nst_utils.layers.plots import filter_tiles, patch_mosaic
from nst_utils.layers.probe_images import load_probe_images, square_views
from nst_utils.layers.receptive_field import LayerSpec, layer_specs, receptive_field
from nst_utils.layers.top_patches import ChannelMaxima, channel_maxima, select_units, top_patches
from workbook.checking import CheckFailed

# Receptive field sizes of VGG-16, worked out by hand with r += (k - 1) * jump.
VGG16_SIZES = {
    "block1_conv1": 3,
    "block1_conv2": 5,
    "block1_pool": 6,
    "block2_conv1": 10,
    "block2_conv2": 14,
    "block2_pool": 16,
    "block3_conv1": 24,
    "block3_conv2": 32,
    "block3_conv3": 40,
    "block3_pool": 44,
    "block4_conv1": 60,
    "block4_conv2": 76,
    "block4_conv3": 92,
    "block4_pool": 100,
    "block5_conv1": 132,
    "block5_conv2": 164,
    "block5_conv3": 196,
    "block5_pool": 212,
}


@pytest.fixture(scope="module")
def vgg16():
    return keras.applications.VGG16(weights=None, include_top=False)


# --- receptive fields -------------------------------------------------------------------


def test_vgg16_receptive_fields(vgg16):
    fields = receptive_field(layer_specs(vgg16))
    assert {name: f.size for name, f in fields.items()} == VGG16_SIZES
    jumps = {name: f.jump for name, f in fields.items()}
    assert jumps["block1_conv2"] == 1 and jumps["block1_pool"] == 2
    assert jumps["block4_conv3"] == 8 and jumps["block5_conv3"] == 16
    # 'same' 3x3 convolutions pad 1 pixel: unit 0 of block1_conv1 sees pixels -1..1.
    assert fields["block1_conv1"].start == -1
    assert fields["block5_conv3"].start == -90  # centre -90 + 195 / 2 = 7.5: on the 16-grid


def test_receptive_field_accepts_tuples_and_matches_hand_example():
    fields = receptive_field([(7, 2, 3), (3, 2, 1), (3, 1, 1)])
    assert [(f.size, f.jump, f.start) for f in fields.values()] == [
        (7, 2, -3),
        (11, 4, -5),  # 7 + (3 - 1) * 2
        (19, 4, -9),  # 11 + (3 - 1) * 4
    ]
    assert list(fields) == ["layer1", "layer2", "layer3"]
    assert receptive_field([]) == {}


def test_span_clips_to_the_image():
    field = receptive_field([LayerSpec("c", 3, 1, 1), LayerSpec("p", 2, 2, 0)])["p"]
    assert (field.size, field.jump, field.start) == (4, 2, -1)
    assert field.span(0) == (-1, 3) and field.span(0, 10) == (0, 3)
    assert field.span(5) == (9, 13) and field.span(5, 10) == (9, 10)
    first, stop = field.span(np.array([0, 5]), 10)
    np.testing.assert_array_equal(first, [0, 9])
    np.testing.assert_array_equal(stop, [3, 10])
    assert field.center(1) == 2.5


def test_bad_specs_raise():
    with pytest.raises(ValueError, match="stride >= 1"):
        LayerSpec("bad", 3, 0)
    with pytest.raises(ValueError, match="kernel, stride, padding"):
        receptive_field(["conv"])
    with pytest.raises(ValueError, match="named 'a'"):
        receptive_field([LayerSpec("a", 3), LayerSpec("a", 3)])


def test_layer_specs_reads_keras_geometry(vgg16):
    specs = {s.name: s for s in layer_specs(vgg16)}
    assert specs["block1_conv1"] == LayerSpec("block1_conv1", 3, 1, 1)
    assert specs["block3_pool"] == LayerSpec("block3_pool", 2, 2, 0)
    assert [s.name for s in layer_specs(vgg16, up_to="block2_conv1")][-1] == "block2_conv1"
    with pytest.raises(ValueError, match="valid layers"):
        layer_specs(vgg16, up_to="block9_conv1")
    dilated = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.Conv2D(1, 3, dilation_rate=2, padding="same")]
    )
    assert layer_specs(dilated)[0].kernel == 5 and layer_specs(dilated)[0].padding == 2
    flat = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="Flatten"):
        layer_specs(flat)


def _measured_extent(model, size: int, unit: int) -> tuple[int, int]:
    """Rows of the input on which output unit (unit, unit) of channel 0 depends (gradient != 0)."""
    x = tf.Variable(tf.random.uniform((1, size, size, 1), 0.5, 1.5, seed=1))
    with tf.GradientTape() as tape:
        y = model(x)[0, unit, unit, 0]
    grad = tape.gradient(y, x)[0, :, :, 0].numpy()
    rows = np.flatnonzero(np.abs(grad).sum(axis=1) > 0)
    return int(rows[0]), int(rows[-1]) + 1


def _linear_copy(specs: list[LayerSpec]) -> keras.Model:
    """A 1-channel model with the geometry of ``specs``: positive weights, average pooling.

    With positive weights and inputs, no linear path cancels and average pooling (unlike max
    pooling) passes gradient to every pixel of its window, so the gradient's support is exactly
    the receptive field.
    """
    layers = [keras.Input((None, None, 1))]
    for spec in specs:
        if "pool" in spec.name:
            layers.append(keras.layers.AveragePooling2D(spec.kernel, spec.stride, name=spec.name))
        else:
            layers.append(
                keras.layers.Conv2D(
                    1,
                    spec.kernel,
                    spec.stride,
                    padding="same",
                    name=spec.name,
                    kernel_initializer=keras.initializers.RandomUniform(0.1, 1.0, seed=0),
                )
            )
    return keras.Sequential(layers)


@pytest.mark.parametrize("layer", ["block2_conv2", "block3_pool", "block4_conv1"])
def test_receptive_field_matches_brute_force_gradient(vgg16, layer):
    model = _linear_copy(layer_specs(vgg16, up_to=layer))
    field = receptive_field(layer_specs(model))[layer]
    size = 96
    n_out = model(tf.zeros((1, size, size, 1))).shape[1]
    unit = n_out // 2  # a unit well inside the image: its whole field is visible
    first, stop = _measured_extent(model, size, unit)
    assert stop - first == field.size == VGG16_SIZES[layer]
    assert (first, stop) == field.span(unit)
    # At the border the measured field is the computed one clipped to the image.
    assert _measured_extent(model, size, 0) == field.span(0, size)


def test_brute_force_with_strided_same_convolution():
    model = keras.Sequential(
        [
            keras.Input((None, None, 1)),
            keras.layers.Conv2D(1, 5, 2, padding="same", kernel_initializer="ones", name="conv_a"),
            keras.layers.Conv2D(1, 3, 2, padding="same", kernel_initializer="ones", name="conv_b"),
            keras.layers.Conv2D(1, 3, padding="valid", kernel_initializer="ones", name="conv_c"),
        ]
    )
    field = receptive_field(layer_specs(model))["conv_c"]
    assert (field.size, field.jump) == (5 + 2 * 2 + 2 * 4, 4)
    assert _measured_extent(model, 64, 5) == field.span(5)


# --- top patches -------------------------------------------------------------------------


def _probe_model() -> Backbone:
    """conv 3x3 -> max pool 2/2 -> conv 3x3, kernels that pass only the centre pixel.

    Unit (i, j) of "conv_b" equals the maximum of input pixels 2i..2i+1 x 2j..2j+1, and its
    receptive field is 8 pixels wide, starting at 2i - 3 (hand computed: r = 3, 4, 4 + 2 * 2;
    start = -1, -1, -1 - 1 * 2).
    """
    centre = np.zeros((3, 3, 3, 1), "float32")
    centre[1, 1] = 1.0 / 3
    centre_b = np.zeros((3, 3, 1, 2), "float32")
    centre_b[1, 1, 0] = [1.0, -1.0]  # channel 1 never fires: ReLU of minus a positive value
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(1, 3, padding="same", use_bias=False, name="conv_a"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv_b"),
        ]
    )
    model.get_layer("conv_a").set_weights([centre])
    model.get_layer("conv_b").set_weights([centre_b, np.zeros(2, "float32")])
    return Backbone(name="probe", model=model, mean_bgr=(0.0, 0.0, 0.0))


def _dots(size=32, spots=((9, 14, 200), (0, 0, 250), (30, 21, 100))):
    images = np.zeros((len(spots), size, size, 3), np.uint8)
    for n, (row, col, value) in enumerate(spots):
        images[n, row, col] = value
    return images


def test_channel_maxima_finds_the_position_of_a_known_maximum():
    images = _dots()
    maxima = channel_maxima(_probe_model(), images, ["conv_b"], batch_size=2)["conv_b"]
    np.testing.assert_allclose(maxima.values[:, 0], [200, 250, 100], rtol=1e-6)
    np.testing.assert_array_equal(maxima.rows[:, 0], [4, 0, 15])
    np.testing.assert_array_equal(maxima.cols[:, 0], [7, 0, 10])
    assert (maxima.field.size, maxima.field.jump, maxima.field.start) == (8, 2, -3)
    np.testing.assert_array_equal(maxima.values[:, 1], 0)


def test_top_patches_crops_the_receptive_field():
    images = _dots()
    maxima = channel_maxima(_probe_model(), images, ["conv_b"])["conv_b"]
    top = top_patches(maxima, images, units=[0], k=3)
    np.testing.assert_array_equal(top.image_index[0], [1, 0, 2])  # strongest first
    np.testing.assert_allclose(top.values[0], [250, 200, 100], rtol=1e-6)
    # (top, left, bottom, right): unit (4, 7) sees rows 5..12, cols 11..18; unit (0, 0) rows
    # -3..4, clipped to 0..4; unit (15, 10) rows 27..34, clipped to 27..31.
    np.testing.assert_array_equal(top.boxes[0], [[0, 0, 5, 5], [5, 11, 13, 19], [27, 17, 32, 25]])
    dot_bright, dot_mid, dot_dim = top.patches[0]
    assert dot_bright.shape == (5, 5, 3) and dot_bright[0, 0, 0] == 250
    assert dot_mid.shape == (8, 8, 3) and dot_mid[9 - 5, 14 - 11, 0] == 200
    assert dot_dim.shape == (5, 8, 3) and dot_dim[30 - 27, 21 - 17, 0] == 100
    assert all(
        patch.sum() == patch[patch > 0].sum() == 3 * v
        for patch, v in zip(top.patches[0], [250, 200, 100], strict=True)
    )

    filled = top_patches(maxima, images, units=[0], k=2, fill=128)
    corner = filled.patches[0][0]
    assert corner.shape == (8, 8, 3)
    assert (corner[:3] == 128).all() and (corner[:, :3] == 128).all()
    assert corner[3, 3, 0] == 250  # the dot stays where the field put it: 0 - (-3)


def test_top_patches_rejects_bad_arguments():
    images = _dots()
    maxima = channel_maxima(_probe_model(), images, ["conv_b"])["conv_b"]
    with pytest.raises(ValueError, match="between 1 and the number of images"):
        top_patches(maxima, images, [0], k=4)
    with pytest.raises(ValueError, match="channels 0..1"):
        top_patches(maxima, images, [2], k=1)
    with pytest.raises(ValueError, match="3 images"):
        top_patches(maxima, images[:2], [0])
    with pytest.raises(ValueError, match="only 1 channels"):
        select_units(maxima, n=2, k=3)
    np.testing.assert_array_equal(select_units(maxima, n=1, k=3), [0])
    with pytest.raises(ValueError, match="non-empty"):
        channel_maxima(_probe_model(), images[0], ["conv_b"])
    with pytest.raises(ValueError, match="valid layers"):
        channel_maxima(_probe_model(), images, ["conv_z"])


def test_select_units_selective_and_random():
    values = np.array([[1.0, 0.0, 5.0], [1.0, 0.0, 0.1], [1.0, 0.0, 0.1], [1.0, 3.0, 0.1]])
    field = receptive_field([(3, 1, 1)])["layer1"]
    layer = ChannelMaxima(
        "x", values, np.zeros_like(values, int), np.zeros_like(values, int), field
    )
    # k=1: scores 3 / 0.75 = 4 (channel 1), 5 / 1.325 = 3.8 (channel 2), 1 (channel 0).
    np.testing.assert_array_equal(select_units(layer, n=2, k=1, method="selective"), [1, 2])
    np.testing.assert_array_equal(select_units(layer, n=2, k=2, method="selective"), [2, 0])
    # random: only channels that fire on k images or more (channel 1 fires on one).
    assert {tuple(select_units(layer, n=2, k=2, seed=s)) for s in range(20)} == {(0, 2)}
    wide = ChannelMaxima(
        "w", np.ones((9, 64)), np.zeros((9, 64), int), np.zeros((9, 64), int), field
    )
    first, again, other = (select_units(wide, n=9, seed=s) for s in (0, 0, 1))
    assert (
        len(set(first)) == 9 and np.array_equal(first, again) and not np.array_equal(first, other)
    )
    with pytest.raises(ValueError, match="unknown method"):
        select_units(layer, n=1, k=1, method="best")


# --- probe images ------------------------------------------------------------------------


def test_square_views_centre_crop_and_zoom():
    image = np.zeros((40, 80), np.uint8)
    image[:, 40:] = 255  # right half white
    views = square_views(image, size=20)
    assert views.shape == (5, 20, 20, 3) and views.dtype == np.uint8
    assert views[0, :, :9].max() < 20 and views[0, :, 11:].min() > 235  # centre crop kept the edge
    assert views[1].max() < 20 and views[2].min() > 235  # zoomed left / right quarters
    assert square_views(np.ones((10, 10, 4), np.float32), 8, zoom=False).shape == (1, 8, 8, 3)
    with pytest.raises(ValueError, match="HxWx3 or HxWx4"):
        square_views(np.zeros((4, 4, 2)), 4)


@pytest.mark.slow
def test_probe_images_are_deterministic_and_credited():
    first = load_probe_images(size=64, n_faces=4)
    second = load_probe_images(size=64, n_faces=4)
    assert first.pixels.shape == (30 * 5 + 4, 64, 64, 3)
    assert first.names == second.names and np.array_equal(first.pixels, second.pixels)
    assert sum(name.startswith("faces/lfw/") for name in first.names) == 4
    # one line per photo and painting, one per package of samples and for LFW, plus ShareAlike
    assert len(first.credits) == 5 + 7 + 3 + 1 == len(set(first.credits))
    assert any("CC BY 2.0" in line for line in first.credits)
    assert any("Labeled Faces in the Wild" in line for line in first.credits)


# --- the exercise check ------------------------------------------------------------------


def _correct(layers):
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size


def test_check_passes_a_correct_solution(capsys):
    check_receptive_field_size(_correct)
    assert "All checks passed" in capsys.readouterr().out


def test_check_fails_on_the_stub():
    def stub(layers):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="NotImplementedError"):
        check_receptive_field_size(stub)


def test_check_fails_on_adding_kernel_sizes_without_the_jump():
    def no_jump(layers):
        return 1 + sum(kernel - 1 for kernel, _ in layers)

    with pytest.raises(CheckFailed, match=r"should be 10; you returned 8.*without multiplying"):
        check_receptive_field_size(no_jump)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda layers: sum(k for k, _ in layers), "whole kernel sizes"),
        (lambda layers: 1 + sum((k - 1) * s for k, s in layers), "layer's own stride"),
        (lambda layers: None, "forget `return`"),
        (lambda layers: "3", "should return a number"),
    ],
)
def test_check_names_other_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_receptive_field_size(wrong)


# --- figures -----------------------------------------------------------------------------


def test_patch_mosaic_places_and_scales_patches():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    small = np.full((2, 4, 3), 7, np.uint8)  # a clipped (wider than tall) patch
    mosaic = patch_mosaic([red, small, red], tile=8, cols=2, gap=1)
    assert mosaic.shape == (8 + 1 + 8, 8 + 1 + 8, 3)
    assert (mosaic[:8, :8, 0] == 255).all() and (mosaic[:8, :8, 1] == 0).all()  # upscaled 2x
    assert (mosaic[:8, 8] == 255).all()  # the gap
    assert (mosaic[2:6, 9:17] == 7).all() and (mosaic[:2, 9:17] == 255).all()  # centred
    assert (mosaic[9:, 9:] == 255).all()  # empty cell


def test_filter_tiles_flip_bgr_and_normalise_each_filter():
    kernel = np.zeros((3, 3, 3, 2), np.float32)
    kernel[..., 0, 0] = 1.0  # filter 0 reads only the B input channel
    kernel[..., 1] = np.arange(27, dtype=np.float32).reshape(3, 3, 3) - 100
    tiles = filter_tiles(kernel)
    assert tiles.shape == (2, 3, 3, 3)
    assert (tiles[0, ..., 2] == 1).all() and (tiles[0, ..., :2] == 0).all()  # B shown as blue
    assert tiles[1].min() == 0 and tiles[1].max() == 1
    np.testing.assert_array_equal(filter_tiles(kernel, bgr_input=False)[0, ..., 0], 1)
    with pytest.raises(ValueError, match="first-layer kernel"):
        filter_tiles(np.zeros((3, 3, 64, 64)))
