"""Darknet "tiny", a small ImageNet-1k classifier, rebuilt in Keras 3 from its TF.js files.

Joseph Redmon's Darknet reference models include a "tiny" ImageNet classifier: 16
convolutions and 1,046,488 parameters (VGG-16 has 138 million), 58.7% top-1 on ImageNet's
validation set by darknet's own figure (VGG-16: about 71%). It alternates 3x3 convolutions
that widen with 1x1 convolutions that squeeze the channels again, and halves the resolution
four times::

    conv 3x3 (16) pool | conv 3x3 (32) pool | 1x1 (16) 3x3 (128) 1x1 (16) 3x3 (128) pool
    | 1x1 (32) 3x3 (256) 1x1 (32) 3x3 (256) pool | 1x1 (64) 3x3 (512) 1x1 (64) 3x3 (512)
    1x1 (128) | conv 1x1 (1000) -> global average -> softmax

Each of the first 15 convolutions has no bias and is followed by batch normalisation and a
leaky ReLU (slope 0.1); the last one has a bias and gives one score map per class.

The course copy is ml5's TF.js "layers" model: ``model.json`` holds a Keras 2 model
description (``modelTopology``) and a ``weightsManifest`` that says which binary files
(``group*-shard*``) hold which weights, in order, as little-endian float32. `read_topology`
and `read_weights` read them with plain ``json`` and NumPy (no TF.js, no Keras JSON loader),
check them, and `build` makes the same layers, with the same names (``conv2d_1``,
``batch_normalization_1``, ``leaky_re_lu_1``, ``max_pooling2d_1``, ... ``conv2d_16``,
``global_average_pooling2d_1``), in Keras 3.

Input: RGB pixel values divided by 255 (`preprocess`), 224x224 for classification
(`fit_square`); the convolutional part takes any size. Class scores come in *darknet's*
class order (`labels`), not the usual wnid-sorted ImageNet order; `imagenet_index` maps one
to the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from workbook.resources import WeightsUnavailableError, weights_path

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "DEPTH_LAYERS",
    "INPUT_SIZE",
    "WEIGHTS_NAME",
    "LayerSpec",
    "Labels",
    "Prediction",
    "build",
    "classify",
    "deprocess",
    "feature_model",
    "fit_square",
    "imagenet_index",
    "labels",
    "predict_probabilities",
    "preprocess",
    "read_topology",
    "read_weights",
]

#: Manifest entry of ``model.json`` (shards and label files are its ``[files]`` companions).
WEIGHTS_NAME = "darknet_tiny_imagenet"
#: Side of the square images the classifier was trained on.
INPUT_SIZE = 224
#: Label files, relative to the folder above ``tfjs/model.json``: one class per line, darknet order.
_LABEL_FILES = ("imagenet1k_darknet_order_shortnames.txt", "imagenet1k_darknet_order_wnids.txt")
_SUPPORTED = (
    "InputLayer",
    "Conv2D",
    "BatchNormalization",
    "LeakyReLU",
    "MaxPooling2D",
    "GlobalAveragePooling2D",
)
#: Content layer for style transfer: the last 3x3 conv at stride 8 (like VGG's ``block4_conv2``).
DEFAULT_CONTENT_LAYER = "leaky_re_lu_8"
#: Style layers: the first 3x3 conv at each of the five resolutions (strides 1, 2, 4, 8, 16).
DEFAULT_STYLE_LAYERS = (
    ("leaky_re_lu_1", 0.2),
    ("leaky_re_lu_2", 0.2),
    ("leaky_re_lu_4", 0.2),
    ("leaky_re_lu_8", 0.2),
    ("leaky_re_lu_12", 0.2),
)
#: Five depths for notebook 06: the last activation at each resolution (strides 1 to 16).
DEPTH_LAYERS = (
    "leaky_re_lu_1",
    "leaky_re_lu_2",
    "leaky_re_lu_6",
    "leaky_re_lu_10",
    "leaky_re_lu_15",
)


@dataclass(frozen=True)
class LayerSpec:
    """One layer of ``model.json``: its Keras 2 class name, name and configuration."""

    kind: str
    name: str
    config: dict


def _bad(path, problem: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"{path}: {problem}. Fix: restore the original Darknet tiny TF.js files (run"
        " `make data`; their sha256 are in weights/manifest.toml)."
    )


def _read_json(path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise _bad(path, "the file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _bad(path, f"not readable JSON ({error})") from None
    if not isinstance(document, dict) or not {"modelTopology", "weightsManifest"} <= set(document):
        raise _bad(path, "no 'modelTopology' and 'weightsManifest' at the top level")
    return document


def _layer_spec(path, entry, previous: str | None) -> LayerSpec:
    """Check one layer entry: a supported class whose only input is the previous layer."""
    try:
        kind, name, config = entry["class_name"], entry["name"], entry["config"]
        inbound = [node[0] for nodes in entry["inbound_nodes"] for node in nodes]
    except (KeyError, TypeError, IndexError):
        raise _bad(path, f"layer entry {entry!r:.80} lacks class_name/name/config") from None
    if kind not in _SUPPORTED:
        raise _bad(path, f"layer {name} is a {kind}; only {', '.join(_SUPPORTED)} are read")
    if inbound != ([previous] if previous else []):
        raise _bad(path, f"layer {name} takes {inbound}, not just the previous layer {previous}")
    if config.get("activation", "linear") != "linear":
        raise _bad(path, f"layer {name} has activation {config['activation']!r}, expected linear")
    return LayerSpec(kind, name, config)


def read_topology(path) -> list[LayerSpec]:
    """Read the layer list of a TF.js ``model.json`` and check it is a plain chain.

    Args:
        path: the ``model.json``.

    Returns:
        One `LayerSpec` per layer, the input first.

    Raises:
        WeightsUnavailableError: missing or unreadable file, a layer of another kind than
            `_SUPPORTED`, or a graph that is not one layer after the other.
    """
    topology = _read_json(path)["modelTopology"]
    try:
        layer_entries = topology["model_config"]["config"]["layers"]
    except (KeyError, TypeError):
        raise _bad(path, "no modelTopology.model_config.config.layers") from None
    specs, previous = [], None
    for entry in layer_entries:
        specs.append(_layer_spec(path, entry, previous))
        previous = specs[-1].name
    if not specs or specs[0].kind != "InputLayer":
        raise _bad(path, "the first layer is not an InputLayer")
    return specs


def _weight_entries(path, group) -> tuple[list[str], list[tuple[str, tuple[int, ...]]]]:
    """The shard names of one manifest group and its ``(name, shape)`` list, checked."""
    try:
        shards, entries = list(group["paths"]), group["weights"]
        specs = [(w["name"], tuple(int(n) for n in w["shape"]), w["dtype"], w) for w in entries]
    except (KeyError, TypeError, ValueError):
        raise _bad(path, f"malformed weightsManifest group {group!r:.80}") from None
    for name, _, dtype, entry in specs:
        if dtype != "float32" or "quantization" in entry:
            raise _bad(
                path,
                f"weight {name} is {dtype} (quantised: {'quantization' in entry});"
                " only float32 weights are read",
            )
    return shards, [(name, shape) for name, shape, _, _ in specs]


def _read_group(path, shards: list[str], entries) -> dict[str, np.ndarray]:
    """Concatenate a group's shard files and cut them into its weights, in manifest order."""
    folder = Path(path).parent
    if any(Path(shard).name != shard for shard in shards):
        raise _bad(path, f"shard names {shards} must be plain file names beside model.json")
    missing = [shard for shard in shards if not (folder / shard).is_file()]
    if missing:
        raise _bad(path, f"weight shard(s) {missing} missing beside model.json")
    buffer = b"".join((folder / shard).read_bytes() for shard in shards)
    sizes = [int(np.prod(shape)) for _, shape in entries]
    if len(buffer) != 4 * sum(sizes):
        raise _bad(
            path,
            f"shards {shards} hold {len(buffer)} bytes, the manifest needs"
            f" {4 * sum(sizes)} ({sum(sizes)} float32 values)",
        )
    values = np.frombuffer(buffer, dtype="<f4")
    ends = np.cumsum(sizes)
    return {
        name: values[end - size : end].reshape(shape).astype(np.float32)
        for (name, shape), size, end in zip(entries, sizes, ends, strict=True)
    }


def read_weights(path) -> dict[str, np.ndarray]:
    """Read every weight listed in the ``weightsManifest`` of a TF.js ``model.json``.

    Each manifest group names its shard files (concatenated in order) and its weights
    (``name``, ``shape``, ``dtype``), stored one after the other as little-endian values.

    Args:
        path: the ``model.json``; the shards are in the same folder.

    Returns:
        ``{"conv2d_1/kernel": (3, 3, 3, 16) float32, "batch_normalization_1/gamma": ..., ...}``.

    Raises:
        WeightsUnavailableError: a missing shard, a shard size that does not match the
            manifest, a non-float32 or quantised weight, or a weight listed twice.
    """
    weights: dict[str, np.ndarray] = {}
    manifest = _read_json(path)["weightsManifest"]
    if not isinstance(manifest, list):
        raise _bad(path, "weightsManifest is not a list of groups")
    for group in manifest:
        for name, value in _read_group(path, *_weight_entries(path, group)).items():
            if name in weights:
                raise _bad(path, f"weight {name} is listed twice")
            weights[name] = value
    return weights


def _keras_layer(spec: LayerSpec) -> keras.layers.Layer:
    """The Keras 3 layer for one `LayerSpec`, same name and hyper-parameters."""
    c = spec.config
    if spec.kind == "Conv2D":
        return keras.layers.Conv2D(
            c["filters"], tuple(c["kernel_size"]), strides=tuple(c["strides"]),
            padding=c["padding"], dilation_rate=tuple(c["dilation_rate"]),
            use_bias=c["use_bias"], name=spec.name,
        )  # fmt: skip
    if spec.kind == "BatchNormalization":
        return keras.layers.BatchNormalization(
            axis=c["axis"], epsilon=c["epsilon"], center=c["center"], scale=c["scale"],
            name=spec.name,
        )  # fmt: skip
    if spec.kind == "LeakyReLU":
        return keras.layers.LeakyReLU(negative_slope=c["alpha"], name=spec.name)
    if spec.kind == "MaxPooling2D":
        return keras.layers.MaxPooling2D(
            tuple(c["pool_size"]), strides=tuple(c["strides"]), padding=c["padding"], name=spec.name
        )
    return keras.layers.GlobalAveragePooling2D(name=spec.name)


def _variables(layer) -> list[str]:
    """Manifest names of a layer's weights, in the order ``layer.set_weights`` takes them."""
    if isinstance(layer, keras.layers.Conv2D):
        return ["kernel", "bias"] if layer.use_bias else ["kernel"]
    if isinstance(layer, keras.layers.BatchNormalization):
        affine = (["gamma"] if layer.scale else []) + (["beta"] if layer.center else [])
        return affine + ["moving_mean", "moving_variance"]
    return []


def _set_weights(model: keras.Model, weights: dict[str, np.ndarray], path) -> None:
    used = set()
    for layer in model.layers:
        names = [f"{layer.name}/{variable}" for variable in _variables(layer)]
        missing = [name for name in names if name not in weights]
        if missing:
            raise _bad(path, f"no weights {missing} in the manifest")
        values = [weights[name] for name in names]
        shapes = [tuple(v.shape) for v in layer.weights]
        if shapes != [v.shape for v in values]:
            raise _bad(
                path,
                f"{layer.name} needs shapes {shapes}, the shards hold {[v.shape for v in values]}",
            )
        layer.set_weights(values)
        used.update(names)
    if set(weights) - used:
        raise _bad(path, f"weights {sorted(set(weights) - used)} belong to no layer")


def build(path=None, pooled: bool = True) -> keras.Model:
    """Build Darknet tiny in Keras 3 from ``model.json`` and its shards.

    Args:
        path: a TF.js ``model.json``; default: the verified course copy from
            ``workbook.resources.weights_path("darknet_tiny_imagenet")``.
        pooled: keep the final global average pooling, so the model outputs one score
            (a logit, before softmax) per class, ``(N, 1000)``. With ``pooled=False`` it stops
            at ``conv2d_16``: a map of class scores ``(N, h, w, 1000)`` for any input size.

    Returns:
        A frozen ``keras.Model`` taking `preprocess`-ed ``(N, H, W, 3)`` images of any size.

    Raises:
        WeightsUnavailableError: files missing, corrupt, or of another network.
    """
    path = Path(path) if path is not None else weights_path(WEIGHTS_NAME)
    specs, weights = read_topology(path), read_weights(path)
    inputs = keras.Input((None, None, 3), name=specs[0].name)
    x = inputs
    for spec in specs[1:]:
        if spec.kind == "GlobalAveragePooling2D" and not pooled:
            break
        x = _keras_layer(spec)(x)
    model = keras.Model(inputs, x, name="darknet_tiny" if pooled else "darknet_tiny_maps")
    _set_weights(model, weights, path)  # the pooling has no weights: all are used either way
    model.trainable = False
    return model


def feature_model(path=None) -> keras.Model:
    """The convolutional part (``pooled=False``): every conv, batch-norm, leaky-ReLU and
    pooling layer by its ``model.json`` name, for `nst_utils.backbone.feature_extractor`."""
    return build(path, pooled=False)


def preprocess(rgb):
    """RGB pixel values in [0, 255], shape ``(..., 3)``, to network input: divided by 255."""
    return keras.ops.convert_to_tensor(rgb, "float32") / 255.0


def deprocess(x):
    """Invert `preprocess`: network input back to RGB values in [0, 255] (not clipped)."""
    return keras.ops.convert_to_tensor(x, "float32") * 255.0


def fit_square(image, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize an RGB image so its shorter side is ``size``, then crop the centre square.

    This is how darknet feeds a photo to its classifier (``resize_min`` then a centre crop).

    Args:
        image: ``(H, W, 3)`` array, uint8 or float in [0, 255].
        size: side of the square.

    Returns:
        ``(size, size, 3)`` float32 in [0, 255] (the input itself if already that shape).
    """
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image; got shape {array.shape}")
    height, width = array.shape[:2]
    if (height, width) == (size, size):
        return array.astype(np.float32)
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    pixels = Image.fromarray(np.clip(np.rint(array), 0, 255).astype(np.uint8))
    resized = np.asarray(pixels.resize((new_w, new_h), Image.Resampling.BILINEAR), np.float32)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top : top + size, left : left + size]


@dataclass(frozen=True)
class Labels:
    """The 1000 classes in darknet's order.

    Attributes:
        names: short readable names, e.g. ``"kit fox"``.
        wnids: WordNet ids, e.g. ``"n02119789"``.
    """

    names: tuple[str, ...]
    wnids: tuple[str, ...]


def _read_lines(path: Path) -> tuple[str, ...]:
    lines = tuple(path.read_text(encoding="utf-8").splitlines())
    if len(lines) != 1000:
        raise _bad(path, f"expected 1000 lines (one per class), found {len(lines)}")
    return lines


@cache
def labels() -> Labels:
    """Class names and wnids in darknet's order (index ``i`` = score ``i`` of the classifier)."""
    folder = weights_path(WEIGHTS_NAME).parent.parent  # companions verified by weights_path
    names, wnids = (_read_lines(folder / name) for name in _LABEL_FILES)
    if len(set(wnids)) != len(wnids):
        raise _bad(folder / _LABEL_FILES[1], "a wnid occurs twice")
    return Labels(names, wnids)


def imagenet_index() -> np.ndarray:
    """For each darknet class, its index in the standard ImageNet-1k order (wnids sorted).

    ``scores_standard[:, imagenet_index()] = scores_darknet`` reorders scores; the standard
    order is that of ``imagenet_samples/classes.csv`` and of Keras' ImageNet models.
    """
    wnids = labels().wnids
    position = {wnid: index for index, wnid in enumerate(sorted(wnids))}
    return np.array([position[wnid] for wnid in wnids])


@cache
def _classifier():
    """The pooled model and a compiled ``uint8/float RGB -> probabilities`` function."""
    model = build()
    forward = tf.function(
        lambda x: tf.nn.softmax(model(preprocess(x), training=False)), reduce_retracing=True
    )
    return model, forward


def _batch(images) -> np.ndarray:
    """One ``(H, W, 3)`` image, a list of them, or an ``(N, H, W, 3)`` array, as 224 px squares."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    return np.stack([fit_square(image) for image in images])


def predict_probabilities(images, batch_size: int = 50) -> np.ndarray:
    """Class probabilities, darknet order, for RGB images in [0, 255] of any size.

    Each image is first fitted to 224x224 with `fit_square`.

    Returns:
        ``(N, 1000)`` float32, rows summing to 1.
    """
    squares = _batch(images)
    _, forward = _classifier()
    return np.concatenate(
        [forward(tf.constant(squares[i : i + batch_size])).numpy()
         for i in range(0, len(squares), batch_size)]
    )  # fmt: skip


@dataclass(frozen=True)
class Prediction:
    """One guess of the classifier.

    Attributes:
        label: short class name, e.g. ``"cliff"``.
        wnid: the class's WordNet id.
        probability: softmax probability.
        index: class index in darknet's order.
        imagenet_index: class index in the standard (wnid-sorted) ImageNet order.
    """

    label: str
    wnid: str
    probability: float
    index: int
    imagenet_index: int


def classify(images, top: int = 5) -> list[list[Prediction]]:
    """The ``top`` most probable ImageNet classes of each image.

    Args:
        images: one RGB image ``(H, W, 3)``, a list of them or an ``(N, H, W, 3)`` array, in
            [0, 255]; each is fitted to 224x224 (`fit_square`).
        top: how many classes per image, most probable first.

    Returns:
        One list of ``top`` `Prediction` objects per image.
    """
    probabilities = predict_probabilities(images)
    names, wnids = labels().names, labels().wnids
    standard = imagenet_index()
    best = np.argsort(-probabilities, axis=1)[:, :top]
    return [
        [Prediction(names[i], wnids[i], float(row[i]), int(i), int(standard[i])) for i in order]
        for row, order in zip(probabilities, best, strict=True)
    ]
