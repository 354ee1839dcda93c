"""Notebook 09's lesson code: balanced weights, the CPU budget, JPEG figures, the live panel."""

import time
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nst_utils  # noqa: E402
from nst_utils import compare  # noqa: E402
from nst_utils.art_panel import fast_panel, jpeg_bytes, show_jpeg  # noqa: E402
from nst_utils.costs import compute_content_cost, compute_style_cost  # noqa: E402
from workbook import data_path  # noqa: E402

PHOTO, PAINTING = data_path("photos/bern_from_north.jpg"), data_path("art/starry_night.jpg")


def test_cpu_budget_stops_once_its_cpu_time_is_spent():
    with pytest.raises(ValueError, match="> 0"):
        compare.CpuBudget(0)
    budget = compare.CpuBudget(0.05)
    assert budget(SimpleNamespace(step=1)) is False
    start = time.process_time()
    while time.process_time() - start < 0.06:
        sum(range(1000))
    assert budget(SimpleNamespace(step=2)) is True
    assert budget.steps == 2 and budget.cpu_seconds >= 0.05


def test_balanced_weights_put_both_terms_on_the_stated_scale():
    net = nst_utils.load_backbone("squeezenet_imagenet")
    content_layer, style_layers = compare.backbone_layers(net)
    alpha, beta = compare.balanced_weights(net, PHOTO, PAINTING, size=64, ratio=10.0)
    photo = nst_utils.load_float_image(PHOTO, 64)
    painting = nst_utils.resize_image(nst_utils.load_float_image(PAINTING), 64)
    stand_in = compare._resized_to(painting, photo.shape[:2])
    extractor = nst_utils.feature_extractor(net, list(style_layers), content_layer)

    def features(rgb):
        return extractor([net.preprocess(rgb[None])])

    J_content = compute_content_cost(
        features(photo)[content_layer], features(stand_in)[content_layer]
    )
    J_style = compute_style_cost(features(painting), features(photo), style_layers)
    assert alpha * float(J_content) == pytest.approx(1.0, rel=1e-4)
    assert beta * float(J_style) == pytest.approx(10.0, rel=1e-4)
    _, beta_1 = compare.balanced_weights(net, PHOTO, PAINTING, size=64, ratio=1.0)
    assert beta == pytest.approx(10 * beta_1)


def test_backbone_layers_are_the_backbones_own_or_vggs():
    assert compare.backbone_layers("squeezenet_imagenet")[0] == "fire5_concat"
    content_layer, style_layers = compare.backbone_layers("vgg16_hed")
    assert content_layer == "block4_conv2" and style_layers[0] == ("block1_conv1", 0.2)


def test_stylize_for_stops_at_the_budget_and_reports_the_run():
    run = compare.stylize_for(
        PHOTO, PAINTING, 0.3, backbone="squeezenet_imagenet", size=48, steps=10_000
    )
    assert run.backbone == "squeezenet_imagenet" and max(run.image.shape[:2]) == 48
    assert 1 <= run.steps < 10_000 and run.cpu_seconds >= 0.3
    capped = compare.stylize_for(
        PHOTO, PAINTING, 60.0, backbone="squeezenet_imagenet", size=48, steps=3
    )
    assert capped.steps == 3


def test_show_jpeg_displays_a_jpeg_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    fig = nst_utils.show_images([np.zeros((40, 60, 3), np.uint8)], ["black"])
    assert jpeg_bytes(fig)[:3] == b"\xff\xd8\xff"
    show_jpeg(fig)
    assert not plt.fignum_exists(fig.number)
    assert len(shown) == 1 and shown[0].format == "jpeg" and shown[0].data[:2] == b"\xff\xd8"


def test_fast_panel_draws_at_once_and_redraws_on_a_change(monkeypatch):
    drawn = []

    def record(figure):
        drawn.append(figure.axes[0].get_title())
        plt.close(figure)

    monkeypatch.setattr("nst_utils.art_panel.show_jpeg", record)
    panel = fast_panel([PHOTO], [PAINTING], size=64, strength=1.0)
    assert drawn == ["bern_from_north x starry_night\nstrength 1.00"]
    panel.children[1].value = 0.0  # the strength slider
    assert len(drawn) == 2 and drawn[1].endswith("strength 0.00")
