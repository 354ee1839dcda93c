"""Figures for notebook 06: top-patch grids, first-layer filters and activation maps.

Every function returns the matplotlib figure and keeps it small (the committed notebooks
must stay under 2 MB): images are downscaled to a fixed tile size before plotting.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from nst_utils.layers.top_patches import TopPatches

__all__ = [
    "filter_tiles",
    "patch_mosaic",
    "plot_activation_maps",
    "plot_filters",
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


def plot_top_patches(top: TopPatches, tile: int = 32, units_per_row: int = 3, title: str = ""):
    """The lecture's figure: one 3x3 mosaic of top patches per unit, units on a grid.

    Args:
        top: `TopPatches` of one layer (9 patches per unit makes square mosaics).
        tile: pixels per patch in the mosaics.
        units_per_row: mosaics per figure row.
        title: figure title (the layer name and receptive field size are a good choice).

    Returns:
        The matplotlib figure.
    """
    n_units = len(top.units)
    rows = max(1, -(-n_units // units_per_row))
    side = 1.45 * units_per_row
    fig, axes = plt.subplots(rows, units_per_row, figsize=(side, side * rows / units_per_row + 0.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, unit, patches in zip(np.ravel(axes), top.units, top.patches, strict=False):
        ax.imshow(patch_mosaic(patches, tile))
        ax.set_title(f"unit {unit}", fontsize=7, pad=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.4, rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    return fig


def filter_tiles(kernel, bgr_input: bool = True) -> np.ndarray:
    """First-layer filters as RGB images, each stretched to [0, 1] on its own.

    Args:
        kernel: ``(k, k, 3, n_filters)`` weights of the first conv layer.
        bgr_input: the network reads BGR (Caffe-style VGG): flip to RGB for display.

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


def plot_filters(tiles, cols: int = 16, title: str = ""):
    """Show filter tiles ``(n, k, k, 3)`` in [0, 1] on a grid; returns the figure."""
    tiles = np.asarray(tiles)
    rows = -(-len(tiles) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.42, rows * 0.42 + 0.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, tile in zip(np.ravel(axes), tiles, strict=False):
        ax.imshow(tile, interpolation="nearest")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2, h_pad=0.1, w_pad=0.1)
    return fig


def plot_activation_maps(image, activations: dict, channels: dict, size: float = 1.5):
    """An image and, per layer, a few channels of its activation maps.

    Args:
        image: ``(H, W, 3)`` uint8, the input.
        activations: ``{layer: (1, n_H, n_W, n_C) array}``.
        channels: ``{layer: [channel, ...]}``, the maps to show (same count per layer).
        size: inches per panel.

    Returns:
        The matplotlib figure: one row per layer, the input in the first column.
    """
    n_cols = 1 + max(len(c) for c in channels.values())
    fig, axes = plt.subplots(len(channels), n_cols, figsize=(n_cols * size, len(channels) * size))
    axes = np.atleast_2d(axes)
    for row, (layer, picks) in enumerate(channels.items()):
        maps = np.asarray(activations[layer])[0]
        axes[row, 0].imshow(image)
        axes[row, 0].set_title("input", fontsize=7)
        for col, channel in enumerate(picks, start=1):
            axes[row, col].imshow(maps[:, :, channel], cmap="viridis")
            axes[row, col].set_title(
                f"{layer} #{channel}\n{maps.shape[0]}x{maps.shape[1]}", fontsize=7
            )
        for ax in axes[row]:
            ax.axis("off")
    fig.tight_layout(pad=0.3)
    return fig
