"""dlib's ResNet face encoder (``dlib_face_recognition_resnet_model_v1``) rebuilt in Keras.

The network maps an aligned 150x150 RGB face chip to a 128-D descriptor (dlib reports
99.38% on LFW). Input side first:

    (x - mean_rgb) / 256
    conv 7x7/2 (32) -> affine -> relu -> max pool 3x3/2
    3 x block(32)
    down(64)  + 3 x block(64)
    down(128) + 2 x block(128)
    down(256) + 2 x block(256)
    down(256)
    global average pool -> dense 128 (no bias)

A block is ``relu(x + affine(conv3x3(relu(affine(conv3x3(x))))))``. A *down* block
uses stride 2 in its first convolution and adds ``avgpool2x2/2(x)`` instead of ``x``.
dlib pads by ``size // 2`` only when the stride is 1 and not at all otherwise, so
in some down blocks the two branches differ in height/width (e.g. 3x3 vs 4x4) and
always in channels; dlib's addition zero-fills the smaller tensor at the end
(bottom, right, last channels). "affine" is inference-time batch norm,
``gamma * x + beta`` per channel.

`build_dlib_resnet` builds the architecture; `load_dlib_resnet` reads the ``.dat``
file shipped in the ``face_recognition_models`` package (through
`workbook.weights_path`), converts it once and caches the Keras weights in the user
cache folder keyed by the source file's SHA-256. The cache is sealed with its own SHA-256
(`workbook.resources.seal_cache`) and checked before it is read, so a cache replaced by other
weights (even valid ones) is converted again, never used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from fr_utils.models.dlib_format import DlibFormatError, DlibLayer, read_dlib_network
from workbook.atomic import atomic_path

__all__ = [
    "DLIB_MEAN_RGB",
    "ChannelAffine",
    "ZeroPadAdd",
    "build_dlib_resnet",
    "convert_dlib_weights",
    "load_dlib_resnet",
]

WEIGHTS_NAME = "dlib_resnet_v1"
# Per-channel means dlib subtracts before dividing by 256 (also read from the file and checked).
DLIB_MEAN_RGB = (122.782, 117.001, 104.298)
# Bump when the converted layout changes, so stale caches are not loaded.
_CONVERTER_VERSION = 1
# (filters, stride of the first conv, number of plain blocks after it) per stage, input side first.
_STAGES = ((32, 1, 3), (64, 2, 3), (128, 2, 2), (256, 2, 2), (256, 2, 0))

_log = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="fr_utils")
class ChannelAffine(layers.Layer):
    """dlib's ``affine`` layer: ``gamma * x + beta`` per channel (batch norm, folded)."""

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, inputs):
        return inputs * self.gamma + self.beta


@keras.saving.register_keras_serializable(package="fr_utils")
class ZeroPadAdd(layers.Layer):
    """Add two channels-last tensors of possibly different sizes, as dlib's ``add_prev`` does.

    The result has the larger size along every axis; the smaller tensor is zero-padded
    at the end (bottom rows, right columns, last channels) before the addition.
    """

    def call(self, inputs):
        a, b = inputs
        target = [max(sa, sb) for sa, sb in zip(a.shape[1:], b.shape[1:], strict=True)]

        def padded(x):
            pads = [[0, 0]] + [[0, t - s] for s, t in zip(x.shape[1:], target, strict=True)]
            return ops.pad(x, pads) if any(p[1] for p in pads) else x

        return padded(a) + padded(b)

    def compute_output_shape(self, input_shapes):
        a, b = input_shapes
        return (a[0],) + tuple(max(sa, sb) for sa, sb in zip(a[1:], b[1:], strict=True))


def _conv(x, filters: int, size: int, stride: int, name: str):
    # dlib pads size//2 at stride 1 ("same" for odd sizes) and nothing otherwise ("valid").
    padding = "same" if stride == 1 else "valid"
    return layers.Conv2D(filters, size, strides=stride, padding=padding, name=name)(x)


def _residual(x, filters: int, stride: int, name: str):
    y = _conv(x, filters, 3, stride, f"{name}_conv1")
    y = layers.ReLU(name=f"{name}_relu1")(ChannelAffine(name=f"{name}_affine1")(y))
    y = _conv(y, filters, 3, 1, f"{name}_conv2")
    y = ChannelAffine(name=f"{name}_affine2")(y)
    shortcut = x
    if stride != 1:
        shortcut = layers.AveragePooling2D(2, strides=2, padding="valid", name=f"{name}_pool")(x)
    return layers.ReLU(name=f"{name}_relu2")(ZeroPadAdd(name=f"{name}_add")([y, shortcut]))


def build_dlib_resnet(input_size: int = 150, normalize: bool = True) -> keras.Model:
    """Build the (untrained) Keras architecture of dlib's ResNet face encoder.

    Args:
        input_size: side of the square RGB chip in pixels (dlib's network is trained on 150).
        normalize: append an L2 normalisation, so the outputs are unit vectors. The layer
            before it, ``"descriptor"``, is dlib's own (unnormalised) descriptor.

    Returns:
        A `keras.Model` from ``(batch, input_size, input_size, 3)`` float32 RGB values in
        [0, 255] to ``(batch, 128)`` float32.
    """
    inputs = keras.Input((input_size, input_size, 3), name="chip")
    x = layers.Normalization(
        mean=list(DLIB_MEAN_RGB), variance=[256.0**2] * 3, name="dlib_input_normalization"
    )(inputs)
    x = _conv(x, 32, 7, 2, "stem_conv")
    x = layers.ReLU(name="stem_relu")(ChannelAffine(name="stem_affine")(x))
    x = layers.MaxPooling2D(3, strides=2, padding="valid", name="stem_pool")(x)
    for stage, (filters, first_stride, repeats) in enumerate(_STAGES, start=1):
        if first_stride != 1:
            x = _residual(x, filters, first_stride, f"stage{stage}_down")
        for block in range(1, repeats + 1):
            x = _residual(x, filters, 1, f"stage{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(128, use_bias=False, name="descriptor")(x)
    if normalize:
        outputs = layers.UnitNormalization(name="l2_normalize")(outputs)
    return keras.Model(inputs, outputs, name="dlib_resnet_v1")


def _expect(layer: DlibLayer, kind: str, **attrs) -> DlibLayer:
    if layer.kind != kind or any(layer.attrs.get(k) != v for k, v in attrs.items()):
        raise DlibFormatError(
            f"dlib file layout differs from the ResNet this port expects: record at byte"
            f" {layer.offset} is {layer.kind} {layer.attrs}, expected {kind} {attrs}"
        )
    return layer


def convert_dlib_weights(model: keras.Model, dlib_layers: list[DlibLayer]) -> None:
    """Copy the parameters of dlib's layer records into a model from `build_dlib_resnet`.

    The records are consumed in forward order and each is checked against the layer it
    fills (kind, filter count, kernel size, stride, padding), so a file with another
    architecture fails loudly instead of producing a silently wrong network.

    Raises:
        DlibFormatError: the records do not describe this architecture.
    """
    records = iter(dlib_layers)

    def take(kind: str, **attrs) -> DlibLayer:
        record = next(records, None)
        if record is None:
            raise DlibFormatError(f"dlib file ends early: expected a {kind} record")
        return _expect(record, kind, **attrs)

    means = take("input_rgb_image_sized", rows=model.input_shape[1]).attrs["mean_rgb"]
    if not np.allclose(means, DLIB_MEAN_RGB, atol=1e-3):
        raise DlibFormatError(f"dlib input means {means} differ from {DLIB_MEAN_RGB}")

    def conv(name: str, stride: int, size: int = 3) -> None:
        layer = model.get_layer(name)
        padding = size // 2 if stride == 1 else 0
        record = take(
            "con",
            num_filters=layer.filters,
            rows=size,
            cols=size,
            stride=(stride, stride),
            padding=(padding, padding),
        )
        # dlib filters are (out, in, rows, cols); Keras kernels are (rows, cols, in, out).
        kernel = np.transpose(record.params["filters"], (2, 3, 1, 0))
        layer.set_weights([kernel, record.params["biases"]])

    def affine(name: str) -> None:
        record = take("affine", mode=0)
        model.get_layer(name).set_weights([record.params["gamma"], record.params["beta"]])

    conv("stem_conv", 2, size=7)
    affine("stem_affine")
    take("relu")
    take("max_pool", rows=3, cols=3, stride=(2, 2), padding=(0, 0))
    for stage, (_, first_stride, repeats) in enumerate(_STAGES, start=1):
        blocks = [(f"stage{stage}_down", first_stride)] if first_stride != 1 else []
        blocks += [(f"stage{stage}_block{b}", 1) for b in range(1, repeats + 1)]
        for name, stride in blocks:
            conv(f"{name}_conv1", stride)
            affine(f"{name}_affine1")
            take("relu")
            conv(f"{name}_conv2", 1)
            affine(f"{name}_affine2")
            if stride != 1:
                take("avg_pool", rows=2, cols=2, stride=(2, 2), padding=(0, 0))
            take("add_prev")
            take("relu")
    take("avg_pool", rows=0, cols=0)  # avg_pool_everything
    record = take("fc", num_outputs=128, num_inputs=256, bias_mode=1)
    model.get_layer("descriptor").set_weights([record.params["weights"]])
    if next(records, None) is not None:
        raise DlibFormatError("dlib file has more layers than this ResNet")


def _cache_file(source_sha256: str) -> Path:
    from workbook.resources import cache_dir

    folder = cache_dir() / "fr_utils"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{WEIGHTS_NAME}-{source_sha256[:16]}-v{_CONVERTER_VERSION}.weights.h5"


def _save_weights_atomically(model: keras.Model, target: Path) -> None:
    with atomic_path(target) as temp:
        model.save_weights(temp)


def load_dlib_resnet(normalize: bool = True, use_cache: bool = True) -> keras.Model:
    """Return dlib's face encoder as a Keras model with its pretrained weights.

    The first call parses the ``.dat`` file (about a second) and writes the converted
    weights to ``<cache_dir>/fr_utils/dlib_resnet_v1-<sha256>-v1.weights.h5`` with its
    SHA-256 beside it (``.sha256``); later calls load that file once its SHA-256 matches. A
    cache that does not match (damaged, replaced, or left without its seal) is converted again.

    Args:
        normalize: L2-normalise the outputs (see `build_dlib_resnet`).
        use_cache: read and write the converted weights cache.

    Returns:
        The model, ``(batch, 150, 150, 3)`` RGB in [0, 255] -> ``(batch, 128)``.

    Raises:
        workbook.WeightsUnavailableError: ``face_recognition_models`` missing or corrupt.
    """
    from workbook.resources import is_sealed, seal_cache, weights_entry, weights_path

    source = weights_path(WEIGHTS_NAME)  # verifies the SHA-256 of the .dat file
    model = build_dlib_resnet(normalize=normalize)
    cached = _cache_file(weights_entry(WEIGHTS_NAME)["sha256"])
    if use_cache and is_sealed(cached):
        try:
            model.load_weights(cached)
            return model
        except (OSError, ValueError, KeyError) as error:
            _log.warning("Converting again: cannot read cached weights %s (%s)", cached, error)
    elif use_cache and cached.exists():
        _log.warning("Converting again: %s does not match its recorded SHA-256", cached)
    convert_dlib_weights(model, read_dlib_network(source))
    if use_cache:
        _save_weights_atomically(model, cached)
        seal_cache(cached)
    return model
