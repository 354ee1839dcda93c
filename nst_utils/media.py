"""Credits for the shared images, and a small figure helper for the notebooks.

Every notebook that shows a photo prints its credit line with `credits`. The CC BY-SA photos
(Yosemite, chiffchaff) make any stylised output an adaptation under the same licence, so the
notebooks stylise only the CC BY and public-domain photos; `SHARE_ALIKE` lists the others.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CREDITS", "SHARE_ALIKE", "credits", "show_images"]

_VIA = "via Wikimedia Commons, downscaled"
#: One credit line per shared image (from ``SOURCES-media.md`` in the data folder).
CREDITS = {
    "photos/bern_from_north.jpg": f'"Central Bern from north" by CucombreLibre, CC BY 2.0, {_VIA}',
    "photos/yosemite_bridalveil_fall.jpg": (
        f'"Bridalveil Fall and valley" by Amadscientist, CC BY-SA 3.0, {_VIA}'
    ),
    "photos/chiffchaff_bird.jpg": (
        f'"Chiffchaff (Phylloscopus collybita)" by א, CC BY-SA 2.5, {_VIA}'
    ),
    "photos/plaigne_countryside.jpg": f'"Plaigne (2)" by Jcb-caz-11, CC BY 4.0, {_VIA}',
    "photos/mars_valles_marineris_nasa.jpg": (
        "Valles Marineris: The Grand Canyon of Mars, courtesy NASA/JPL-Caltech (public domain)"
    ),
    "art/starry_night.jpg": "Vincent van Gogh, The Starry Night, 1889 (public domain)",
    "art/great_wave_off_kanagawa.jpg": (
        "Katsushika Hokusai, The Great Wave off Kanagawa, c. 1830-32 (public domain)"
    ),
    "art/the_scream.jpg": "Edvard Munch, The Scream, 1893 (public domain)",
    "art/shipwreck_of_the_minotaur.jpg": (
        "J. M. W. Turner, The Shipwreck of the Minotaur, c. 1805-10 (public domain)"
    ),
    "art/composition_vii.jpg": "Wassily Kandinsky, Composition VII, 1913 (public domain)",
    "art/monet_san_giorgio_maggiore_at_dusk.jpg": (
        "Claude Monet, San Giorgio Maggiore at Dusk, 1908 (public domain)"
    ),
    "art/gauguin_te_fare.jpg": "Paul Gauguin, Te Fare (La Maison), 1892 (public domain)",
}
#: Photos whose licence is ShareAlike: a stylised version must carry the same licence.
SHARE_ALIKE = frozenset({"photos/yosemite_bridalveil_fall.jpg", "photos/chiffchaff_bird.jpg"})


def credits(*names: str) -> str:
    """Return the credit lines of the named shared images, one per line.

    Args:
        names: paths relative to the data folder, e.g. ``"photos/bern_from_north.jpg"``.

    Raises:
        KeyError: an image without a known credit (the message lists the known ones).
    """
    unknown = [name for name in names if name not in CREDITS]
    if unknown:
        raise KeyError(f"No credit known for {unknown}; known: {', '.join(sorted(CREDITS))}")
    lines = [f"Image: {CREDITS[name]}" for name in dict.fromkeys(names)]
    if any(name in SHARE_ALIKE for name in names):
        lines.append("ShareAlike: a stylised version of this photo must carry the same licence.")
    return "\n".join(lines)


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
