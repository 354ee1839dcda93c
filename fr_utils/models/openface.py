"""OpenFace nn4.small2.v1, the course's ``FRmodel``, in Keras 3 (no Lambda layers).

An Inception network (Szegedy et al. 2015, as trimmed by OpenFace, Amos et al. 2016)
from a 96x96 RGB chip to an L2-normalised 128-D encoding, trained with the triplet loss.
Reported 92.9% on LFW (dlib's ResNet, the workbook's default, reaches 99.4%).

Its weights are the per-layer CSV files of the Keras-OpenFace conversion
(``vsyw/Keras-OpenFace``, Apache-2.0), exported from OpenFace's Torch model: a conv
layer's ``<name>_w.csv`` holds its filters as ``(out, in, rows, cols)`` in row-major
order and ``<name>_b.csv`` its biases; a batch-norm layer has ``_w`` (gamma), ``_b``
(beta), ``_m`` (moving mean) and ``_v`` (moving variance); ``dense_w.csv`` is
``(128, 736)``. They are downloaded on demand (never in CI or with
``WORKBOOK_OFFLINE=1``) into the user cache and checked against the git blob SHA-1
of each file recorded in ``weights/manifest.toml``.

Inputs follow the workbook's encoder convention, RGB in [0, 255]; the model divides by
255 itself (OpenFace's input range). Chips are aligned with the dlib mean-face template
without padding, close to OpenFace's own ``OUTER_EYES_AND_NOSE`` alignment.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from workbook.download import git_blob_sha1  # the manifest's checksum of each CSV file

__all__ = [
    "OPENFACE_PADDING",
    "OPENFACE_THRESHOLD",
    "LocalResponseNormalization",
    "L2Pooling",
    "build_openface",
    "download_openface_csv",
    "git_blob_sha1",
    "load_openface",
    "load_openface_csv",
]

WEIGHTS_NAME = "openface_nn4_small2_v1"
OPENFACE_PADDING = 0.0
# L2 threshold on unit encodings: maximises accuracy over the 7,102 same-person pairs and
# 7,102 random different-person pairs (seed 0) of the 918 upstream OpenFace embeddings of LFW
# in data_path("faces/openface_reference"): 92.9% there, OpenFace's reported LFW accuracy
# (recomputed by tests/test_fr_openface.py::test_threshold_matches_the_reference_embeddings).
OPENFACE_THRESHOLD = 0.998

# (filters, kernel) of every convolution, input side first. Batch norm follows each one.
_STEM = (("conv1", 64, 7), ("conv2", 64, 1), ("conv3", 192, 3))


@keras.saving.register_keras_serializable(package="fr_utils")
class LocalResponseNormalization(layers.Layer):
    """Across-channel LRN: ``x / (bias + alpha * sum_{|d'-d|<=r} x_{d'}^2) ** beta``.

    The defaults are TensorFlow's ``tf.nn.lrn`` with ``alpha=1e-4, beta=0.75``, as in
    the Keras-OpenFace conversion.
    """

    def __init__(self, depth_radius=5, bias=1.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, inputs):
        r = self.depth_radius
        squares = ops.pad(ops.square(inputs), [[0, 0], [0, 0], [0, 0], [r + 1, r]])
        cumulative = ops.cumsum(squares, axis=-1)
        window = cumulative[..., 2 * r + 1 :] - cumulative[..., : -(2 * r + 1)]
        return inputs / ops.power(self.bias + self.alpha * window, self.beta)

    def get_config(self):
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha)
        config.update(beta=self.beta)
        return config


@keras.saving.register_keras_serializable(package="fr_utils")
class L2Pooling(layers.Layer):
    """OpenFace's L2 pooling over 3x3 windows, stride 3: ``sqrt(sum of squares)``."""

    def call(self, inputs):
        mean_square = ops.average_pool(ops.square(inputs), 3, strides=3, padding="valid")
        return ops.sqrt(mean_square * 9.0)


def _conv_bn(x, name: str, filters: int, kernel: int, strides: int = 1, pad=0, suffix=""):
    """``pad -> conv -> batch norm -> relu`` with the conversion's layer names."""
    if pad:
        x = layers.ZeroPadding2D(pad)(x)
    x = layers.Conv2D(filters, kernel, strides=strides, name=f"{name}_conv{suffix}")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_bn{suffix}")(x)
    return layers.ReLU()(x)


def _two_convs(x, name: str, reduce: int, out: int, kernel: int, strides: int = 1):
    y = _conv_bn(x, name, reduce, 1, suffix="1")
    return _conv_bn(y, name, out, kernel, strides, pad=kernel // 2, suffix="2")


def build_openface(input_size: int = 96) -> keras.Model:
    """Build the nn4.small2 architecture (untrained).

    Returns:
        ``(batch, 96, 96, 3)`` RGB in [0, 255] -> ``(batch, 128)`` unit vectors.
    """
    inputs = keras.Input((input_size, input_size, 3), name="chip")
    x = layers.Rescaling(1 / 255.0, name="to_unit_range")(inputs)
    x = layers.ZeroPadding2D(3)(x)
    x = layers.Conv2D(64, 7, strides=2, name="conv1")(x)
    x = layers.ReLU()(layers.BatchNormalization(epsilon=1e-5, name="bn1")(x))
    x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))
    x = LocalResponseNormalization(name="lrn_1")(x)
    x = layers.ReLU()(layers.BatchNormalization(epsilon=1e-5, name="bn2")(
        layers.Conv2D(64, 1, name="conv2")(x)
    ))  # fmt: skip
    x = layers.Conv2D(192, 3, name="conv3")(layers.ZeroPadding2D(1)(x))
    x = layers.ReLU()(layers.BatchNormalization(epsilon=1e-5, name="bn3")(x))
    x = LocalResponseNormalization(name="lrn_2")(x)
    x = layers.MaxPooling2D(3, strides=2)(layers.ZeroPadding2D(1)(x))

    # 3a: 12x12x192 -> 12x12x256
    pool = _conv_bn(layers.MaxPooling2D(3, strides=2)(x), "inception_3a_pool", 32, 1)
    x = layers.Concatenate(name="inception_3a")([
        _two_convs(x, "inception_3a_3x3", 96, 128, 3),
        _two_convs(x, "inception_3a_5x5", 16, 32, 5),
        layers.ZeroPadding2D(((3, 4), (3, 4)))(pool),
        _conv_bn(x, "inception_3a_1x1", 64, 1),
    ])  # fmt: skip
    # 3b: -> 12x12x320
    pool = _conv_bn(L2Pooling()(x), "inception_3b_pool", 64, 1)
    x = layers.Concatenate(name="inception_3b")([
        _two_convs(x, "inception_3b_3x3", 96, 128, 3),
        _two_convs(x, "inception_3b_5x5", 32, 64, 5),
        layers.ZeroPadding2D(4)(pool),
        _conv_bn(x, "inception_3b_1x1", 64, 1),
    ])  # fmt: skip
    # 3c: -> 6x6x640
    x = layers.Concatenate(name="inception_3c")([
        _two_convs(x, "inception_3c_3x3", 128, 256, 3, strides=2),
        _two_convs(x, "inception_3c_5x5", 32, 64, 5, strides=2),
        layers.ZeroPadding2D(((0, 1), (0, 1)))(layers.MaxPooling2D(3, strides=2)(x)),
    ])  # fmt: skip
    # 4a: -> 6x6x640
    pool = _conv_bn(L2Pooling()(x), "inception_4a_pool", 128, 1)
    x = layers.Concatenate(name="inception_4a")([
        _two_convs(x, "inception_4a_3x3", 96, 192, 3),
        _two_convs(x, "inception_4a_5x5", 32, 64, 5),
        layers.ZeroPadding2D(2)(pool),
        _conv_bn(x, "inception_4a_1x1", 256, 1),
    ])  # fmt: skip
    # 4e: -> 3x3x1024
    x = layers.Concatenate(name="inception_4e")([
        _two_convs(x, "inception_4e_3x3", 160, 256, 3, strides=2),
        _two_convs(x, "inception_4e_5x5", 64, 128, 5, strides=2),
        layers.ZeroPadding2D(((0, 1), (0, 1)))(layers.MaxPooling2D(3, strides=2)(x)),
    ])  # fmt: skip
    # 5a: -> 3x3x736
    pool = _conv_bn(L2Pooling()(x), "inception_5a_pool", 96, 1)
    x = layers.Concatenate(name="inception_5a")([
        _two_convs(x, "inception_5a_3x3", 96, 384, 3),
        layers.ZeroPadding2D(1)(pool),
        _conv_bn(x, "inception_5a_1x1", 256, 1),
    ])  # fmt: skip
    # 5b: -> 3x3x736
    pool = _conv_bn(layers.MaxPooling2D(3, strides=2)(x), "inception_5b_pool", 96, 1)
    x = layers.Concatenate(name="inception_5b")([
        _two_convs(x, "inception_5b_3x3", 96, 384, 3),
        layers.ZeroPadding2D(1)(pool),
        _conv_bn(x, "inception_5b_1x1", 256, 1),
    ])  # fmt: skip
    x = layers.Flatten()(layers.AveragePooling2D(3, strides=1)(x))
    x = layers.Dense(128, name="dense_layer")(x)
    outputs = layers.UnitNormalization(name="l2_normalize")(x)
    return keras.Model(inputs, outputs, name="openface_nn4_small2_v1")


def _read_csv(path: Path, count: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"OpenFace weights file missing: {path}")
    try:
        values = np.array(path.read_text().replace("\n", ",").strip(",").split(","), np.float32)
    except ValueError as error:
        raise ValueError(f"{path}: not a comma-separated list of numbers ({error})") from error
    if values.size != count:
        raise ValueError(f"{path}: holds {values.size} values, the layer needs {count}")
    return values


def load_openface_csv(model: keras.Model, folder: str | os.PathLike) -> None:
    """Fill a `build_openface` model from the per-layer CSV files in ``folder``.

    Raises:
        FileNotFoundError: a file is missing (named).
        ValueError: a file has the wrong number of values or is not numeric (named).
    """
    folder = Path(folder)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            rows, cols, channels_in, filters = layer.kernel.shape
            w = _read_csv(folder / f"{layer.name}_w.csv", rows * cols * channels_in * filters)
            kernel = w.reshape(filters, channels_in, rows, cols).transpose(2, 3, 1, 0)
            layer.set_weights([kernel, _read_csv(folder / f"{layer.name}_b.csv", filters)])
        elif isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([_read_csv(folder / f"{layer.name}_{s}.csv", n) for s in "wbmv"])
        elif isinstance(layer, layers.Dense):
            n_in, n_out = layer.kernel.shape
            w = _read_csv(folder / "dense_w.csv", n_in * n_out).reshape(n_out, n_in).T
            layer.set_weights([w, _read_csv(folder / "dense_b.csv", n_out)])


def download_openface_csv() -> Path:
    """Return the folder of verified OpenFace CSV weights, downloading missing files once.

    Each file goes through `workbook.download.download`, checked against its git blob SHA-1.

    Raises:
        workbook.WeightsUnavailableError: downloads are off (CI / ``WORKBOOK_OFFLINE``) and
            files are missing, a download fails, or a file's checksum does not match.
    """
    from workbook.download import DownloadError, DownloadsDisabledError, download, file_digest
    from workbook.resources import WeightsUnavailableError, cache_dir, weights_entry

    entry = weights_entry(WEIGHTS_NAME)
    folder = cache_dir() / entry.get("cache_subdir", WEIGHTS_NAME)
    algorithm = entry["hash_algorithm"]
    for name, expected in entry["files"].items():
        target = folder / name
        if target.is_file() and file_digest(target, algorithm) == expected:
            continue
        try:
            download(
                entry["base_url"] + name, target, expected, algorithm=algorithm, progress=False
            )
        except DownloadsDisabledError:
            raise WeightsUnavailableError(
                f"OpenFace weights are not cached ({target} missing) and downloads are off"
                " (CI or WORKBOOK_OFFLINE). The workbook's default encoder, dlib_resnet_v1,"
                " works offline: fr_utils.load_face_model()."
            ) from None
        except DownloadError as error:
            raise WeightsUnavailableError(f"Cannot download {name}: {error}") from error
    return folder


def load_openface() -> keras.Model:
    """Return nn4.small2.v1 with its pretrained weights (downloaded on first use)."""
    model = build_openface()
    load_openface_csv(model, download_openface_csv())
    return model
