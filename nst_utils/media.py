"""A small figure helper for the style-transfer notebooks (credits: `workbook.credits`)."""

from __future__ import annotations

import numpy as np

__all__ = ["show_images"]


def show_images(images, titles=None, ncols: int | None = None, size: float = 2.2):
    """Show images side by side (axes off), each with an optional title; return the figure.

    Args:
        images: ``(H, W, 3)`` arrays (uint8, or floats in [0, 255]) or 2-D arrays (heatmaps).
        titles: one title per image, or None.
        ncols: images per row (default: all in one row).
        size: height of each panel in inches.
    """
    import matplotlib.pyplot as plt

    images = list(images)
    ncols = ncols or len(images)
    nrows = -(-len(images) // ncols)
    aspect = max(image.shape[1] / image.shape[0] for image in images)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * aspect * ncols, size * nrows + 0.3 * nrows), squeeze=False
    )
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= len(images):
            continue
        image = np.asarray(images[index])
        if image.ndim == 3 and image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        ax.imshow(image, cmap=None if image.ndim == 3 else "viridis")
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
    fig.tight_layout()
    return fig
