"""`stylize` and `reconstruct` on the real HED-VGG16 backbone and the shared art and photos."""

import numpy as np
import pytest

from nst_utils import (
    DEFAULT_STYLE_LAYERS,
    FrameRecorder,
    feature_extractor,
    load_backbone,
    load_float_image,
    reconstruct,
    stylize,
)
from nst_utils.costs import compute_content_cost, compute_style_cost, total_cost
from nst_utils.gatys import _Objective
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
    J, parts, grad = objective.value_and_grad(backbone.preprocess(generated[None]))
    extractor = feature_extractor(backbone, DEFAULT_STYLE_LAYERS, "block4_conv2")
    out_C, out_S, out_G = (
        extractor([backbone.preprocess(x[None])]) for x in (content, style, generated)
    )
    J_content = compute_content_cost(out_C["block4_conv2"], out_G["block4_conv2"])
    J_style = compute_style_cost(out_S, out_G, DEFAULT_STYLE_LAYERS)
    np.testing.assert_allclose(float(parts["content"]), float(J_content), rtol=1e-4)
    np.testing.assert_allclose(float(parts["style"]), float(J_style), rtol=1e-4)
    np.testing.assert_allclose(float(J), float(total_cost(J_content, J_style)), rtol=1e-4)
    assert grad.shape == (1, *content.shape)


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
