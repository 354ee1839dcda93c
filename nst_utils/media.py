"""Figures and animations for the style-transfer notebooks (credits: `workbook.credits`).

* `show_images`: images side by side, with titles;
* `show_frames`: a strip of frames of an optimisation (a `nst_utils.FrameRecorder`'s), each
  titled with its step, for a notebook figure;
* `save_gif`: the same frames as an animated GIF (written atomically), for the image
  emerging from noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["pick_frames", "save_gif", "show_frames", "show_images"]


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


def _as_frames(frames) -> list[tuple[int | None, np.ndarray]]:
    """``(step, uint8 image)`` pairs from a `FrameRecorder`, such pairs, or bare images."""
    frames = getattr(frames, "frames", frames)  # a FrameRecorder
    pairs = []
    for frame in frames:
        step, image = frame if isinstance(frame, tuple) else (None, frame)
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"A frame must be an (H, W, 3) RGB image; got shape {image.shape}")
        pairs.append((step, np.clip(np.rint(image), 0, 255).astype(np.uint8)))
    if not pairs:
        raise ValueError(
            "No frames to show: record some with FrameRecorder(every=N) as the callback"
        )
    return pairs


def _resized(image: np.ndarray, shape) -> np.ndarray:
    """``image`` resized to ``shape = (H, W)`` (Lanczos), unchanged when it already fits."""
    from PIL import Image

    if image.shape[:2] == tuple(shape):
        return image
    resized = Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
    return np.asarray(resized)


def _picked_indices(n: int, count) -> list[int]:
    """``count`` indices of ``range(n)`` evenly spread, the first and the last included."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive integer; got {count!r}")
    if n <= count:
        return list(range(n))
    if count == 1:
        return [n - 1]
    return list(dict.fromkeys(np.rint(np.linspace(0, n - 1, count)).astype(int).tolist()))


def pick_frames(frames, count: int) -> list[tuple[int | None, np.ndarray]]:
    """``count`` frames evenly spread over ``frames``, always the first and the last.

    Args:
        frames: a `nst_utils.FrameRecorder`, its ``frames`` list of ``(step, image)`` pairs,
            or a list of ``(H, W, 3)`` images.
        count: how many to keep (all of them when there are no more than ``count``; only the
            last when 1).

    Returns:
        ``(step, uint8 image)`` pairs (step None for bare images), in order.
    """
    pairs = _as_frames(frames)
    return [pairs[i] for i in _picked_indices(len(pairs), count)]


def show_frames(frames, count: int = 6, size: float = 2.0):
    """A strip of ``count`` frames of an optimisation, each titled with its step.

    Every frame is shown at the size of the last one, so the coarse levels of a
    coarse-to-fine schedule appear upsampled (blurrier), as the optimiser saw them.

    Args:
        frames: a `nst_utils.FrameRecorder`, its ``(step, image)`` pairs, or bare images
            (titled ``frame 1``, ``frame 2``, ... by their place in ``frames``).
        count: frames in the strip (evenly spread, first and last included; `pick_frames`).
        size: height of each panel in inches.

    Returns:
        The matplotlib figure.
    """
    pairs = _as_frames(frames)
    indices = _picked_indices(len(pairs), count)
    shape = pairs[indices[-1]][1].shape[:2]
    images = [_resized(pairs[i][1], shape) for i in indices]
    titles = [f"frame {i + 1}" if pairs[i][0] is None else f"step {pairs[i][0]}" for i in indices]
    return show_images(images, titles, size=size)


def save_gif(path, frames, *, frame_ms: int = 120, last_ms: int = 1500, loop: int = 0) -> Path:
    """Write frames of an optimisation as an animated GIF, atomically.

    Every frame is scaled to the size of the last one (Lanczos). GIF stores at most 256
    colours per frame, so smooth gradients show some banding; the PNG of the result is the
    faithful copy. Pillow merges consecutive identical frames into one (their times add up).

    Args:
        path: destination; its suffix must be ``.gif`` and its folder must exist.
        frames: a `nst_utils.FrameRecorder`, its ``(step, image)`` pairs, or bare images.
        frame_ms: how long each frame shows, in milliseconds.
        last_ms: how long the last frame shows before the animation restarts.
        loop: times to repeat the animation (0: forever).

    Returns:
        The path written.

    Raises:
        ValueError: no frames, a frame that is not ``(H, W, 3)``, or not a ``.gif`` path.
        FileNotFoundError: the folder does not exist.
    """
    from PIL import Image

    from workbook.atomic import atomic_open

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"An animation must be saved as a .gif file; got {path}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Output folder {path.parent} does not exist; create it first")
    pairs = _as_frames(frames)
    shape = pairs[-1][1].shape[:2]
    images = [Image.fromarray(_resized(image, shape)) for _, image in pairs]
    durations = [int(frame_ms)] * (len(images) - 1) + [int(last_ms)]
    with atomic_open(path) as file:
        images[0].save(
            file,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=int(loop),
            disposal=1,
        )
    return path
