"""The offline ImageNet networks: SqueezeNet v1.1 features and the Darknet tiny classifier.

Parity: SqueezeNet against an independent NumPy forward pass written here; Darknet against
TF.js's own outputs on the same input (tests/fixtures/darknet_tfjs, see its README).
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from PIL import Image

from nst_utils.backbone import feature_extractor, load_backbone
from nst_utils.layers.receptive_field import layer_specs, receptive_field
from nst_utils.models import darknet, squeezenet
from workbook.resources import WeightsUnavailableError, data_path, weights_path

TFJS_FIXTURE = Path(__file__).parent / "fixtures" / "darknet_tfjs"
PHOTOS = "photos"


@pytest.fixture(scope="module")
def squeeze():
    return squeezenet.build()


@pytest.fixture(scope="module")
def dark():
    return darknet.build()


def _photo(name: str) -> np.ndarray:
    with Image.open(data_path(f"{PHOTOS}/{name}.jpg")) as image:
        return np.asarray(image.convert("RGB"))


def _shapes(model, names, size=224) -> dict:
    probe = keras.Model(model.input, {name: model.get_layer(name).output for name in names})
    return {k: tuple(v.shape[1:]) for k, v in probe(np.zeros((1, size, size, 3))).items()}


# --- SqueezeNet -------------------------------------------------------------------------------


def test_squeezenet_has_722496_parameters_and_the_v11_layer_shapes(squeeze):
    assert squeeze.count_params() == 722_496
    assert not squeeze.trainable
    names = ["conv1", "pool1", "fire2_concat", "fire3_concat", "pool3", "fire5_concat", "pool5"]
    names += ["fire6_concat", "fire8_concat", "fire9_concat", "fire9_squeeze1x1"]
    assert _shapes(squeeze, names) == {
        "conv1": (111, 111, 64),
        "pool1": (55, 55, 64),
        "fire2_concat": (55, 55, 128),
        "fire3_concat": (55, 55, 128),
        "pool3": (27, 27, 128),
        "fire5_concat": (27, 27, 256),
        "pool5": (13, 13, 256),
        "fire6_concat": (13, 13, 384),
        "fire8_concat": (13, 13, 512),
        "fire9_concat": (13, 13, 512),
        "fire9_squeeze1x1": (13, 13, 64),
    }


def _np_conv(x, kernel, bias, stride=1, pad=0):
    """ReLU(conv) of one (H, W, C) image, written as a sum over kernel offsets."""
    x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    kh, kw = kernel.shape[:2]
    oh, ow = (x.shape[0] - kh) // stride + 1, (x.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow, kernel.shape[3])) + bias
    for i in range(kh):
        for j in range(kw):
            rows, cols = (
                slice(i, i + stride * (oh - 1) + 1, stride),
                slice(j, j + stride * (ow - 1) + 1, stride),
            )
            out += x[rows, cols] @ kernel[i, j]
    return np.maximum(out, 0.0)


def _np_pool(x):
    """3x3 stride-2 max pooling without padding."""
    oh, ow = (x.shape[0] - 3) // 2 + 1, (x.shape[1] - 3) // 2 + 1
    views = [
        x[i : i + 2 * (oh - 1) + 1 : 2, j : j + 2 * (ow - 1) + 1 : 2]
        for i in range(3)
        for j in range(3)
    ]
    return np.max(views, axis=0)


def _np_squeezenet(x, weights) -> dict:
    """SqueezeNet v1.1 features in float64 NumPy, from the .mat's arrays (not from Keras)."""
    out = {"conv1": _np_conv(x, *weights["conv1"], stride=2)}
    x = out["pool1"] = _np_pool(out["conv1"])
    for name, _, _ in squeezenet.FIRE_MODULES:
        s = _np_conv(x, *weights[f"{name}/squeeze1x1"])
        left, right = (
            _np_conv(s, *weights[f"{name}/expand1x1"]),
            _np_conv(s, *weights[f"{name}/expand3x3"], pad=1),
        )
        x = out[f"{name}_concat"] = np.concatenate([left, right], axis=-1)
        if name in ("fire3", "fire5"):
            x = _np_pool(x)
    return out


def test_squeezenet_matches_an_independent_numpy_forward_pass(squeeze):
    weights = squeezenet.read_mat(weights_path(squeezenet.WEIGHTS_NAME))
    weights = {k: (kernel.astype(np.float64), bias) for k, (kernel, bias) in weights.items()}
    rgb = np.asarray(Image.fromarray(_photo("chiffchaff_bird")).resize((75, 75)), np.float32)
    x = np.asarray(squeezenet.preprocess(rgb))
    reference = _np_squeezenet(x.astype(np.float64), weights)
    names = ["conv1", "pool1", "fire2_concat", "fire5_concat", "fire9_concat"]
    got = keras.Model(squeeze.input, [squeeze.get_layer(n).output for n in names])(x[None])
    for name, value in zip(names, got, strict=True):
        ref = reference[name]
        assert np.asarray(value)[0].shape == ref.shape, name
        # activations reach ~500 (inputs are 0..255 scale): compare relative to the largest
        assert np.abs(np.asarray(value)[0] - ref).max() <= 1e-4 * np.abs(ref).max(), name
        assert (ref > 0).mean() > 0.05, f"{name}: a dead layer would make the check empty"


def test_squeezenet_preprocess_is_caffe_bgr_minus_mean_and_round_trips():
    rgb = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    x = np.asarray(squeezenet.preprocess(rgb))
    np.testing.assert_allclose(x[..., 0], rgb[..., 2] - squeezenet.MEAN_BGR[0], atol=1e-4)
    np.testing.assert_allclose(x[..., 2], rgb[..., 0] - squeezenet.MEAN_BGR[2], atol=1e-4)
    np.testing.assert_allclose(np.asarray(squeezenet.deprocess(x)), rgb, atol=1e-4)


def test_squeezenet_receptive_fields_follow_the_3x3_branch():
    fields = squeezenet.receptive_fields()
    # conv1 3/2, pool1 +2*2, each fire adds one 3x3 ring (2 * jump), pools add 2 * jump
    expected = {
        "conv1": (3, 2),
        "pool1": (7, 4),
        "fire2_expand1x1": (7, 4),
        "fire2_concat": (15, 4),
    }
    expected |= {
        "pool3": (31, 8),
        "fire5_concat": (63, 8),
        "pool5": (79, 16),
        "fire9_concat": (207, 16),
    }
    assert {k: (fields[k].size, fields[k].jump) for k in expected} == expected
    assert fields["fire9_concat"].name == "fire9_concat"


def _save_mat(path, **variables):
    scipy.io.savemat(path, variables)
    return path


def _good_weights() -> dict:
    raw = squeezenet.read_mat(weights_path(squeezenet.WEIGHTS_NAME))
    cells = {}
    for name, (kernel, bias) in raw.items():
        cell = np.empty((1, 2), dtype=object)
        cell[0, 0], cell[0, 1] = kernel, bias[None]
        cells[name] = cell
    return cells


def test_squeezenet_refuses_broken_or_foreign_mat_files(tmp_path):
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"not a matlab file at all" * 10)
    with pytest.raises(WeightsUnavailableError, match="make data"):
        squeezenet.build(garbage)
    cells = _good_weights()
    with pytest.raises(WeightsUnavailableError, match="missing"):
        squeezenet.build(_save_mat(tmp_path / "short.mat", **{"conv1": cells["conv1"]}))
    with pytest.raises(WeightsUnavailableError, match="1x2 cells"):  # a struct, not a cell
        squeezenet.build(_save_mat(tmp_path / "struct.mat", **(cells | {"conv1": {"w": 1.0}})))
    text = np.empty((1, 2), dtype=object)
    text[0, 0], text[0, 1] = "import os", np.zeros((1, 64))
    with pytest.raises(WeightsUnavailableError, match="floating-point"):
        squeezenet.build(_save_mat(tmp_path / "text.mat", **(cells | {"conv1": text})))
    wrong = np.empty((1, 2), dtype=object)
    wrong[0, 0], wrong[0, 1] = np.zeros((3, 3, 3, 32), np.float32), np.zeros((1, 32), np.float32)
    with pytest.raises(WeightsUnavailableError, match="conv1 kernel"):
        squeezenet.build(_save_mat(tmp_path / "wrong.mat", **(cells | {"conv1": wrong})))


# --- Darknet tiny -----------------------------------------------------------------------------


def test_darknet_has_1046488_parameters_and_the_names_of_model_json(dark):
    assert dark.count_params() == 1_046_488
    specs = darknet.read_topology(weights_path(darknet.WEIGHTS_NAME))
    assert [layer.name for layer in dark.layers] == [spec.name for spec in specs]
    assert sum(spec.kind == "Conv2D" for spec in specs) == 16
    batch_norms = [
        layer for layer in dark.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(batch_norms) == 15 and {layer.epsilon for layer in batch_norms} == {1e-3}
    leaky = {
        round(float(layer.negative_slope), 6)
        for layer in dark.layers
        if isinstance(layer, keras.layers.LeakyReLU)
    }
    assert leaky == {0.1}


def test_darknet_layer_shapes_at_224(dark):
    names = ["conv2d_1", "max_pooling2d_1", "max_pooling2d_2", "leaky_re_lu_6", "max_pooling2d_3"]
    names += [
        "leaky_re_lu_10",
        "max_pooling2d_4",
        "leaky_re_lu_15",
        "conv2d_16",
        "global_average_pooling2d_1",
    ]
    assert _shapes(dark, names) == {
        "conv2d_1": (224, 224, 16),
        "max_pooling2d_1": (112, 112, 16),
        "max_pooling2d_2": (56, 56, 32),
        "leaky_re_lu_6": (56, 56, 128),
        "max_pooling2d_3": (28, 28, 128),
        "leaky_re_lu_10": (28, 28, 256),
        "max_pooling2d_4": (14, 14, 256),
        "leaky_re_lu_15": (14, 14, 128),
        "conv2d_16": (14, 14, 1000),
        "global_average_pooling2d_1": (1000,),
    }


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_reference", TFJS_FIXTURE / "make_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_darknet_matches_tfjs_on_the_same_input(dark):
    fixture = _fixture_module()
    reference = np.load(TFJS_FIXTURE / "tfjs_outputs.npz")
    outputs = keras.Model(dark.input, [dark.get_layer(name).output for name in fixture.LAYERS])
    for name, value in zip(fixture.LAYERS, outputs(fixture.pattern_images()), strict=True):
        value = np.asarray(value)
        value = value.mean(axis=(1, 2)) if value.ndim == 4 else value
        assert value.shape == reference[name].shape, name
        assert np.abs(value - reference[name]).max() <= 1e-4, name


def test_darknet_preprocess_divides_by_255_and_round_trips():
    rgb = np.random.default_rng(1).uniform(0, 255, (3, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(darknet.preprocess(rgb)), rgb / 255, rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(darknet.deprocess(darknet.preprocess(rgb))), rgb, atol=1e-4
    )


def test_fit_square_resizes_the_short_side_and_crops_the_centre():
    image = np.zeros((300, 600, 3), np.uint8)
    image[:, 140:460] = 255  # white just beyond the centre square, black outside
    square = darknet.fit_square(image)
    assert square.shape == (224, 224, 3) and square.dtype == np.float32
    assert square.min() >= 250


def test_darknet_labels_map_to_the_standard_imagenet_order():
    labels = darknet.labels()
    assert labels.names[0] == "kit fox" and labels.wnids[0] == "n02119789"
    with open(data_path("imagenet_samples/classes.csv"), newline="") as handle:
        standard = [row["wnid"] for row in csv.DictReader(handle)]
    index = darknet.imagenet_index()
    assert sorted(index) == list(range(1000))
    assert [standard[i] for i in index] == list(labels.wnids)


def _top5(name: str) -> list[str]:
    return [p.label for p in darknet.classify(_photo(name))[0]]


def test_classify_on_the_course_photos():
    from nst_utils.models.imagenet_hierarchy import hierarchy

    bird = "n01503061"
    chiffchaff = darknet.classify(_photo("chiffchaff_bird"))[0]
    assert len(chiffchaff) == 5 and chiffchaff[0].probability >= chiffchaff[-1].probability
    assert all(bird in hierarchy().ancestors(p.wnid) for p in chiffchaff[:4])
    yosemite = _top5("yosemite_bridalveil_fall")
    assert yosemite[0] == "cliff" and "alp" in yosemite
    assert _top5("bern_from_north")[0] == "valley"
    assert "hay" in _top5("plaigne_countryside")


def test_classify_accepts_batches_and_returns_consistent_indices():
    photos = [_photo("yosemite_bridalveil_fall"), _photo("bern_from_north")]
    single = darknet.classify(photos[0], top=3)
    both = darknet.classify(photos, top=3)
    assert len(both) == 2 and [p.label for p in both[0]] == [p.label for p in single[0]]
    first = both[0][0]
    assert darknet.labels().wnids[first.index] == first.wnid
    assert darknet.imagenet_index()[first.index] == first.imagenet_index
    probabilities = darknet.predict_probabilities(photos)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def samples():
    """The 1000 ImageNet sample photos (256 px, standard class order) and Darknet's scores."""
    folder = data_path("imagenet_samples")
    with open(folder / "classes.csv", newline="") as handle:
        files = [row["file"] for row in csv.DictReader(handle)]
    images = np.stack([np.asarray(Image.open(folder / name).convert("RGB")) for name in files])
    standard = np.empty((len(files), 1000), np.float32)
    standard[:, darknet.imagenet_index()] = darknet.predict_probabilities(images)
    return images, standard


@pytest.mark.slow
def test_darknet_top1_on_the_1000_imagenet_samples(samples):
    """Measured 65.5% top-1, 85.9% top-5 (one photo per class; darknet reports 58.7% on val)."""
    _, probabilities = samples
    assert (probabilities.argmax(axis=1) == np.arange(1000)).mean() >= 0.60


def _pooled_features(model, images, channel_order, size=160) -> np.ndarray:
    """log(1 + spatial mean of fire9_concat) of ``size`` px images, channels in this order."""
    mean = np.asarray(squeezenet.MEAN_BGR[::-1], np.float32)[channel_order]
    forward = tf.function(lambda x: tf.reduce_mean(model(x), axis=(1, 2)))
    batches = []
    for i in range(0, len(images), 50):
        batch = tf.image.resize(images[i : i + 50].astype(np.float32), (size, size), antialias=True)
        batches.append(forward(tf.gather(batch, channel_order, axis=-1) - mean).numpy())
    return np.log1p(np.concatenate(batches))


@pytest.mark.slow
def test_squeezenet_weights_expect_bgr_input(squeeze, samples):
    """Features fed BGR predict another network's labels better than features fed RGB.

    Without a classifier the channel order cannot be read off the file, so we ask how well a
    linear map (ridge regression, 5-fold) from SqueezeNet's pooled fire9 features to
    Darknet's log-probabilities finds Darknet's top class in its top 5 on held-out photos
    (160 px to save time). Measured: BGR 35.5%, RGB 28.6%.
    """
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    images, probabilities = samples
    target, best = np.log(probabilities + 1e-6), probabilities.argmax(axis=1)
    scores = {}
    for name, order in (("bgr", [2, 1, 0]), ("rgb", [0, 1, 2])):
        features = _pooled_features(squeeze, images, order)
        hits = []
        for train, test in KFold(5, shuffle=True, random_state=0).split(features):
            predicted = (
                Ridge(alpha=10.0).fit(features[train], target[train]).predict(features[test])
            )
            top5 = np.argsort(-predicted, axis=1)[:, :5]
            hits += [best[i] in row for i, row in zip(test, top5, strict=True)]
        scores[name] = np.mean(hits)
    assert scores["bgr"] >= scores["rgb"] + 0.04, scores


def _copy_tfjs(tmp_path) -> Path:
    folder = tmp_path / "tfjs"
    shutil.copytree(weights_path(darknet.WEIGHTS_NAME).parent, folder)
    return folder / "model.json"


def test_darknet_refuses_broken_files_with_a_fix(tmp_path):
    model_json = _copy_tfjs(tmp_path)
    (model_json.parent / "group19-shard1of1").unlink()
    with pytest.raises(WeightsUnavailableError, match=r"group19-shard1of1.*missing.*make data"):
        darknet.build(model_json)
    shutil.copy(weights_path(darknet.WEIGHTS_NAME).parent / "group19-shard1of1", model_json.parent)
    (model_json.parent / "group16-shard1of1").write_bytes(b"\0" * 100)
    with pytest.raises(WeightsUnavailableError, match="100 bytes"):
        darknet.build(model_json)
    model_json.write_text('{"modelTopology": ')
    with pytest.raises(WeightsUnavailableError, match="not readable JSON"):
        darknet.build(model_json)


def test_darknet_refuses_layers_it_does_not_know(tmp_path):
    model_json = _copy_tfjs(tmp_path)
    text = model_json.read_text().replace('"class_name": "LeakyReLU"', '"class_name": "Lambda"', 1)
    model_json.write_text(text)
    with pytest.raises(WeightsUnavailableError, match="Lambda"):
        darknet.read_topology(model_json)


# --- as backbones -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["squeezenet_imagenet", "darknet_tiny_imagenet"])
def test_imagenet_backbones_register_with_usable_default_layers(name):
    backbone = load_backbone(name)
    assert not backbone.model.trainable
    layers = [entry[0] for entry in backbone.style_layers] + [backbone.content_layer]
    extractor = feature_extractor(backbone, backbone.style_layers, backbone.content_layer)
    rgb = np.full((1, 64, 64, 3), 128.0, np.float32)
    outputs = extractor(backbone.preprocess(rgb))
    assert set(outputs) == set(layers)
    assert all(
        layer in [lay.name for lay in backbone.model.layers] for layer in backbone.depth_layers
    )
    np.testing.assert_allclose(
        np.asarray(backbone.deprocess(backbone.preprocess(rgb))), rgb, atol=1e-3
    )
    lower, upper = backbone.input_bounds()
    np.testing.assert_allclose(np.asarray(backbone.preprocess(np.zeros(3))), lower, atol=1e-5)
    assert np.all(upper > lower)


def test_darknet_backbone_is_a_chain_whose_receptive_fields_can_be_read():
    backbone = load_backbone("darknet_tiny_imagenet")
    assert backbone.model.output.shape[-1] == 1000  # conv2d_16's class maps, no pooling
    fields = receptive_field(layer_specs(backbone.model))
    # 3x3 conv (3), pool (4), 3x3 conv at jump 2 (8), pool (10), 3x3 conv at jump 4 (18)...
    assert [
        fields[name].size for name in ("conv2d_1", "max_pooling2d_1", "conv2d_2", "conv2d_4")
    ] == [3, 4, 8, 18]
    assert fields["conv2d_16"].jump == 16
