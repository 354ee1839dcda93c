"""Tests for notebook 06's library: receptive fields, top patches, mosaics, exercise checks.

The photos, the cache and the coherence measure are tested in tests/test_layer_coherence.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from nst_utils.backbone import Backbone
from nst_utils.checks import nb06
from nst_utils.checks.nb06 import (
    check_input_window,
    check_receptive_field_size,
    check_top_k_positions,
)
from nst_utils.layers.plots import (
    filter_tiles,
    patch_mosaic,
    plot_activation_maps,
    plot_filters,
    plot_predictions,
    plot_top_patches,
)
from nst_utils.layers.receptive_field import (
    LayerSpec,
    ReceptiveField,
    layer_fields,
    layer_specs,
    receptive_field,
)
from nst_utils.layers.top_patches import (
    ChannelMaxima,
    channel_maxima,
    firing_units,
    select_units,
    top_patches,
    top_photos,
)
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


def test_select_units_samples_firing_channels_only():
    values = np.array([[1.0, 0.0, 5.0], [1.0, 0.0, 0.1], [1.0, 0.0, 0.1], [1.0, 3.0, 0.1]])
    field = receptive_field([(3, 1, 1)])["layer1"]
    layer = ChannelMaxima(
        "x", values, np.zeros_like(values, int), np.zeros_like(values, int), field
    )
    # channel 1 fires on one photo only: never chosen for k=2
    np.testing.assert_array_equal(firing_units(layer, k=2), [True, False, True])
    np.testing.assert_array_equal(firing_units(layer, k=1), [True, True, True])
    assert {tuple(select_units(layer, n=2, k=2, seed=s)) for s in range(20)} == {(0, 2)}
    wide = ChannelMaxima(
        "w", np.ones((9, 64)), np.zeros((9, 64), int), np.zeros((9, 64), int), field
    )
    first, again, other = (select_units(wide, n=9, seed=s) for s in (0, 0, 1))
    assert len(set(first)) == 9 and np.array_equal(first, again)
    assert not np.array_equal(first, other) and np.all(np.diff(first) > 0)
    with pytest.raises(ValueError, match="between 1 and the number of images"):
        firing_units(layer, k=5)


def test_top_photos_ranks_photos_and_breaks_ties_by_index():
    values = np.array([[3.0, 1.0], [5.0, 1.0], [3.0, 2.0], [0.0, 1.0]])
    field = receptive_field([(3, 1, 1)])["layer1"]
    layer = ChannelMaxima("x", values, np.zeros((4, 2), int), np.zeros((4, 2), int), field)
    np.testing.assert_array_equal(top_photos(layer, k=3), [[1, 0, 2], [2, 0, 1]])
    np.testing.assert_array_equal(top_photos(layer, [1], k=1), [[2]])
    with pytest.raises(ValueError, match="channels 0..1"):
        top_photos(layer, [2], k=1)
    with pytest.raises(ValueError, match="between 1 and the number of images"):
        top_photos(layer, k=0)


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
    kernel[..., 0, 0] = 1.0  # filter 0 reads only input channel 0 (B for a BGR network)
    kernel[..., 1] = np.arange(27, dtype=np.float32).reshape(3, 3, 3) - 100
    tiles = filter_tiles(kernel, bgr_input=True)
    assert tiles.shape == (2, 3, 3, 3)
    assert (tiles[0, ..., 2] == 1).all() and (tiles[0, ..., :2] == 0).all()  # B shown as blue
    assert tiles[1].min() == 0 and tiles[1].max() == 1
    np.testing.assert_array_equal(filter_tiles(kernel)[0, ..., 0], 1)  # RGB network: as is
    with pytest.raises(ValueError, match="first-layer kernel"):
        filter_tiles(np.zeros((3, 3, 64, 64)))


# --- mirror images, fields of every layer, progress ---------------------------------------


def _edge_model() -> Backbone:
    """A unit that fires on a bright-to-dark step from left to right (ReLU of a difference).

    3x3 kernel, 'valid' padding, only its middle row set, [+1, 0, -1] on the channel mean:
    unit (i, j) gives mean(x[i + 1, j]) - mean(x[i + 1, j + 2]) where that is positive.
    """
    kernel = np.zeros((3, 3, 3, 1), "float32")
    kernel[1, 0], kernel[1, 2] = 1.0 / 3, -1.0 / 3
    model = keras.Sequential(  # (a pointwise first layer: feature_extractor skips layers[0])
        [
            keras.Input((None, None, 3)),
            keras.layers.Rescaling(1.0, name="identity"),
            keras.layers.Conv2D(1, 3, activation="relu", name="edge"),
        ]
    )
    model.get_layer("edge").set_weights([kernel, np.zeros(1, "float32")])
    return Backbone(name="edge", model=model, mean_bgr=(0.0, 0.0, 0.0))


def test_mirror_images_count_once_and_their_patches_are_cropped_mirrored():
    images = np.zeros((2, 4, 8, 3), np.uint8)
    images[0, :, :5] = 200  # bright left, dark right: the unit fires on the photo itself
    images[1, :, 5:] = 90  # dark left, bright right: it fires on the mirror image only
    images[1, 0, 6] = 255  # a marker in a row the kernel ignores, to tell the mirrored crop
    plain = channel_maxima(_edge_model(), images, ["edge"])["edge"]
    both = channel_maxima(_edge_model(), images, ["edge"], batch_size=1, mirror=True)["edge"]
    assert plain.mirrored is None
    np.testing.assert_allclose(plain.values[:, 0], [200, 0], atol=1e-4)
    np.testing.assert_allclose(both.values[:, 0], [200, 90], atol=1e-4)
    np.testing.assert_array_equal(both.mirrored[:, 0], [False, True])
    # the first position in row-major order: the step's last bright column minus 1 (photo 0:
    # columns 3..5 hold 200, 200, 0); in the mirror image of photo 1, columns 1..3
    assert (both.rows[0, 0], both.cols[0, 0]) == (0, 3)
    assert (both.rows[1, 0], both.cols[1, 0]) == (0, 1)
    assert both.field == ReceptiveField("edge", 3, 1, 0)
    top = top_patches(both, images, [0], k=2)
    np.testing.assert_array_equal(top.image_index[0], [0, 1])
    np.testing.assert_array_equal(top.mirrored[0], [False, True])
    np.testing.assert_array_equal(top.boxes[0], [[0, 3, 3, 6], [0, 1, 3, 4]])
    np.testing.assert_array_equal(top.patches[0][1], images[1, :, ::-1][0:3, 1:4])
    assert top.patches[0][1][0, 0, 0] == 255  # the marker, mirrored from column 6 to 1


def test_channel_maxima_shows_a_progress_bar_on_request(capsys):
    channel_maxima(_probe_model(), _dots(), ["conv_b"], batch_size=2, progress=True)
    assert "probe over 3 photos" in capsys.readouterr().err


def test_layer_fields_give_pointwise_layers_the_field_of_the_layer_before():
    model = keras.Sequential(
        [
            keras.Input((None, None, 3)),
            keras.layers.Conv2D(4, 3, padding="same", name="conv_1"),
            keras.layers.BatchNormalization(name="bn_1"),
            keras.layers.LeakyReLU(name="act_1"),
            keras.layers.MaxPooling2D(2, name="pool_1"),
            keras.layers.Conv2D(4, 3, padding="same", name="conv_2"),
            keras.layers.LeakyReLU(name="act_2"),
        ]
    )
    fields = layer_fields(model)
    assert list(fields) == ["conv_1", "bn_1", "act_1", "pool_1", "conv_2", "act_2"]
    assert fields["act_1"] == ReceptiveField("act_1", 3, 1, -1)
    assert fields["act_2"] == ReceptiveField("act_2", 8, 2, -3)  # 4 + 2 * 2; -1 - 1 * 2
    own = {"x": ReceptiveField("x", 5, 1, 0)}
    backbone = Backbone("own", model, None, receptive_fields_fn=lambda: own)
    assert layer_fields(backbone) is own
    with pytest.raises(ValueError, match="valid layers"):
        channel_maxima(Backbone("plain", model, (0.0, 0.0, 0.0)), _dots(), ["act_9"])


@pytest.mark.parametrize(
    ("name", "layer", "size"),
    [
        ("darknet_tiny_imagenet", "leaky_re_lu_15", 134),
        ("squeezenet_imagenet", "fire9_concat", 207),
    ],
)
def test_layer_fields_of_the_imagenet_backbones(name, layer, size):
    from nst_utils.backbone import load_backbone

    backbone = load_backbone(name)
    fields = layer_fields(backbone)
    assert fields[layer].size == size and fields[layer].jump == 16
    assert all(name in fields for name in backbone.depth_layers)


# --- the exercise checks of top_k_positions and input_window -------------------------------


def _top_k(activations, unit, k):
    maps = activations[..., unit]
    flat = maps.reshape(len(maps), -1)
    best = flat.argmax(axis=1)
    photos = np.argsort(-flat.max(axis=1), kind="stable")[:k]
    return [(int(p), int(best[p] // maps.shape[2]), int(best[p] % maps.shape[2])) for p in photos]


def test_top_k_check_passes_a_correct_solution_and_accepts_arrays(capsys):
    check_top_k_positions(_top_k)
    check_top_k_positions(lambda a, u, k: np.array(_top_k(a, u, k)))
    assert capsys.readouterr().out.count("All checks passed for top_k_positions") == 2


def _top_k_swapped_axes(activations, unit, k):
    """Row and column of the winning position swapped (a flat index read column-major)."""
    return [(p, c, r) for p, r, c in _top_k(activations, unit, k)]


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda a, u, k: (_ for _ in ()).throw(NotImplementedError()), "NotImplementedError"),
        (lambda a, u, k: None, "forget `return`"),
        (lambda a, u, k: _top_k(a, u, k)[:-1], r"should return \d \(photo, row, col\)"),
        (lambda a, u, k: [p for p, _, _ in _top_k(a, u, k)], "should return"),
        (nb06._top_k_not_deduplicated, "same photo appears more than once"),
        (nb06._top_k_all_channels, "maximum over all channels"),
        (nb06._top_k_width_swapped, "divide by the width"),
        (nb06._top_k_weakest_first, "strongest photo first"),
        (_top_k_swapped_axes, "each photo's maximum of the channel"),
    ],
)
def test_top_k_check_names_the_classic_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_top_k_positions(wrong)


def test_top_k_check_cases_tell_every_mistake_from_the_answer():
    for seed, unit, k in ((0, 2, 3), (1, 2, 4), (2, 1, 2)):
        activations = nb06._top_k_case(seed)
        answer = nb06._top_k_reference(activations, unit, k)
        assert answer == _top_k(activations, unit, k)
    activations = nb06._top_k_case(0)
    answers = [wrong(activations, 2, 3) for wrong in nb06._TOP_K_MISTAKES.values()]
    answers.append(nb06._top_k_reference(activations, 2, 3))
    assert len({tuple(a) for a in answers}) == len(answers)


def _window(index, layers):
    size, jump, start = 1, 1, 0
    for kernel, stride, padding in layers:
        size += (kernel - 1) * jump
        start -= padding * jump
        jump *= stride
    return start + index * jump, start + index * jump + size


def test_input_window_check_passes_a_correct_solution(capsys):
    check_input_window(_window)
    check_input_window(lambda i, layers: list(_window(i, layers)))
    assert capsys.readouterr().out.count("All checks passed for input_window") == 2


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda i, layers: (_ for _ in ()).throw(NotImplementedError()), "NotImplementedError"),
        (lambda i, layers: None, "forget `return`"),
        (lambda i, layers: 3, "should return a pair"),
        (lambda i, layers: (_window(i, layers)[0], _window(i, layers)[1] - 1), "one short"),
        (lambda i, layers: (i, i + 1), "r, j and start"),
    ]
    + [(wrong, "It looks like") for wrong in nb06._WINDOW_MISTAKES.values()],
)
def test_input_window_check_names_the_classic_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_input_window(wrong)


def test_input_window_cases_match_the_library_and_tell_the_mistakes_apart():
    for _, index, layers in nb06._WINDOW_CASES:
        assert _window(index, layers) == receptive_field(layers)[f"layer{len(layers)}"].span(index)
    answers = {
        tuple(tuple(wrong(i, layers)) for _, i, layers in nb06._WINDOW_CASES)
        for wrong in [*nb06._WINDOW_MISTAKES.values(), _window]
    }
    assert len(answers) == len(nb06._WINDOW_MISTAKES) + 1


def test_receptive_field_check_covers_squeezenet_s_longest_path():
    fire3 = dict(nb06._CASES)[
        "SqueezeNet up to fire3 (conv1, pool1, then squeeze 1x1 and expand 3x3 twice)"
    ]
    assert _correct(fire3) == 23  # conv1 3, pool1 3 + 2*2 = 7, fire2 7 + 2*4 = 15, fire3 23


# --- figures -------------------------------------------------------------------------------


def _top_of(n_units=2, size=6):
    images = np.random.default_rng(0).integers(0, 255, (9, size, size, 3), dtype=np.uint8)
    values = np.random.default_rng(1).uniform(0.1, 1.0, (9, n_units)).astype(np.float32)
    field = ReceptiveField("x", size, 1, 0)
    zeros = np.zeros((9, n_units), int)
    return top_patches(ChannelMaxima("x", values, zeros, zeros, field), images, range(n_units))


def test_plot_top_patches_draws_each_mosaic_pixel_for_pixel_with_captions_below():
    import matplotlib.pyplot as plt

    rows = [_top_of(), _top_of()]
    captions = [["unit 0\ndog 5/9", "unit 1\nbird 2/9"], ["a", "b"]]
    fig = plot_top_patches(rows, captions, tile=48, row_labels=["best", "random"], title="t")
    assert len(fig.axes) == 4
    mosaic_px = 3 * 48 + 2
    for ax in fig.axes:
        box = ax.get_window_extent()
        assert abs(box.width - mosaic_px) < 1.5 and abs(box.height - mosaic_px) < 1.5
        assert ax.get_title() == ""  # captions are x-labels: nothing drawn over the patches
    assert [ax.get_xlabel() for ax in fig.axes] == ["unit 0\ndog 5/9", "unit 1\nbird 2/9", "a", "b"]
    assert fig.axes[0].get_ylabel() == "best" and fig.axes[2].get_ylabel() == "random"
    assert fig._suptitle.get_text() == "t"
    plt.close(fig)


def test_plot_predictions_writes_each_guess_on_its_bar():
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    guesses = [[SimpleNamespace(label="space_bar", probability=0.42)] * 2] * 2
    fig = plot_predictions(np.zeros((2, 8, 8, 3), np.uint8), guesses, titles=["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a"  # photo, bars, photo, bars
    assert fig.axes[2].get_title() == "b"
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["space bar 42%", "space bar 42%"]
    plt.close(fig)


def test_plot_filters_and_activation_maps_label_every_panel():
    import matplotlib.pyplot as plt

    fig = plot_filters(np.zeros((5, 3, 3, 3)), cols=4, title="f")
    assert [ax.get_title() for ax in fig.axes[:5]] == ["0", "1", "2", "3", "4"]
    plt.close(fig)
    maps = {"a": np.zeros((1, 4, 6, 3)), "b": np.ones((1, 2, 3, 2))}
    fig = plot_activation_maps(np.zeros((8, 8, 3), np.uint8), maps, {"a": [0, 2], "b": [1]})
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input", "a\n#0 (4x6)", "a\n#2 (4x6)", "b\n#1 (2x3)"]
    plt.close(fig)
