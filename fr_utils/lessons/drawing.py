"""Figures of the face pipeline: detections on a photo, and the aligned chip with its template.

Both functions draw into a matplotlib ``Axes`` you pass in, so a notebook can lay out
several steps side by side.
"""

from __future__ import annotations

import numpy as np

from fr_utils.alignment import chip_landmarks

__all__ = ["LANDMARK_NAMES", "draw_chip", "draw_faces"]

#: The five MTCNN landmarks, in the order of `AlignedFace.landmarks`.
LANDMARK_NAMES = ("left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner")
_COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple")


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
