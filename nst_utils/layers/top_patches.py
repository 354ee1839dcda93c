"""The image patches that excite a conv unit most, as in Zeiler & Fergus 2013 (notebook 06).

A *unit* is one channel of a conv layer at one spatial position; every position of a
channel applies the same filter. To see what a channel detects we

1. run the backbone over many photos and record, for each photo and each channel, its
   largest activation and where it occurs (`channel_maxima`: batched passes, TensorFlow
   ops, only the per-photo maxima are kept, so memory stays small). With ``mirror=True``
   each photo is also seen flipped left-right, and the stronger of the two views is kept,
   so a photo counts once however many views it has;
2. keep the ``k`` photos where the channel fires hardest (`top_photos`: one patch per
   photo, so the patches are distinct) and map each winning position back to the input
   pixels the unit sees, its receptive field (`top_patches`);
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
from nst_utils.layers.receptive_field import ReceptiveField, layer_fields

__all__ = [
    "ChannelMaxima",
    "TopPatches",
    "channel_maxima",
    "firing_units",
    "select_units",
    "top_patches",
    "top_photos",
]


@dataclass(frozen=True)
class ChannelMaxima:
    """Each channel's strongest response in each photo, for one layer.

    Attributes:
        layer: the layer's name.
        values: ``(N, C)`` float32, the largest activation of channel ``c`` over photo ``n``
            (over both views when mirrored views were probed).
        rows, cols: ``(N, C)`` int32, where (in the layer's ``n_H x n_W`` grid of the winning
            view) it occurs; the first position in row-major order on ties.
        field: the layer's `ReceptiveField`, to map grid positions to input pixels.
        mirrored: ``(N, C)`` bool, True where the left-right mirror image won (then the
            position is one of the mirror image); None when no mirror images were probed.
    """

    layer: str
    values: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    field: ReceptiveField
    mirrored: np.ndarray | None = None


@dataclass(frozen=True)
class TopPatches:
    """The ``k`` strongest patches of some channels of one layer, strongest first.

    Attributes:
        layer: the layer's name.
        units: ``(U,)`` channel indices.
        values: ``(U, k)`` their activations.
        image_index: ``(U, k)`` index of the photo each patch comes from (all different).
        boxes: ``(U, k, 4)`` int, ``(top, left, bottom, right)`` of the receptive field in
            input pixels of the winning view, clipped to the image (bottom/right exclusive).
        mirrored: ``(U, k)`` bool, True where the patch comes from the mirror image.
        patches: ``U`` lists of ``k`` uint8 crops ``(h, w, 3)``, as the unit saw them (mirrored
            where it saw the mirror image); all ``size x size`` when a ``fill`` was given,
            smaller at the image border otherwise.
        field: the layer's `ReceptiveField`.
    """

    layer: str
    units: np.ndarray
    values: np.ndarray
    image_index: np.ndarray
    boxes: np.ndarray
    mirrored: np.ndarray
    patches: list[list[np.ndarray]]
    field: ReceptiveField


def _max_and_position(activation):
    """``(B, n_H, n_W, C)`` -> max ``(B, C)``, flat argmax ``(B, C)`` and ``n_W``."""
    shape = tf.shape(activation)
    flat = tf.reshape(activation, (shape[0], shape[1] * shape[2], shape[3]))
    return tf.reduce_max(flat, axis=1), tf.argmax(flat, axis=1, output_type=tf.int32), shape[2]


def _stronger_view(activation, batch: int):
    """Per photo, the stronger of its view and its mirror view (the second half of the batch).

    Returns max ``(B, C)``, flat position ``(B, C)`` in the winning view, mirrored ``(B, C)``
    (the original wins ties) and ``n_W``.
    """
    values, position, width = _max_and_position(activation)
    mirrored = values[batch:] > values[:batch]
    return (
        tf.where(mirrored, values[batch:], values[:batch]),
        tf.where(mirrored, position[batch:], position[:batch]),
        mirrored,
        width,
    )


def _progress_bar(total: int, show: bool, desc: str):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="photo", mininterval=1.0, leave=False)


def _check_layers(backbone, layers: Sequence[str]) -> dict[str, ReceptiveField]:
    fields = layer_fields(backbone)
    unknown = [name for name in layers if name not in fields]
    if unknown:
        raise ValueError(f"Unknown layer(s) {unknown}; valid layers: {', '.join(fields)}")
    return fields


def channel_maxima(
    backbone,
    images,
    layers: Sequence[str],
    batch_size: int = 16,
    mirror: bool = False,
    progress: bool = False,
) -> dict[str, ChannelMaxima]:
    """Run the backbone over all photos once; keep each channel's per-photo maximum.

    Args:
        backbone: a `nst_utils.backbone.Backbone` (its ``preprocess`` is applied here).
        images: ``(N, H, W, 3)`` RGB pixel values in [0, 255] (uint8 or float), all one size.
        layers: names of the layers to probe, e.g. ``backbone.depth_layers``.
        batch_size: photos per forward pass (twice as many images with ``mirror``); larger is
            faster until memory runs out (a 224 px image's first-layer maps take 3 MB per
            16 channels).
        mirror: also probe each photo's left-right mirror image and keep, per photo and
            channel, the stronger view (`ChannelMaxima.mirrored` says which).
        progress: show a progress bar (tqdm, on stderr).

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
    fields = _check_layers(backbone, layers)
    extractor = feature_extractor(backbone, layers)

    @tf.function(reduce_retracing=True)
    def probe(batch):
        batch = tf.cast(batch, tf.float32)
        n = tf.shape(batch)[0]
        if mirror:
            batch = tf.concat([batch, tf.reverse(batch, axis=[2])], axis=0)
        activations = extractor(backbone.preprocess(batch))
        if mirror:
            return {name: _stronger_view(activations[name], n) for name in layers}
        return {name: _max_and_position(activations[name]) for name in layers}

    bar = _progress_bar(len(images), progress, f"{backbone.name} over {len(images)} photos")
    outputs = []
    for start in range(0, len(images), batch_size):
        outputs.append(probe(tf.constant(images[start : start + batch_size])))
        if bar is not None:
            bar.update(min(batch_size, len(images) - start))
    if bar is not None:
        bar.close()
    result = {}
    for name in layers:
        values = np.concatenate([out[name][0].numpy() for out in outputs])
        position = np.concatenate([out[name][1].numpy() for out in outputs])
        rows, cols = np.divmod(position, int(outputs[0][name][-1]))
        flipped = np.concatenate([out[name][2].numpy() for out in outputs]) if mirror else None
        result[name] = ChannelMaxima(name, values, rows, cols, fields[name], flipped)
    return result


def top_photos(maxima: ChannelMaxima, units: Sequence[int] | None = None, k: int = 9):
    """The ``k`` photos where each unit fires hardest, strongest first.

    Args:
        maxima: one layer's `ChannelMaxima`.
        units: channel indices (default: every channel).
        k: photos per unit (``1 <= k <= N``).

    Returns:
        ``(U, k)`` int photo indices, all different within a row (one maximum per photo);
        ties go to the lower photo index.

    Raises:
        ValueError: ``k`` out of range, or a unit that is not a channel of the layer.
    """
    n_images, n_channels = maxima.values.shape
    if not 1 <= k <= n_images:
        raise ValueError(f"k must be between 1 and the number of images ({n_images}); got {k}")
    units = np.arange(n_channels) if units is None else np.asarray(units, dtype=int).reshape(-1)
    if units.size and (units.min() < 0 or units.max() >= n_channels):
        raise ValueError(f"{maxima.layer} has channels 0..{n_channels - 1}; got units {units}")
    # (U, N) responses; the stable sort keeps the lower photo index first on ties.
    return np.argsort(-maxima.values[:, units].T, axis=1, kind="stable")[:, :k]


def select_units(maxima: ChannelMaxima, n: int = 9, k: int = 9, seed: int = 0) -> np.ndarray:
    """A seeded random sample of ``n`` channels among those that fire on ``k`` photos or more.

    Zeiler & Fergus show typical units, not the best ones; a channel that is positive on
    fewer than ``k`` photos is left out, since its grid would show patches it does not
    respond to.

    Args:
        maxima: one layer's `ChannelMaxima`.
        n: how many channels to return.
        k: the number of patches that will be shown per channel.
        seed: seed of the choice.

    Returns:
        ``(n,)`` int channel indices, ascending.

    Raises:
        ValueError: ``k`` out of range, or fewer than ``n`` usable channels.
    """
    usable = np.flatnonzero(firing_units(maxima, k))
    if len(usable) < n:
        raise ValueError(
            f"{maxima.layer}: only {len(usable)} channels fire on {k} or more images; ask for"
            f" n <= {len(usable)}"
        )
    return np.sort(np.random.default_rng(seed).choice(usable, size=n, replace=False))


def firing_units(maxima: ChannelMaxima, k: int = 9) -> np.ndarray:
    """``(C,)`` bool: the channels whose ``k``-th strongest photo still gives a positive value.

    Raises:
        ValueError: ``k`` out of range.
    """
    values = maxima.values
    if not 1 <= k <= len(values):
        raise ValueError(f"k must be between 1 and the number of images ({len(values)}); got {k}")
    return -np.sort(-values, axis=0)[k - 1] > 0


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
    """The ``k`` photos where each unit fires hardest, and the receptive-field crop in each.

    Args:
        maxima: one layer's `ChannelMaxima` computed on ``images``.
        images: the same ``(N, H, W, 3)`` photos (uint8 RGB), in the same order (not mirrored:
            a patch of a mirror image is cropped from the flipped photo).
        units: channel indices to show.
        k: patches per unit (one per photo, so ``k <= N``); the lecture shows 9.
        fill: ``None`` to clip fields at the image border (smaller crops there), or a pixel
            value (e.g. 128) to return full ``size x size`` crops with the outside filled.

    Returns:
        A `TopPatches`, strongest patch first (ties broken by photo index).

    Raises:
        ValueError: ``images`` does not match ``maxima``, ``k`` is out of range, or a unit
            index is not a channel of the layer.
    """
    images = np.asarray(images)
    if len(images) != len(maxima.values):
        raise ValueError(f"maxima were computed on {len(maxima.values)} images; got {len(images)}")
    units = np.asarray(units, dtype=int).reshape(-1)
    best = top_photos(maxima, units, k)
    columns = units[:, None]
    values = maxima.values[best, columns]
    rows, cols = maxima.rows[best, columns], maxima.cols[best, columns]
    flipped = (
        np.zeros(best.shape, bool) if maxima.mirrored is None else maxima.mirrored[best, columns]
    )
    boxes = np.zeros((len(units), k, 4), dtype=int)
    patches = []
    for u in range(len(units)):
        crops = []
        for j in range(k):
            image = images[best[u, j]]
            view = image[:, ::-1] if flipped[u, j] else image
            box, crop = _crop(view, maxima.field, rows[u, j], cols[u, j], fill)
            boxes[u, j] = box
            crops.append(crop)
        patches.append(crops)
    return TopPatches(maxima.layer, units, values, best, boxes, flipped, patches, maxima.field)
