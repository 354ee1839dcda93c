"""Video as 3D data: a clip is a ``(time, height, width)`` volume, and a 3D kernel sees motion.

A grey-level video of ``T`` frames of ``H x W`` pixels is a volume with time as its first axis;
Keras' ``Conv3D`` takes it as ``(batch, T, H, W, channels)``. A ``3 x 3 x 3`` kernel then sees
a ``3 x 3`` patch in three consecutive frames, so, unlike a 2D kernel on one frame, it can
respond to *motion*.

For a pattern moving right at ``v`` pixels per frame, ``I(t, x) = f(x - v t)``, the time and
space derivatives obey ``I_t = -v I_x``. With central differences and ``v = 1`` this holds
exactly on the pixel grid, so

* ``I_t + I_x`` is zero on everything moving right at 1 pixel per frame (it sees leftward motion),
* ``I_t - I_x`` is zero on everything moving left (it sees rightward motion).

`motion_kernels` writes both as one ``(3, 3, 3, 1, 2)`` Conv3D kernel; `moving_squares_clip`
draws a clip in which two identical squares move in opposite directions: every single frame
shows two equal squares, and only the time axis tells them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Clip", "motion_kernels", "moving_squares_clip"]


@dataclass(frozen=True)
class Clip:
    """A synthetic grey-level video and where its moving squares are.

    Attributes:
        video: ``(frames, size, size)`` float32, 1 inside the squares and 0 elsewhere.
        rows: image rows of each square's half of the frame, by the direction it moves
            (``"right"``: the top half, ``"left"``: the bottom half).
        centres: the image row through the middle of each square, by direction.
    """

    video: np.ndarray
    rows: dict[str, slice]
    centres: dict[str, int]


def moving_squares_clip(frames: int = 12, size: int = 24, side: int = 4) -> Clip:
    """Draw two bright ``side x side`` squares moving one pixel per frame in opposite directions.

    The square in the top half starts near the left edge and moves right; the square in the
    bottom half starts near the right edge and moves left. Both stay two pixels clear of the
    borders, so a ``3 x 3 x 3`` kernel with one pixel of padding never sees the zero padding
    next to a square.

    Args:
        frames: number of frames ``T`` (at least 3, the time extent of a 3D kernel).
        size: height and width of every frame in pixels.
        side: side of each square in pixels (at least 2).

    Returns:
        A `Clip`.

    Raises:
        ValueError: if fewer than 3 frames are asked for, the squares are smaller than 2 pixels,
            or they would leave their half of the frame or reach its border.
    """
    if frames < 3:
        raise ValueError(f"a 3D kernel spans 3 frames, so frames must be >= 3; got {frames}.")
    if side < 2:
        raise ValueError(f"side must be at least 2 pixels; got {side}.")
    if side + 4 > size // 2 or side + frames + 3 > size:
        raise ValueError(
            f"{frames} frames of a {side}-pixel square do not fit in {size} x {size} frames:"
            f" need size >= {max(2 * (side + 4), side + frames + 3)}; use a larger size."
        )
    video = np.zeros((frames, size, size), dtype=np.float32)
    top, bottom = (size // 2 - side) // 2, size // 2 + (size // 2 - side) // 2
    for t in range(frames):
        right_x, left_x = 2 + t, size - 2 - side - t
        video[t, top : top + side, right_x : right_x + side] = 1.0
        video[t, bottom : bottom + side, left_x : left_x + side] = 1.0
    rows = {"right": slice(0, size // 2), "left": slice(size // 2, size)}
    return Clip(video, rows, {"right": top + side // 2, "left": bottom + side // 2})


def motion_kernels() -> np.ndarray:
    """Return a ``(3, 3, 3, 1, 2)`` Conv3D kernel over (time, y, x) that detects motion.

    Filter 0 computes ``I_t - I_x`` (zero on leftward motion at 1 pixel per frame: it sees
    rightward motion), filter 1 computes ``I_t + I_x`` (it sees leftward motion). Both use
    central differences, ``(I[t + 1] - I[t - 1]) / 2`` and ``(I[x + 1] - I[x - 1]) / 2``, and
    smooth along y with ``[1, 2, 1] / 4`` like a Sobel filter.

    Returns:
        float32 weights in Keras' layout ``(f_t, f_y, f_x, C, F)``, not flipped.
    """
    smooth = np.array([1.0, 2.0, 1.0]) / 4
    d_t = np.zeros((3, 3))  # the (t, x) plane of the kernel
    d_t[2, 1], d_t[0, 1] = 0.5, -0.5
    d_x = d_t.T  # the same difference along x: [1, 2] = +0.5, [1, 0] = -0.5
    kernel = np.zeros((3, 3, 3, 1, 2), dtype=np.float32)
    for k, plane in enumerate((d_t - d_x, d_t + d_x)):
        kernel[..., 0, k] = plane[:, None, :] * smooth[None, :, None]
    return kernel
