"""SqueezeNet v1.1 trained on ImageNet, its feature layers only, in Keras 3 (notebooks 06-09).

SqueezeNet (Iandola et al. 2016) reaches AlexNet's ImageNet accuracy with 50x fewer
parameters by building the network from *fire modules*. A fire module first **squeezes** its
input to a few channels with 1x1 convolutions, then **expands** it again with two parallel
branches, 1x1 and 3x3 convolutions, whose outputs are concatenated along the channels::

    x -> squeeze1x1 (s channels, ReLU) -+-> expand1x1 (e channels, ReLU) -+-> concat (2e)
                                        +-> expand3x3 (e channels, ReLU) -+

Version 1.1 (the one here) starts with a 3x3 stride-2 convolution ``conv1`` and
max-pools (3x3, stride 2, no padding) after ``conv1``, ``fire3`` and ``fire5``::

    input -> conv1 (64) -> pool1 -> fire2, fire3 (128) -> pool3 -> fire4, fire5 (256)
          -> pool5 -> fire6, fire7 (384) -> fire8, fire9 (512)

The classifier (``conv10``: 1x1 conv to 1000 classes, global average pooling) is not part of
this file: it is a feature network for style transfer and for looking at what units respond
to, 722,496 parameters in all.

Layer names follow the original Caffe model with ``/`` written as ``_``: ``conv1``,
``pool1``, ``fire2_squeeze1x1``, ``fire2_expand1x1``, ``fire2_expand3x3``, ``fire2_concat``,
... ``fire9_concat``. Every convolution includes its ReLU, so a layer's output is the
rectified activation that style transfer and the notebook-06 probes use.

Weights: ``sqz_notop.mat`` (manifest entry ``squeezenet1_1_notop``), a MATLAB v5 file with
one 1x2 cell per conv layer, ``{kernel (kh, kw, in, out), bias (1, out)}``, float32. `read_mat`
checks every variable before using it and refuses anything else (structs, MATLAB objects,
nested cells...); nothing in the file is ever executed.

Input: the Caffe convention the network was trained with, BGR channel order with the
per-channel ImageNet mean subtracted and no scaling. `preprocess` does that from RGB pixels
in [0, 255] and `deprocess` undoes it. (The ``sqz.py`` beside the file in its repository
feeds RGB minus the same means since a later commit, "Removing channel swapping"; the same
author's classifier version, tf-squeezenet, feeds BGR. The weights say BGR: a ridge
regression from pooled ``fire9_concat`` features to Darknet tiny's class scores on the 1000
ImageNet samples (256 px, mirrors added in training) finds Darknet's top class within its
top 5 for 49.5% of held-out photos with BGR input, 40.6% with RGB and 36-41% with the four
other channel orders; ``tests/test_imagenet_nets.py::test_squeezenet_weights_expect_bgr_input``
repeats the BGR/RGB comparison.)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import scipy.io

from workbook.resources import WeightsUnavailableError, weights_path

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "DEPTH_LAYERS",
    "FIRE_MODULES",
    "MEAN_BGR",
    "WEIGHTS_NAME",
    "build",
    "deprocess",
    "feature_model",
    "preprocess",
    "read_mat",
    "receptive_fields",
]

#: Manifest entry (``weights/manifest.toml``) of the weights file.
WEIGHTS_NAME = "squeezenet1_1_notop"
#: Mean of each input channel, B, G, R, subtracted by `preprocess` (Caffe's ImageNet mean).
MEAN_BGR = (104.006, 116.669, 122.679)
#: ``(name, squeeze channels, expand channels per branch)`` of the eight fire modules.
FIRE_MODULES = (
    ("fire2", 16, 64),
    ("fire3", 16, 64),
    ("fire4", 32, 128),
    ("fire5", 32, 128),
    ("fire6", 48, 192),
    ("fire7", 48, 192),
    ("fire8", 64, 256),
    ("fire9", 64, 256),
)
# A 3x3 stride-2 max-pooling follows these layers.
_POOL_AFTER = {"conv1": "pool1", "fire3": "pool3", "fire5": "pool5"}
#: Content layer for style transfer: after two poolings and two fire modules (stride 8),
#: like VGG's ``block4_conv2``.
DEFAULT_CONTENT_LAYER = "fire5_concat"
#: Style layers, one per resolution as with VGG's ``blockN_conv1`` (strides 2, 4, 8, 16, 16).
DEFAULT_STYLE_LAYERS = (
    ("conv1", 0.2),
    ("fire2_concat", 0.2),
    ("fire4_concat", 0.2),
    ("fire6_concat", 0.2),
    ("fire8_concat", 0.2),
)
#: Five depths for "what do units respond to" (notebook 06): input side first.
DEPTH_LAYERS = ("conv1", "fire3_concat", "fire5_concat", "fire7_concat", "fire9_concat")


def _conv_names() -> list[str]:
    """The 25 conv layers in the file, input side first (``conv1``, ``fire2/squeeze1x1``...)."""
    names = ["conv1"]
    for fire, _, _ in FIRE_MODULES:
        names += [f"{fire}/squeeze1x1", f"{fire}/expand1x1", f"{fire}/expand3x3"]
    return names


def _bad_file(path, problem: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"{path} is not a SqueezeNet v1.1 weights file as expected ({problem}). Fix: restore"
        " the original sqz_notop.mat (run `make data`; its sha256 is in weights/manifest.toml)."
    )


def _check_cell(path, name: str, value) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(kernel, bias)`` of one 1x2 cell after checking it holds two float arrays."""
    if not isinstance(value, np.ndarray) or value.shape != (1, 2):
        raise _bad_file(path, f"{name} is not a 1x2 cell")
    kernel, bias = value[0, 0], value[0, 1]
    for part, array in (("kernel", kernel), ("bias", bias)):
        if type(array) is not np.ndarray or array.dtype.kind != "f":
            raise _bad_file(path, f"{name} {part} is not a floating-point array")
    if kernel.ndim != 4 or bias.shape != (1, kernel.shape[-1]):
        raise _bad_file(path, f"{name}: kernel {kernel.shape} and bias {bias.shape} do not match")
    return kernel.astype(np.float32), bias.reshape(-1).astype(np.float32)


def read_mat(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read and check the weights of ``sqz_notop.mat``.

    The file's table of contents (`scipy.io.whosmat`, which reads headers only) must list
    exactly the 25 conv layers as 1x2 cells; only then are the arrays loaded, and each cell
    must hold a float kernel ``(kh, kw, in, out)`` and a bias ``(1, out)``.

    Args:
        path: the ``.mat`` file.

    Returns:
        ``{"conv1": (kernel, bias), "fire2/squeeze1x1": ..., ...}``, float32, kernels HWIO.

    Raises:
        WeightsUnavailableError: not a MATLAB file, other variables or classes than expected,
            or arrays of the wrong kind (the message says how to restore the file).
    """
    expected = set(_conv_names())
    try:
        contents = {name: (shape, kind) for name, shape, kind in scipy.io.whosmat(path)}
    except (ValueError, TypeError, OSError, scipy.io.matlab.MatReadError) as error:
        raise _bad_file(path, f"not a readable MATLAB v5 file: {error}") from None
    if set(contents) != expected:
        extra, missing = sorted(set(contents) - expected), sorted(expected - set(contents))
        raise _bad_file(path, f"unexpected variables {extra}, missing {missing}")
    odd = {
        name: kind for name, (shape, kind) in contents.items() if (shape, kind) != ((1, 2), "cell")
    }
    if odd:
        raise _bad_file(path, f"expected 1x2 cells, found {odd}")
    try:
        raw = scipy.io.loadmat(path, variable_names=sorted(expected))
    except (ValueError, TypeError, OSError, scipy.io.matlab.MatReadError) as error:
        raise _bad_file(path, f"unreadable data: {error}") from None
    return {name: _check_cell(path, name, raw[name]) for name in _conv_names()}


def _conv(filters: int, size: int, name: str, stride: int = 1, padding: str = "valid"):
    return keras.layers.Conv2D(
        filters, size, strides=stride, padding=padding, activation="relu", name=name
    )


def _pool(name: str):
    return keras.layers.MaxPooling2D(3, strides=2, padding="valid", name=name)


def _fire(x, name: str, squeeze: int, expand: int):
    """One fire module: squeeze 1x1, then expand 1x1 and 3x3 side by side, concatenated."""
    x = _conv(squeeze, 1, f"{name}_squeeze1x1")(x)
    left = _conv(expand, 1, f"{name}_expand1x1")(x)
    right = _conv(expand, 3, f"{name}_expand3x3", padding="same")(x)
    return keras.layers.Concatenate(name=f"{name}_concat")([left, right])


def _architecture() -> keras.Model:
    """SqueezeNet v1.1 without classifier, untrained, for any input size (at least 35 px)."""
    inputs = keras.Input((None, None, 3), name="input")
    x = _pool("pool1")(_conv(64, 3, "conv1", stride=2)(inputs))
    for name, squeeze, expand in FIRE_MODULES:
        x = _fire(x, name, squeeze, expand)
        if name in _POOL_AFTER:
            x = _pool(_POOL_AFTER[name])(x)
    return keras.Model(inputs, x, name="squeezenet1_1_features")


def _load_weights(model: keras.Model, weights: dict, path) -> None:
    for name, (kernel, bias) in weights.items():
        layer = model.get_layer(name.replace("/", "_"))
        if tuple(layer.kernel.shape) != kernel.shape:
            raise _bad_file(
                path, f"{name} kernel is {kernel.shape}, SqueezeNet v1.1 needs {layer.kernel.shape}"
            )
        layer.set_weights([kernel, bias])


def build(path=None) -> keras.Model:
    """Build SqueezeNet v1.1's feature layers with the ImageNet weights.

    Args:
        path: a ``sqz_notop.mat`` to read; default: the verified course copy from
            ``workbook.resources.weights_path("squeezenet1_1_notop")``.

    Returns:
        A frozen ``keras.Model`` from a `preprocess`-ed ``(N, H, W, 3)`` image to
        ``fire9_concat`` ``(N, h, w, 512)``; at 224 px the spatial sizes are 111 (``conv1``),
        55 (``pool1``, fire2-3), 27 (fire4-5) and 13 (fire6-9).

    Raises:
        WeightsUnavailableError: the file is missing, corrupt or not this network's.
    """
    path = Path(path) if path is not None else weights_path(WEIGHTS_NAME)
    weights = read_mat(path)
    model = _architecture()
    _load_weights(model, weights, path)
    model.trainable = False
    return model


def feature_model(path=None) -> keras.Model:
    """The network `nst_utils.backbone` wraps: `build` (all layers are features here)."""
    return build(path)


def receptive_fields() -> dict:
    """Receptive field of every layer, in input pixels, branches included.

    A fire module is not a plain chain, so `nst_utils.layers.receptive_field.layer_specs` cannot
    walk it; here each layer's field follows its longest path from the input. ``expand1x1``
    sees what ``squeeze1x1`` sees; ``expand3x3`` adds one ring of units; ``concat`` holds
    both, so its field is the larger, ``expand3x3``'s (a 1x1 channel sees the middle of it).

    Returns:
        ``{layer name: nst_utils.layers.receptive_field.ReceptiveField}``, input side first.
    """
    from nst_utils.layers.receptive_field import LayerSpec, receptive_field

    chain = [LayerSpec("conv1", 3, 2), LayerSpec("pool1", 3, 2)]
    fields = receptive_field(chain)
    for name, _, _ in FIRE_MODULES:
        squeeze = LayerSpec(f"{name}_squeeze1x1", 1)
        expand3x3 = LayerSpec(f"{name}_expand3x3", 3, 1, 1)
        chain += [squeeze]
        fields[f"{name}_squeeze1x1"] = receptive_field(chain)[squeeze.name]
        fields[f"{name}_expand1x1"] = replace(fields[squeeze.name], name=f"{name}_expand1x1")
        chain += [expand3x3]
        fields[f"{name}_expand3x3"] = receptive_field(chain)[expand3x3.name]
        fields[f"{name}_concat"] = replace(fields[expand3x3.name], name=f"{name}_concat")
        if name in _POOL_AFTER:
            chain += [LayerSpec(_POOL_AFTER[name], 3, 2)]
            fields[_POOL_AFTER[name]] = receptive_field(chain)[_POOL_AFTER[name]]
    return fields


def preprocess(rgb):
    """RGB pixel values in [0, 255], shape ``(..., 3)``, to network input (BGR minus mean)."""
    bgr = keras.ops.flip(keras.ops.convert_to_tensor(rgb, "float32"), axis=-1)
    return bgr - np.asarray(MEAN_BGR, np.float32)


def deprocess(x):
    """Invert `preprocess`: network input back to RGB values in [0, 255] (not clipped)."""
    bgr = keras.ops.convert_to_tensor(x, "float32") + np.asarray(MEAN_BGR, np.float32)
    return keras.ops.flip(bgr, axis=-1)
