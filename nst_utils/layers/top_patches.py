"""The image patches that excite a conv unit most, as in Zeiler & Fergus 2013 (notebook 06).

A *unit* is one channel of a conv layer at one spatial position; every position of a
channel applies the same filter. To see what a channel detects we

1. run the backbone over many images and record, for each image and each channel, its
   largest activation and where it occurs (`channel_maxima`: one batched pass, TensorFlow
   ops, only the per-image maxima are kept, so memory stays small);
2. keep the ``k`` images where the channel fires hardest (one patch per image, so the
   patches are distinct) and map each winning position back to the input pixels the unit
   sees, its receptive field (`top_patches`);
3. crop those pixels. Near the border a field reaches into the zero padding: we clip the
   box to the image, or (``fill=``) keep the full square and paint the outside grey, so the
   unit's centre stays at the patch centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from nst_utils.backbone import feature_extractor
from nst_utils.layers.receptive_field import ReceptiveField, layer_specs, receptive_field

__all__ = ["ChannelMaxima", "TopPatches", "channel_maxima", "select_units", "top_patches"]


@dataclass(frozen=True)
class ChannelMaxima:
    """Each channel's strongest response in each image, for one layer.

    Attributes:
        layer: the layer's name.
        values: ``(N, C)`` float32, the largest activation of channel ``c`` over image ``n``.
        rows, cols: ``(N, C)`` int32, where (in the layer's ``n_H x n_W`` grid) it occurs;
            the first position in row-major order on ties.
        field: the layer's `ReceptiveField`, to map grid positions to input pixels.
    """

    layer: str
    values: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    field: ReceptiveField


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` strongest patches of some channels of one layer, strongest first.

    Attributes:
        layer: the layer's name.
        units: ``(U,)`` channel indices.
        values: ``(U, k)`` their activations.
        image_index: ``(U, k)`` index of the image each patch comes from.
        boxes: ``(U, k, 4)`` int, ``(top, left, bottom, right)`` of the receptive field in
            input pixels, clipped to the image (bottom/right exclusive).
        patches: ``U`` lists of ``k`` uint8 crops ``(h, w, 3)``; all ``size x size`` when a
            ``fill`` was given, smaller at the image border otherwise.
        field: the layer's `ReceptiveField`.
    """

    layer: str
    units: np.ndarray
    values: np.ndarray
    image_index: np.ndarray
    boxes: np.ndarray
    patches: list[list[np.ndarray]]
    field: ReceptiveField


def _max_and_position(activation):
    """``(B, n_H, n_W, C)`` -> max ``(B, C)``, flat argmax ``(B, C)`` and ``n_W``."""
    shape = tf.shape(activation)
    flat = tf.reshape(activation, (shape[0], shape[1] * shape[2], shape[3]))
    return tf.reduce_max(flat, axis=1), tf.argmax(flat, axis=1, output_type=tf.int32), shape[2]


def channel_maxima(
    backbone, images, layers: Sequence[str], batch_size: int = 16
) -> dict[str, ChannelMaxima]:
    """Run the backbone over all images once; keep each channel's per-image maximum.

    Args:
        backbone: a `nst_utils.backbone.Backbone` (its ``preprocess`` is applied here).
        images: ``(N, H, W, 3)`` RGB pixel values in [0, 255] (uint8 or float), all one size.
        layers: names of the layers to probe, e.g. ``["block1_conv2", "block5_conv3"]``.
        batch_size: images per forward pass; larger is faster until memory runs out
            (``block1`` activations of 16 images of 224 px take about 200 MB).

    Returns:
        ``{layer: ChannelMaxima}`` in the order of ``layers``.

    Raises:
        ValueError: no images, images that are not ``(N, H, W, 3)``, a bad batch size, or an
            unknown layer name (the message lists the valid ones).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, H, W, 3) array; got {images.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    extractor = feature_extractor(backbone, layers)
    fields = receptive_field(layer_specs(backbone.model))

    @tf.function(reduce_retracing=True)
    def probe(batch):
        activations = extractor(backbone.preprocess(tf.cast(batch, tf.float32)))
        return {name: _max_and_position(activations[name]) for name in layers}

    outputs = [
        probe(tf.constant(images[i : i + batch_size])) for i in range(0, len(images), batch_size)
    ]
    result = {}
    for name in layers:
        values = np.concatenate([out[name][0].numpy() for out in outputs])
        position = np.concatenate([out[name][1].numpy() for out in outputs])
        rows, cols = np.divmod(position, int(outputs[0][name][2]))
        result[name] = ChannelMaxima(name, values, rows, cols, fields[name])
    return result


def select_units(
    maxima: ChannelMaxima, n: int = 9, k: int = 9, method: str = "random", seed: int = 0
) -> np.ndarray:
    """Choose ``n`` channels of a layer to visualise.

    Channels that fire (activation > 0) on fewer than ``k`` images are never chosen: their
    grids would show patches the unit does not respond to.

    Args:
        maxima: one layer's `ChannelMaxima`.
        n: how many channels to return.
        k: the number of patches that will be shown per channel.
        method: ``"random"`` (a seeded random subset, as Zeiler & Fergus show: typical units)
            or ``"selective"`` (highest mean of the top-``k`` maxima divided by the mean over
            all images: units that fire on a few images only, which give coherent grids; a
            unit that fires on everything scores about 1).
        seed: seed of the ``"random"`` choice.

    Returns:
        ``(n,)`` int channel indices (``"random"``: ascending; ``"selective"``: most selective
        first, ties by index).

    Raises:
        ValueError: an unknown method, ``k`` out of range, or fewer than ``n`` usable channels.
    """
    values = maxima.values
    if not 1 <= k <= len(values):
        raise ValueError(f"k must be between 1 and the number of images ({len(values)}); got {k}")
    top = -np.sort(-values, axis=0)[:k]
    usable = top[-1] > 0
    if usable.sum() < n:
        raise ValueError(
            f"{maxima.layer}: only {usable.sum()} channels fire on {k} or more images; ask for"
            f" n <= {usable.sum()}"
        )
    if method == "random":
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(np.flatnonzero(usable), size=n, replace=False))
    if method == "selective":
        mean = np.maximum(values.mean(axis=0), 1e-12)
        score = np.where(usable, top.mean(axis=0) / mean, -np.inf)
        return np.argsort(-score, kind="stable")[:n]
    raise ValueError(f"unknown method {method!r}; choose 'random' or 'selective'")


def _crop(image: np.ndarray, field: ReceptiveField, row: int, col: int, fill):
    """One receptive-field crop; returns ``(box, patch)``."""
    height, width = image.shape[:2]
    top, bottom = field.span(int(row), height)
    left, right = field.span(int(col), width)
    crop = image[top:bottom, left:right]
    if fill is not None:
        patch = np.full((field.size, field.size, 3), fill, dtype=image.dtype)
        first_row, first_col = field.span(int(row))[0], field.span(int(col))[0]
        patch[top - first_row : bottom - first_row, left - first_col : right - first_col] = crop
        crop = patch
    return (top, left, bottom, right), crop


def top_patches(
    maxima: ChannelMaxima, images, units: Sequence[int], k: int = 9, fill: int | None = None
) -> TopPatches:
    """The ``k`` images where each unit fires hardest, and the receptive-field crop in each.

    Args:
        maxima: one layer's `ChannelMaxima` computed on ``images``.
        images: the same ``(N, H, W, 3)`` images (uint8 RGB), in the same order.
        units: channel indices to show.
        k: patches per unit (one per image, so ``k <= N``); the lecture shows 9.
        fill: ``None`` to clip fields at the image border (smaller crops there), or a pixel
            value (e.g. 128) to return full ``size x size`` crops with the outside filled.

    Returns:
        A `TopPatches`, strongest patch first (ties broken by image index).

    Raises:
        ValueError: ``images`` does not match ``maxima``, ``k`` is out of range, or a unit
            index is not a channel of the layer.
    """
    images = np.asarray(images)
    n_images, n_channels = maxima.values.shape
    if len(images) != n_images:
        raise ValueError(f"maxima were computed on {n_images} images; got {len(images)}")
    if not 1 <= k <= n_images:
        raise ValueError(f"k must be between 1 and the number of images ({n_images}); got {k}")
    units = np.asarray(units, dtype=int).reshape(-1)
    if units.size and (units.min() < 0 or units.max() >= n_channels):
        raise ValueError(f"{maxima.layer} has channels 0..{n_channels - 1}; got units {units}")
    # (U, N) responses; the stable sort keeps the lower image index first on ties.
    responses = maxima.values[:, units].T
    best = np.argsort(-responses, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(responses, best, axis=1)
    rows = maxima.rows[best, units[:, None]]
    cols = maxima.cols[best, units[:, None]]
    boxes = np.zeros((len(units), k, 4), dtype=int)
    patches = []
    for u in range(len(units)):
        crops = []
        for j in range(k):
            box, crop = _crop(images[best[u, j]], maxima.field, rows[u, j], cols[u, j], fill)
            boxes[u, j] = box
            crops.append(crop)
        patches.append(crops)
    return TopPatches(maxima.layer, units, values, best, boxes, patches, maxima.field)
