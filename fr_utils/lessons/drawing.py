"""Figures of the face pipeline: detections, 68-point landmarks, aligned chips.

`draw_faces`, `draw_landmarks` and `draw_chip` draw into a matplotlib ``Axes`` you pass in,
so a notebook can lay out several steps side by side; `photo_chip_strip` makes a whole
figure: a row of photos above the aligned chips the encoder saw.
"""

from __future__ import annotations

import numpy as np

from fr_utils.alignment import chip_landmarks

__all__ = [
    "LANDMARK_NAMES",
    "PART_COLOURS",
    "draw_chip",
    "draw_faces",
    "draw_landmarks",
    "photo_chip_strip",
]

#: The five MTCNN landmarks, in the order of `AlignedFace.landmarks`.
LANDMARK_NAMES = ("left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner")
_COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple")
#: One colour per part of `fr_utils.face_landmarks` (68-point model).
PART_COLOURS = {
    "chin": "tab:orange",
    "left_eyebrow": "tab:olive",
    "right_eyebrow": "tab:olive",
    "nose_bridge": "tab:cyan",
    "nose_tip": "tab:blue",
    "left_eye": "tab:green",
    "right_eye": "tab:green",
    "top_lip": "tab:red",
    "bottom_lip": "tab:pink",
}
_CLOSED = ("left_eye", "right_eye", "top_lip", "bottom_lip")  # outlines drawn as loops
_LEGEND = {"left_eyebrow": "eyebrows", "right_eyebrow": "eyebrows", "left_eye": "eyes"}
_LEGEND["right_eye"] = "eyes"


def draw_faces(ax, photo: np.ndarray, faces, title: str = "") -> None:
    """Show a photo with each face's box, detector confidence and five landmarks.

    Args:
        ax: a matplotlib ``Axes``.
        photo: ``HxWx3`` uint8 RGB photo.
        faces: `fr_utils.AlignedFace` (or `DetectedFace`) objects with ``box`` ``(x, y, w,
            h)``, ``confidence`` and ``landmarks`` ``(5, 2)`` in the photo's pixels.
        title: axes title.
    """
    from matplotlib.patches import Rectangle

    ax.imshow(photo)
    line = max(1.0, photo.shape[1] / 400)
    for face in faces:
        x, y, w, h = face.box
        ax.add_patch(Rectangle((x, y), w, h, fill=False, color="yellow", lw=line))
        ax.text(x, y - 8, f"{face.confidence:.2f}", color="yellow", fontsize=8, va="bottom")
        for (px, py), colour in zip(face.landmarks, _COLOURS, strict=True):
            ax.plot(px, py, "o", color=colour, ms=3)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def draw_chip(ax, chip: np.ndarray, padding: float = 0.25, title: str = "") -> None:
    """Show an aligned chip with the template positions its landmarks were mapped onto.

    Args:
        ax: a matplotlib ``Axes``.
        chip: ``(size, size, 3)`` uint8 aligned chip.
        padding: the template padding used to cut it (``encoder.padding``).
        title: axes title.
    """
    ax.imshow(chip)
    targets = chip_landmarks(chip.shape[0], padding)
    for (px, py), colour in zip(targets, _COLOURS, strict=True):
        ax.plot(px, py, "+", color=colour, ms=8, mew=1.5)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def draw_landmarks(
    ax, photo: np.ndarray, landmarks: dict, margin: float = 0.15, title: str = "", mtcnn=None
) -> None:
    """Show a face cropped from its photo with its landmarks, one colour per part.

    Args:
        ax: a matplotlib ``Axes``.
        photo: ``HxWx3`` uint8 RGB photo.
        landmarks: one face of `fr_utils.face_landmarks`: ``{part: [(x, y), ...]}``.
        margin: space kept around the points, as a fraction of their extent.
        title: axes title.
        mtcnn: optional ``(5, 2)`` MTCNN landmarks of the same face, drawn as white crosses.
    """
    points = np.array([p for part in landmarks.values() for p in part], dtype=float)
    low, high = points.min(axis=0), points.max(axis=0)
    pad = margin * (high - low).max()
    x0, y0 = np.maximum(np.floor(low - pad), 0).astype(int)
    x1, y1 = np.ceil(high + pad).astype(int)
    ax.imshow(photo[y0 : y1 + 1, x0 : x1 + 1], extent=(x0 - 0.5, x1 + 0.5, y1 + 0.5, y0 - 0.5))
    for part, part_points in landmarks.items():
        xy = np.array(part_points + part_points[:1] if part in _CLOSED else part_points, float)
        colour = PART_COLOURS.get(part, "white")
        ax.plot(xy[:, 0], xy[:, 1], "-", color=colour, lw=1, alpha=0.8)
        label = _LEGEND.get(part, part.replace("_", " "))
        dots = np.array(part_points, float)  # each point once, even on a closed outline
        ax.plot(dots[:, 0], dots[:, 1], "o", color=colour, ms=3.5, label=label)
    if mtcnn is not None:
        from matplotlib import patheffects

        mtcnn = np.asarray(mtcnn)
        outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
        ax.plot(*mtcnn.T, "x", color="white", ms=8, mew=2, label="MTCNN's 5", path_effects=outline)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def photo_chip_strip(
    photos, chips, titles, colours=None, column_width: float = 1.15, height: float = 2.9
):
    """A figure: the photos in a row, each above the aligned chip cut from it.

    Args:
        photos: ``HxWx3`` uint8 photos (any sizes: each gets the same column width).
        chips: the aligned chips, one per photo.
        titles: a title per column (above the photo).
        colours: optional title colours (e.g. green for an open door).
        column_width: inches per column (small photos keep a notebook's size down).
        height: figure height in inches.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    count = len(photos)
    colours = colours or ["black"] * count
    fig, axes = plt.subplots(
        2, count, figsize=(column_width * count, height), squeeze=False, height_ratios=(1.5, 1)
    )
    for column, (photo, chip, title) in enumerate(zip(photos, chips, titles, strict=True)):
        axes[0, column].imshow(photo)
        axes[0, column].set_title(title, fontsize=8, color=colours[column])
        axes[1, column].imshow(chip)
        for ax in axes[:, column]:
            ax.set_axis_off()
    for row, label in ((1, "aligned chip"), (0, "photo")):
        ax = axes[row, 0]
        ax.text(
            -0.08,
            0.5,
            label,
            transform=ax.transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
        )
    fig.tight_layout()
    return fig
