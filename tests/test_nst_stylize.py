"""`stylize` and `reconstruct` on the real HED-VGG16 backbone and the shared art and photos."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst_utils import (
    DEFAULT_STYLE_LAYERS,
    FrameRecorder,
    feature_extractor,
    load_backbone,
    load_float_image,
    reconstruct,
    save_gif,
    stylize,
)
from nst_utils.costs import (
    _normalised_gram,
    compute_content_cost,
    compute_style_cost,
    total_cost,
    total_variation_cost,
)
from nst_utils.gatys import (
    _gram_for_step,
    _initial_image,
    _lbfgs,
    _Memory,
    _Objective,
    _step_for,
    _steps,
    _style_size_at,
    _upsample,
    suggested_layers,
)
from workbook import data_path

CONTENT = data_path("photos/bern_from_north.jpg")  # landscape 728x551
STYLE = data_path("art/the_scream.jpg")  # portrait 804x1024: another size and aspect
FAST = {"size": 48, "steps": 4, "progress": False}


def test_objective_matches_the_public_costs():
    """The loop's cost (Gram targets precomputed) equals the public cost functions."""
    backbone = load_backbone()
    content, style = load_float_image(CONTENT, 64), load_float_image(STYLE, 80)
    objective = _Objective(
        backbone,
        content=content,
        style=style,
        content_layer="block4_conv2",
        style_layers=DEFAULT_STYLE_LAYERS,
        alpha=10.0,
        beta=40.0,
        tv_weight=0.0,
        jit_compile=False,
    )
    generated = np.random.default_rng(0).uniform(0, 255, content.shape).astype(np.float32)
    x = tf.constant(backbone.preprocess(generated[None]))
    J, parts, grad = objective.value_and_grad(x)
    extractor = feature_extractor(backbone, DEFAULT_STYLE_LAYERS, "block4_conv2")
    out_C, out_S = (extractor([backbone.preprocess(x[None])]) for x in (content, style))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out_G = extractor([x])
        J_content = compute_content_cost(out_C["block4_conv2"], out_G["block4_conv2"])
        J_style = compute_style_cost(out_S, out_G, DEFAULT_STYLE_LAYERS)
        J_public = total_cost(J_content, J_style)
    np.testing.assert_allclose(float(parts["content"]), float(J_content), rtol=1e-4)
    np.testing.assert_allclose(float(parts["style"]), float(J_style), rtol=1e-4)
    np.testing.assert_allclose(float(J), float(J_public), rtol=1e-4)
    expected = tape.gradient(J_public, x).numpy()
    assert grad.shape == (1, *content.shape)
    np.testing.assert_allclose(
        grad.numpy(), expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max()
    )


def test_the_step_gram_has_the_value_and_gradient_of_the_public_formula():
    a = tf.constant(np.random.default_rng(1).normal(size=(1, 5, 7, 4)), tf.float32)
    weights = tf.constant(np.random.default_rng(2).normal(size=(4, 4)), tf.float32)
    grads = []
    for gram in (_gram_for_step, lambda t: _normalised_gram(t, "a")):
        with tf.GradientTape() as tape:
            tape.watch(a)
            G = gram(a)
            J = tf.reduce_sum(weights * G)  # weights not symmetric: dG is not symmetric
        grads.append(tape.gradient(J, a).numpy())
        np.testing.assert_allclose(G.numpy(), _normalised_gram(a, "a").numpy(), rtol=1e-5)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_stylize_lowers_the_cost_with_a_style_of_another_aspect(optimizer):
    recorder = FrameRecorder(every=2)
    image = stylize(
        CONTENT, STYLE, optimizer=optimizer, callback=recorder, size=64, steps=6, progress=False
    )
    assert image.dtype == np.uint8 and image.shape == (48, 64, 3)
    steps, costs = zip(*recorder.costs, strict=True)
    assert steps[-1] >= 6 and costs[-1] < 0.7 * costs[0]
    assert [s for s, _ in recorder.frames][:2] == [2, 4]
    assert recorder.frames[0][1].shape == (48, 64, 3)
    content = load_float_image(CONTENT, 64)
    assert not np.array_equal(image, content.round().astype(np.uint8))  # it really changed


@pytest.mark.slow
def test_stylize_is_deterministic_with_a_seed():
    first = stylize(CONTENT, STYLE, init="noise", seed=3, **FAST)
    again = stylize(CONTENT, STYLE, init="noise", seed=3, **FAST)
    other = stylize(CONTENT, STYLE, init="noise", seed=4, **FAST)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other).mean() > 5


def test_zero_steps_returns_the_start_image():
    content = load_float_image(CONTENT, 48)
    image = stylize(CONTENT, STYLE, size=48, steps=0, progress=False)
    np.testing.assert_allclose(image, content, atol=1.01)


@pytest.mark.slow
def test_reconstruct_matches_content_or_style_from_noise():
    recorder = FrameRecorder()
    image = reconstruct(CONTENT, content_layer="block2_conv2", size=48, steps=8, callback=recorder)
    assert image.shape == (36, 48, 3) and recorder.costs[-1][1] < 0.5 * recorder.costs[0][1]
    recorder = FrameRecorder()
    reconstruct(
        STYLE, style_layers=["block1_conv1", "block2_conv1"], size=48, steps=12, callback=recorder
    )
    assert recorder.costs[0][1] == pytest.approx(1.0)  # normalised at the start image
    assert recorder.costs[-1][1] < 0.75


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"size": 0}, ValueError, "positive"),
        ({"size": -3}, ValueError, "positive"),
        ({"steps": -1}, ValueError, "steps"),
        ({"content_layer": "block9_conv9"}, ValueError, "Unknown layer.*block4_conv2"),
        ({"style_layers": [("conv_nope", 1.0)]}, ValueError, "Unknown layer"),
        ({"backbone": "resnet"}, ValueError, "vgg16_hed, vgg19_imagenet"),
        ({"optimizer": "sgd"}, ValueError, "lbfgs, adam"),
        ({"init": "zeros"}, ValueError, "content.*noise"),
        ({"alpha": 0.0, "beta": 0.0}, ValueError, "Nothing to optimise"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        stylize(CONTENT, STYLE, **{**FAST, **kwargs})


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Content image.*nowhere.jpg"):
        stylize(tmp_path / "nowhere.jpg", STYLE, **FAST)
    (tmp_path / "fake.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(ValueError, match="not an image"):
        stylize(CONTENT, tmp_path / "fake.png", **FAST)
    with pytest.raises(ValueError, match="at least"):
        stylize(np.zeros((1, 1, 3), np.uint8), STYLE, **FAST)


def test_reconstruct_needs_exactly_one_target():
    with pytest.raises(ValueError, match="exactly one"):
        reconstruct(CONTENT, size=48, steps=1)
    with pytest.raises(ValueError, match="exactly one"):
        reconstruct(CONTENT, content_layer="block1_conv1", style_layers=["block1_conv1"])


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_callback_returning_true_stops_early(optimizer):
    seen = []

    def stop_after_two(info):
        seen.append(info.step)
        return info.step == 2

    stylize(CONTENT, STYLE, optimizer=optimizer, callback=stop_after_two, **{**FAST, "steps": 9})
    assert seen == [1, 2]


def _public_cost(image, size):
    """Total cost of a uint8 result with the public cost functions, targets at ``size``."""
    backbone = load_backbone()
    images = [load_float_image(CONTENT, size), load_float_image(STYLE, size), image]
    extractor = feature_extractor(backbone, DEFAULT_STYLE_LAYERS, "block4_conv2")
    out_C, out_S, out_G = (extractor([backbone.preprocess(x[None])]) for x in images)
    J_content = compute_content_cost(out_C["block4_conv2"], out_G["block4_conv2"])
    return float(total_cost(J_content, compute_style_cost(out_S, out_G, DEFAULT_STYLE_LAYERS)))


@pytest.mark.slow
def test_coarse_to_fine_returns_the_final_size_and_beats_the_same_fine_steps_alone():
    seen = []
    fine_only = stylize(CONTENT, STYLE, schedule=[(64, 6)], progress=False)
    both = stylize(
        CONTENT, STYLE, schedule=[(32, 12), (64, 6)], callback=seen.append, progress=False
    )
    assert fine_only.shape == both.shape == (48, 64, 3) and both.dtype == np.uint8
    assert [info.step for info in seen] == list(range(1, 19))
    assert {info.steps for info in seen} == {18}
    assert [(info.level, info.size) for info in seen] == [(0, 32)] * 12 + [(1, 64)] * 6
    assert seen[11].image().shape == (24, 32, 3) and seen[12].image().shape == (48, 64, 3)
    start = _public_cost(load_float_image(CONTENT, 64).round().astype(np.uint8), 64)
    assert _public_cost(both, 64) < 0.6 * _public_cost(fine_only, 64) < 0.6 * start


def test_stopping_in_a_coarse_level_still_returns_the_final_size():
    seen = []

    def stop_at_two(info):
        seen.append(info.step)
        return info.step == 2

    image = stylize(
        CONTENT, STYLE, schedule=[(32, 5), (64, 5)], callback=stop_at_two, progress=False
    )
    assert image.shape == (48, 64, 3) and seen == [1, 2]


def test_the_style_image_is_scaled_like_each_level():
    assert _style_size_at(256, 512, None) == 256  # default: the style at the result's size
    assert _style_size_at(512, 512, 300) == 300
    assert _style_size_at(128, 512, 300) == 75  # a quarter of the result: a quarter of 300


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"schedule": [(64, 2)], "size": 64}, "either size"),
        ({"schedule": [(32, 2)], "steps": 2}, "either size"),
        ({"schedule": []}, "empty"),
        ({"schedule": [(64,)]}, "pairs"),
        ({"schedule": 64}, "pairs"),
        ({"schedule": [(64, 2), (32, 2)]}, "grow"),
        ({"schedule": [(32, 2), (32, 2)]}, "grow"),
        ({"schedule": [(0, 2)]}, "positive"),
        ({"schedule": [(32, -1)]}, r"schedule\[0\]'s steps"),
    ],
)
def test_bad_schedules_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stylize(CONTENT, STYLE, progress=False, **kwargs)


@pytest.mark.slow
def test_reconstruct_coarse_to_fine_normalises_each_level():
    recorder = FrameRecorder()
    image = reconstruct(
        CONTENT, content_layer="block2_conv2", schedule=[(32, 8), (48, 2)], callback=recorder
    )
    assert image.shape == (36, 48, 3)
    costs = dict(recorder.costs)
    assert costs[1] == pytest.approx(1.0) and costs[9] == pytest.approx(1.0, rel=1e-3)
    assert costs[8] < 0.8


@pytest.mark.slow
def test_a_noise_start_recorded_as_an_animated_gif(tmp_path):
    """The lecture's "G evolving from noise": frames from a noise start, saved as a GIF."""
    recorder = FrameRecorder(every=4)
    stylize(
        CONTENT,
        STYLE,
        schedule=[(32, 16), (64, 4)],
        init="noise",
        callback=recorder,
        progress=False,
    )
    assert [step for step, _ in recorder.frames] == [4, 8, 12, 16, 20]
    path = save_gif(tmp_path / "evolve.gif", recorder)
    sources = [
        np.asarray(Image.fromarray(image).resize((64, 48), Image.Resampling.LANCZOS), np.float32)
        for _, image in recorder.frames
    ]
    with Image.open(path) as gif:
        assert gif.is_animated and gif.n_frames == 5 and gif.size == (64, 48)
        for index in (0, 4):  # each frame shows its own step, not another one
            gif.seek(index)
            decoded = np.asarray(gif.convert("RGB"), np.float32)
            own, other = (np.abs(decoded - sources[i]).mean() for i in (index, 4 - index))
            assert own < 0.5 * other, (index, own, other)


class _Quadratic:
    """``J = 1/2 sum(d x^2)``: a stand-in for `_Objective` whose minimum (0) is known."""

    def __init__(self, d):
        self.d = tf.constant(d, tf.float32)

    def value_and_grad(self, x):
        return 0.5 * tf.reduce_sum(self.d * x * x), {}, self.d * x


def test_lbfgs_spends_exactly_its_budget_and_solves_a_quadratic():
    d = np.array([[1.0, 3.0, 10.0, 30.0, 100.0]], np.float32)
    seen = []
    x = _lbfgs(_Quadratic(d), np.ones_like(d), 25, lambda step, J, *_: seen.append((step, J)))
    assert [step for step, _ in seen] == list(range(1, 26))
    assert 0.5 * float(np.sum(d * x * x)) < 1e-6 * seen[0][1]
    assert all(later <= earlier for (_, earlier), (_, later) in zip(seen, seen[1:], strict=False))


def _two_loop_by_hand(g, pairs):
    """Nocedal & Wright's Algorithm 7.4 in NumPy, over ``pairs`` oldest first."""
    q, alphas = g.copy(), []
    for s, y in reversed(pairs):
        alphas.append(np.sum(s * q) / np.sum(s * y))
        q -= alphas[-1] * y
    s, y = pairs[-1]
    r = np.sum(s * y) / np.sum(y * y) * q
    for (s, y), alpha in zip(pairs, reversed(alphas), strict=True):
        r += (alpha - np.sum(y * r) / np.sum(s * y)) * s
    return -r


def test_lbfgs_memory_forgets_the_oldest_pair_and_matches_the_textbook_recursion():
    rng = np.random.default_rng(0)
    pairs = [tuple(rng.uniform(0.5, 1.5, (2, 1, 4, 3))) for _ in range(4)]
    g = rng.normal(size=(1, 4, 3))
    memory = _Memory((1, 4, 3), size=3)
    assert np.array_equal(memory.direction(tf.constant(g, tf.float32)).numpy(), -g.astype("f4"))
    for s, y in pairs:
        memory.add(tf.constant(s, tf.float32), tf.constant(y, tf.float32), float(np.sum(s * y)))
    expected = _two_loop_by_hand(g, pairs[1:])  # the first pair was forgotten
    direction = memory.direction(tf.constant(g, tf.float32)).numpy()
    np.testing.assert_allclose(direction, expected, rtol=1e-4)
    s, y = pairs[-1]  # secant equation for the newest pair: H y = s
    np.testing.assert_allclose(-memory.direction(tf.constant(y, tf.float32)), s, rtol=1e-4)


def test_a_finer_level_starts_from_the_upsampled_result_plus_the_photos_detail():
    """With no steps, levels only carry the image: the photo's detail comes back at 64 px."""
    image = stylize(CONTENT, STYLE, schedule=[(32, 0), (64, 0)], progress=False)
    content = load_float_image(CONTENT, 64)
    np.testing.assert_allclose(image, content, atol=1.01)  # not the blurred 32 px photo
    noise = stylize(CONTENT, STYLE, schedule=[(32, 0), (64, 0)], init="noise", progress=False)
    start = _initial_image((24, 32, 3), "noise", 0)  # a noise start has no detail to add
    np.testing.assert_allclose(noise, _upsample(start, (48, 64)), atol=1.01)


def test_one_trace_serves_every_level_and_every_later_call():
    stylize(CONTENT, STYLE, schedule=[(32, 2), (48, 2)], progress=False)
    stylize(CONTENT, STYLE, size=40, steps=2, alpha=1.0, progress=False)
    layers = tuple((name, float(weight)) for name, weight in DEFAULT_STYLE_LAYERS)
    step = _step_for(load_backbone(), "block4_conv2", layers, False, False)
    assert step.compiled.experimental_get_tracing_count() == 1


# --- per-backbone defaults: layers, bounds and pixel units -------------------------------------


def test_the_backbones_suggested_layers_are_used_unless_layers_are_given():
    squeeze = load_backbone("squeezenet_imagenet")
    content_layer, style_layers = suggested_layers(squeeze)
    assert content_layer == squeeze.content_layer == "fire5_concat"
    assert style_layers == tuple(squeeze.style_layers)
    assert suggested_layers(load_backbone()) == ("block4_conv2", tuple(DEFAULT_STYLE_LAYERS))
    given = suggested_layers(squeeze, "fire3_concat", [("conv1", 1.0)])
    assert given == ("fire3_concat", (("conv1", 1.0),))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_stylize_on_squeezenet_with_default_layers_runs_and_stays_in_bounds(optimizer):
    pixels = []
    image = stylize(
        CONTENT,
        STYLE,
        backbone="squeezenet_imagenet",
        optimizer=optimizer,
        callback=lambda info: pixels.append(info._pixels()),
        **FAST,
    )
    assert image.shape == (36, 48, 3) and image.dtype == np.uint8
    assert len(pixels) == FAST["steps"] and np.isfinite(pixels[-1]).all()
    if optimizer == "adam":  # clipped after every update, in the network's own input space
        assert min(p.min() for p in pixels) >= -1e-3 and max(p.max() for p in pixels) <= 255.001


def test_an_explicit_layer_list_wins_over_the_backbones_suggestion():
    with pytest.raises(ValueError, match="Unknown layer.*block4_conv2"):  # VGG names on SqueezeNet
        stylize(
            CONTENT, STYLE, backbone="squeezenet_imagenet", content_layer="block4_conv2", **FAST
        )
    recorder = FrameRecorder()
    stylize(
        CONTENT,
        STYLE,
        backbone="squeezenet_imagenet",
        content_layer="fire3_concat",
        style_layers=[("conv1", 1.0)],
        callback=recorder,
        **FAST,
    )
    used = [key[1:3] for key in _steps if key[0] == id(load_backbone("squeezenet_imagenet").model)]
    assert ("fire3_concat", (("conv1", 1.0),)) in used


def test_adam_on_darknet_keeps_pixels_in_0_255_in_its_divided_by_255_input_space():
    """Darknet's input is RGB / 255 and it has no BGR mean: the bounds come from input_bounds."""
    lows, highs = [], []

    def record(info):
        lows.append(float(info._pixels().min()))
        highs.append(float(info._pixels().max()))

    image = stylize(
        CONTENT,
        STYLE,
        backbone="darknet_tiny_imagenet",
        optimizer="adam",
        learning_rate=32.0,
        callback=record,
        **FAST,
    )
    assert np.isfinite(lows + highs).all() and min(lows) >= -1e-3 and max(highs) <= 255.001
    assert np.abs(image.astype(int) - load_float_image(CONTENT, 48)).mean() > 1.0  # it moved


def test_tv_cost_is_in_pixel_units_for_every_backbone():
    rgb = np.random.default_rng(0).uniform(0, 255, (16, 20, 3)).astype(np.float32)
    expected = float(total_variation_cost(tf.constant(rgb[None])))
    for name in ("vgg16_hed", "darknet_tiny_imagenet"):
        backbone = load_backbone(name)
        objective = _Objective(
            backbone,
            content=rgb,
            style=None,
            content_layer=suggested_layers(backbone)[0],
            style_layers=(),
            alpha=1.0,
            beta=0.0,
            tv_weight=1.0,
            jit_compile=False,
        )
        _, parts = objective.costs(backbone.preprocess(rgb[None]))
        assert float(parts["tv"]) == pytest.approx(expected, rel=1e-4), name


def test_reconstruct_with_kind_uses_the_suggested_layers_and_lbfgs_moves_in_pixel_units():
    """On Darknet (input / 255) L-BFGS's first step is scaled too: six steps already help."""
    for name in ("squeezenet_imagenet", "darknet_tiny_imagenet"):
        for kind in ("content", "style"):
            recorder = FrameRecorder()
            reconstruct(CONTENT, kind=kind, backbone=name, size=48, steps=6, callback=recorder)
            assert recorder.costs[0][1] == pytest.approx(1.0, rel=1e-3)
            assert recorder.costs[-1][1] < 0.8, (name, kind, recorder.costs)
    with pytest.raises(ValueError, match="kind must be"):
        reconstruct(CONTENT, kind="texture", size=48, steps=1)
    with pytest.raises(ValueError, match="exactly one"):
        reconstruct(CONTENT, kind="style", content_layer="block1_conv1", size=48, steps=1)
