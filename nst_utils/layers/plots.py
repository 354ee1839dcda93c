"""Figures for notebook 06: predictions, filters, activation maps, top-patch mosaics, coherence.

Every function returns the matplotlib figure. Mosaics are drawn at their own resolution
(one mosaic pixel per figure pixel at the figure's dpi), so patches stay crisp and the
committed notebook stays small; captions sit *under* the mosaics, never over a patch.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from nst_utils.layers.top_patches import TopPatches

__all__ = [
    "filter_tiles",
    "patch_mosaic",
    "plot_activation_maps",
    "plot_coherence",
    "plot_filters",
    "plot_predictions",
    "plot_top_patches",
]


def _resize(patch: np.ndarray, tile: int) -> np.ndarray:
    """Scale a uint8 patch so its longer side is ``tile`` (nearest for upscaling: crisp pixels)."""
    height, width = patch.shape[:2]
    scale = tile / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(patch).resize(size, method))


def patch_mosaic(
    patches, tile: int = 32, cols: int = 3, gap: int = 1, background: int = 255
) -> np.ndarray:
    """Lay patches out row-major on a grid of ``tile x tile`` cells.

    Args:
        patches: uint8 ``(h, w, 3)`` arrays (sizes may differ; each is scaled to fit its cell
            and centred in it).
        tile: cell side in pixels.
        cols: cells per row.
        gap: pixels of ``background`` between cells.
        background: grey level of the gaps and of unused cell area.

    Returns:
        One uint8 ``(H, W, 3)`` image.
    """
    patches = list(patches)
    rows = max(1, -(-len(patches) // cols))
    step = tile + gap
    mosaic = np.full((rows * step - gap, cols * step - gap, 3), background, np.uint8)
    for index, patch in enumerate(patches):
        small = _resize(np.asarray(patch, np.uint8), tile)
        top = (index // cols) * step + (tile - small.shape[0]) // 2
        left = (index % cols) * step + (tile - small.shape[1]) // 2
        mosaic[top : top + small.shape[0], left : left + small.shape[1]] = small
    return mosaic


def plot_top_patches(
    rows: Sequence[TopPatches],
    captions: Sequence[Sequence[str]],
    tile: int = 56,
    row_labels: Sequence[str] = (),
    title: str = "",
):
    """The lecture's figure: one 3x3 mosaic of top patches per unit, a caption under each.

    Args:
        rows: one `TopPatches` per figure row (9 patches per unit makes square mosaics).
        captions: per row, one caption per unit (e.g. ``"unit 7\\ndog 6/9"``).
        tile: pixels per patch; the figure is sized so each mosaic pixel is one figure pixel.
        row_labels: a label left of each row (e.g. how its units were chosen).
        title: figure title, above the first row.

    Returns:
        The matplotlib figure.
    """
    mosaics = [[patch_mosaic(patches, tile) for patches in top.patches] for top in rows]
    n_cols = max(len(row) for row in mosaics)
    side = mosaics[0][0].shape[1] / plt.rcParams["figure.dpi"]  # inches per mosaic
    cell_w, cell_h = side + 0.12, side + 0.42  # room for two caption lines below
    label_w = 0.3 if row_labels else 0.0
    top_h = 0.3 if title else 0.05
    fig = plt.figure(figsize=(label_w + n_cols * cell_w, top_h + len(mosaics) * cell_h))
    width, height = fig.get_size_inches()
    for r, row in enumerate(mosaics):
        for c, mosaic in enumerate(row):
            left = (label_w + c * cell_w + 0.06) / width
            bottom = 1 - (top_h + r * cell_h + side) / height
            ax = fig.add_axes((left, bottom, side / width, side / height))
            ax.imshow(mosaic, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(captions[r][c], fontsize=8, labelpad=2)
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=8, labelpad=3)
    if title:
        fig.suptitle(title, fontsize=9, y=1 - 0.04 / height, va="top")
    return fig


def filter_tiles(kernel, bgr_input: bool = False) -> np.ndarray:
    """First-layer filters as RGB images, each stretched to [0, 1] on its own.

    Args:
        kernel: ``(k, k, 3, n_filters)`` weights of the first conv layer.
        bgr_input: the network reads BGR (Caffe-style networks such as SqueezeNet): flip to
            RGB for display.

    Returns:
        ``(n_filters, k, k, 3)`` float32 in [0, 1]; 0.5 grey is a zero weight only when
        the filter's weights are symmetric around 0 (each tile uses its own range).
    """
    weights = np.asarray(kernel, np.float32)
    if weights.ndim != 4 or weights.shape[2] != 3:
        raise ValueError(f"expected a (k, k, 3, n) first-layer kernel; got shape {weights.shape}")
    if bgr_input:
        weights = weights[:, :, ::-1]
    tiles = np.moveaxis(weights, -1, 0)
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    high = tiles.max(axis=(1, 2, 3), keepdims=True)
    return (tiles - low) / np.maximum(high - low, 1e-12)


def plot_filters(tiles, cols: int = 8, size: float = 0.55, title: str = ""):
    """Show filter tiles ``(n, k, k, 3)`` in [0, 1] on a grid, numbered; returns the figure."""
    tiles = np.asarray(tiles)
    rows = -(-len(tiles) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * (size + 0.15) + 0.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for index, (ax, tile) in enumerate(zip(np.ravel(axes), tiles, strict=False)):
        ax.imshow(tile, interpolation="nearest")
        ax.set_title(str(index), fontsize=7, pad=1)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2, h_pad=0.2, w_pad=0.1)
    return fig


def plot_activation_maps(image, activations: dict, channels: dict, size: float = 0.9):
    """An image and, for a few layers, a few channels of its activation maps, in one row.

    Args:
        image: ``(H, W, 3)`` uint8, the input.
        activations: ``{layer: (1, n_H, n_W, n_C) array}``.
        channels: ``{layer: [channel, ...]}``, the maps to show.
        size: inches per panel.

    Returns:
        The matplotlib figure: the input, then each map with its layer, channel and grid size.
    """
    panels = [(layer, channel) for layer, picks in channels.items() for channel in picks]
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=((1 + len(panels)) * size, size + 0.45))
    axes[0].imshow(image)
    axes[0].set_title("input", fontsize=8)
    for ax, (layer, channel) in zip(axes[1:], panels, strict=True):
        maps = np.asarray(activations[layer])[0]
        ax.imshow(maps[:, :, channel], cmap="viridis")
        ax.set_title(f"{layer}\n#{channel} ({maps.shape[0]}x{maps.shape[1]})", fontsize=7)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout(pad=0.3, w_pad=0.3)
    return fig


def plot_predictions(
    images, predictions, titles: Sequence[str] = (), cols: int = 2, size: float = 1.25
):
    """Photos, each with a bar chart of its top classes beside it.

    Args:
        images: ``N`` uint8 RGB photos.
        predictions: ``N`` lists of objects with ``label`` and ``probability`` (e.g.
            `nst_utils.models.darknet.classify`'s output), most probable first.
        titles: a title per photo (e.g. its true class).
        cols: photos per figure row.
        size: inches per photo (the bar chart beside it is 1.6 times as wide).

    Returns:
        The matplotlib figure: for each photo, the photo and one bar per guess with the class
        name and probability written on it.
    """
    n = len(images)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows,
        2 * cols,
        figsize=(cols * 2.75 * size, rows * (size + 0.35)),
        gridspec_kw={"width_ratios": [1, 1.6] * cols},
        squeeze=False,
    )
    for ax in axes.ravel():
        ax.set_axis_off()
    for i, (image, guesses) in enumerate(zip(images, predictions, strict=True)):
        photo, bars = axes[i // cols, 2 * (i % cols)], axes[i // cols, 2 * (i % cols) + 1]
        photo.imshow(image)
        if i < len(titles):
            photo.set_title(titles[i], fontsize=8)
        bars.set_axis_on()
        places = np.arange(len(guesses))[::-1]  # most probable on top
        bars.barh(places, [g.probability for g in guesses], color="#a6c8e8", height=0.8)
        for place, guess in zip(places, guesses, strict=True):
            text = f"{guess.label.replace('_', ' ')} {guess.probability:.0%}"
            bars.text(0.02, place, text, va="center", fontsize=7)
        bars.set_xlim(0, 1)
        bars.set_yticks([])
        bars.set_xlabel("probability", fontsize=8)
        bars.tick_params(axis="x", labelsize=7)
    fig.tight_layout(pad=0.3, w_pad=0.6, h_pad=0.6)
    return fig


def plot_coherence(curves: dict, chance, image_size: int, majority: int = 5):
    """Coherence of the top photos against depth, next to the receptive field size.

    Args:
        curves: ``{network: (receptive field sizes, [LayerCoherence, ...])}``, one entry per
            depth; the first network is drawn solid, the others dashed.
        chance: coherences of random photo sets (`chance_coherence`).
        image_size: input side in pixels (a line on the receptive-field panel).
        majority: the count of photos in one group that makes a unit "mostly one group".

    Returns:
        The matplotlib figure, three panels against depth: the mean coherence of the units
        (with chance and the range a layer's mean of random sets stays in, 95 %), the share of
        units with ``majority`` or more of their photos in one group (and that share for random
        sets), and the receptive field side.
    """
    chance = np.asarray(chance, float)
    first = next(iter(curves.values()))[1][0]
    k, min_depth = first.k, first.min_depth
    fewest = min(len(c.units) for _, layers in curves.values() for c in layers)
    spread = 1.96 * chance.std() / np.sqrt(max(fewest, 1))
    fig, axes = plt.subplots(1, 3, figsize=(10.2, 3.2))
    colours = ["tab:blue", "tab:orange", "tab:green"]
    for index, (name, (sizes, layers)) in enumerate(curves.items()):
        depth = np.arange(1, len(layers) + 1)
        style = {"color": colours[index], "marker": "o", "ls": "-" if index == 0 else "--"}
        axes[0].plot(depth, [c.mean for c in layers], label=name, **style)
        axes[1].plot(depth, [np.mean(c.counts >= majority) for c in layers], label=name, **style)
        axes[2].plot(depth, sizes, label=name, **style)
    band = f"95 % range of a {fewest}-unit layer's mean"
    axes[0].axhspan(chance.mean() - spread, chance.mean() + spread, color="0.88", label=band)
    axes[0].axhline(chance.mean(), color="0.35", lw=1, ls=":", label="random photos")
    axes[0].set_ylabel(
        f"mean coherence (share of the {k} photos\nin one group, depth ≥ {min_depth})"
    )
    axes[1].axhline(
        np.mean(chance >= majority / k), color="0.35", lw=1, ls=":", label="random photos"
    )
    axes[1].set_ylabel(f"share of units with {majority}+ of {k}\nphotos in one group")
    axes[2].axhline(image_size, color="0.35", lw=1, ls=":", label=f"input side ({image_size} px)")
    axes[2].set_ylabel("receptive field side (pixels)")
    for ax in axes:
        ax.set_xlabel("depth")
        ax.set_xticks(range(1, 6))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax, corner in zip(axes, ("upper left", "upper left", "lower right"), strict=True):
        ax.legend(fontsize=7, loc=corner)
    fig.tight_layout(pad=0.4, w_pad=1.2)
    return fig
