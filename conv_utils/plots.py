"""Small fixed-size figures for notebook 10: ECG traces, beats, filters, volumes, video.

Colours are the same in every figure: beat classes N, V, F in blue, red, green; intensities
(an MRI, a synthetic volume, a video frame) in grey; signed responses (derivatives, motion
filters) in red/blue around a white zero; non-negative responses (ReLU feature maps, a
gradient magnitude) in ``"magma"``.

Every function draws one figure, closes it (so the inline backend does not show it a second
time) and returns it, so a notebook cell can end on the call and show the figure once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from conv_utils.ecg import BEAT_NAMES, Beats, EcgRecord

__all__ = [
    "plot_beats",
    "plot_confusion",
    "plot_ecg",
    "plot_filter_responses",
    "plot_video_responses",
    "plot_voxels",
    "plot_volume_slices",
    "slice_plane_labels",
]

_CLASS_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")
_BEAT_COLOURS = {"N": "tab:blue", "V": "tab:red", "F": "tab:green"}


def _colour(k: int, name: str) -> str:
    """The colour of class ``k`` named ``name``: a beat type's own colour, else by index."""
    return _BEAT_COLOURS.get(name, _CLASS_COLOURS[k % len(_CLASS_COLOURS)])


def plot_ecg(record: EcgRecord, start: float = 0.0, seconds: float = 10.0, lead: int = 0):
    """Plot ``seconds`` of one lead from ``start`` (s), with each beat's label at its R peak.

    Only beat labels (`conv_utils.ecg.BEAT_NAMES`) are drawn; rhythm and signal-quality notes
    (``+``, ``~``, ``|``) are left out.
    """
    first, last = round(start * record.fs), round((start + seconds) * record.fs)
    time = np.arange(first, last) / record.fs
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.plot(time, record.signal[first:last, lead], lw=0.8, color="k")
    inside = (record.ann_sample >= first) & (record.ann_sample < last)
    inside &= np.isin(record.ann_symbol, list(BEAT_NAMES))  # beats, not rhythm or noise notes
    top = record.signal[first:last, lead].max()
    for sample, symbol in zip(record.ann_sample[inside], record.ann_symbol[inside], strict=True):
        colour = _BEAT_COLOURS.get(symbol, "gray")
        ax.text(sample / record.fs, top + 0.15, symbol, color=colour, ha="center", fontsize=9)
    ax.set(xlabel="time (s)", ylabel=f"{record.leads[lead]} (mV)", ylim=(None, top + 0.5))
    ax.set_title(f"MIT-BIH record {record.name}, {start:.0f}-{start + seconds:.0f} s", fontsize=10)
    fig.tight_layout()
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_beats(beats: Beats, per_class: int = 30, seed: int = 0):
    """Overlay ``per_class`` random beats of each class (thin) and the class mean (thick)."""
    rng = np.random.default_rng(seed)
    time_ms = (np.arange(beats.x.shape[1]) - beats.offset) / beats.fs * 1000
    fig, axes = plt.subplots(1, len(beats.classes), figsize=(9, 2.6), sharey=True)
    for k, (ax, name) in enumerate(zip(np.atleast_1d(axes), beats.classes, strict=True)):
        members = np.flatnonzero(beats.y == k)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        colour = _colour(k, name)
        ax.plot(time_ms, beats.x[chosen, :, 0].T, color=colour, lw=0.4, alpha=0.3)
        ax.plot(time_ms, beats.x[members, :, 0].mean(axis=0), color="k", lw=1.5)
        ax.set_title(f"{name} ({len(members)} beats)", fontsize=10)
        ax.set_xlabel("ms from R peak")
    np.atleast_1d(axes)[0].set_ylabel("mV")
    fig.tight_layout()
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_confusion(matrix: np.ndarray, classes, title: str = "test beats"):
    """Draw a confusion matrix: rows are true classes, columns predictions.

    Each cell shows its count and the fraction of its true class (its row); the colour is
    that fraction, so a rare class that is half missed shows as pale as a frequent one would,
    and the diagonal reads as the recall of each class.

    Args:
        matrix: ``(K, K)`` counts, e.g. ``sklearn.metrics.confusion_matrix(y_true, y_pred)``.
        classes: ``K`` tick labels (a newline in a label gives it two lines).
        title: the figure's title.
    """
    matrix = np.asarray(matrix)
    fraction = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    image = ax.imshow(fraction, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if fraction[i, j] > 0.5 else "black"
        text = f"{count}\n{fraction[i, j]:.0%}"
        ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
    ticks = range(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    fig.colorbar(image, ax=ax, label="fraction of the true class (row)")
    fig.tight_layout()
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_filter_responses(kernel: np.ndarray, activations: np.ndarray, beats: Beats):
    """Show each first-layer filter next to how strongly it fires along each class's beats.

    Args:
        kernel: ``(f, 1, F)`` weights of a ``Conv1D`` layer with ``padding="same"``.
        activations: ``(m, length, F)`` that layer's outputs on ``beats`` (aligned with the input).
        beats: the `Beats` the activations were computed on.
    """
    n_filters = kernel.shape[-1]
    time_ms = (np.arange(beats.x.shape[1]) - beats.offset) / beats.fs * 1000
    fig, axes = plt.subplots(
        n_filters + 1, 2, figsize=(8, 1.0 * (n_filters + 1)), gridspec_kw={"width_ratios": [1, 5]}
    )
    axes[0, 0].axis("off")
    for k, name in enumerate(beats.classes):
        colour = _colour(k, name)
        axes[0, 1].plot(time_ms, beats.x[beats.y == k, :, 0].mean(0), color=colour, label=name)
    axes[0, 1].legend(fontsize=8, ncol=len(beats.classes), loc="upper right")
    axes[0, 1].set_title("mean beat per class (top), mean activation of each filter", fontsize=9)
    axes[0, 1].set_ylabel("mV", fontsize=8)
    for j in range(n_filters):
        axes[j + 1, 0].bar(np.arange(kernel.shape[0]), kernel[:, 0, j], color="gray")
        axes[j + 1, 0].set_ylabel(f"filter {j}", fontsize=8)
        for k, name in enumerate(beats.classes):
            colour = _colour(k, name)
            axes[j + 1, 1].plot(time_ms, activations[beats.y == k, :, j].mean(0), color=colour)
    for ax in axes.ravel():
        ax.tick_params(labelsize=8)
    axes[-1, 1].set_xlabel("ms from R peak", fontsize=8)
    axes[-1, 0].set_xlabel("tap", fontsize=8)
    fig.tight_layout(h_pad=0.2)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


#: Which anatomical plane a slice at a fixed index of an axis is, by the axis' direction code.
_PLANES = {"L": "sagittal", "R": "sagittal", "A": "coronal", "P": "coronal"}
_PLANES |= {"S": "axial", "I": "axial"}
#: The direction an axis points to, by nibabel's orientation code (RAS+ conventions).
_TOWARDS = {"L": "left", "R": "right", "A": "anterior", "P": "posterior"}
_TOWARDS |= {"S": "superior", "I": "inferior"}


def slice_plane_labels(axcodes=None) -> list[str]:
    """Name the three central slices that `plot_volume_slices` draws, with their orientation.

    Row ``i`` of the figure is the slice at the centre of axis ``i``; it is shown with the
    first remaining axis pointing right and the second pointing up.

    Args:
        axcodes: nibabel's orientation codes of the volume's axes, e.g. ``("L", "A", "S")``
            from ``nibabel.aff2axcodes(image.affine)``: the direction each axis' index grows
            towards. ``None`` for a volume without anatomy (axes named 0, 1, 2).

    Returns:
        Three labels, e.g. ``"sagittal\nanterior →\nsuperior ↑"``.

    Raises:
        ValueError: if ``axcodes`` does not name three different anatomical directions.
    """
    if axcodes is None:
        return [
            f"centre of axis {i}\naxis {a} →\naxis {b} ↑"
            for i, (a, b) in enumerate([(1, 2), (0, 2), (0, 1)])
        ]
    axcodes = tuple(axcodes)
    if len(axcodes) != 3 or any(code not in _PLANES for code in axcodes):
        raise ValueError(f"axcodes must be three of L/R, A/P, S/I; got {axcodes}.")
    if len({_PLANES[code] for code in axcodes}) != 3:
        raise ValueError(f"axcodes must name three different directions; got {axcodes}.")
    labels = []
    for i in range(3):
        right, up = (axcodes[k] for k in range(3) if k != i)
        labels.append(f"{_PLANES[axcodes[i]]}\n{_TOWARDS[right]} →\n{_TOWARDS[up]} ↑")
    return labels


def plot_volume_slices(volumes, titles, cmap="gray", axcodes=None):
    """Show the three central orthogonal slices (rows) of each volume (columns).

    Colours follow one convention: grey for intensities, ``"RdBu_r"`` for signed responses
    (red positive, blue negative, white zero, on one symmetric scale shared by every signed
    panel of the figure, so they compare; it ends at the 99th percentile of ``|value|``, so a
    few extreme voxels do not wash out the rest), ``"magma"`` for non-negative responses.

    Args:
        volumes: a list of ``(n_1, n_2, n_3)`` arrays (may differ in size).
        titles: one title per volume.
        cmap: one colour map for all volumes, or one per volume.
        axcodes: orientation codes of the volumes' axes, to name the anatomical planes
            (see `slice_plane_labels`); ``None`` names the axes 0, 1, 2.
    """
    volumes = [np.asarray(volume) for volume in volumes]
    cmaps = [cmap] * len(volumes) if isinstance(cmap, str) else list(cmap)
    signed = [
        np.percentile(np.abs(v), 99) for v, c in zip(volumes, cmaps, strict=True) if c == "RdBu_r"
    ]
    panel = min(1.45, 8.9 / len(volumes))  # inches per slice; a row label takes 1.1 inches
    fig, axes = plt.subplots(
        3, len(volumes), figsize=(panel * len(volumes) + 1.1, 3 * panel + 0.5), squeeze=False
    )
    for col, (volume, title, colours) in enumerate(zip(volumes, titles, cmaps, strict=True)):
        limits = {"vmin": -max(signed), "vmax": max(signed)} if colours == "RdBu_r" else {}
        centre = [n // 2 for n in volume.shape]
        slices = (volume[centre[0]], volume[:, centre[1]], volume[:, :, centre[2]])
        for row, image in enumerate(slices):
            axes[row, col].imshow(np.rot90(image), cmap=colours, **limits)
            axes[row, col].set(xticks=[], yticks=[])
        axes[0, col].set_title(title, fontsize=9)
    for row, label in enumerate(slice_plane_labels(axcodes)):
        axes[row, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.3)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_voxels(volumes, titles, threshold: float = 0.5, cmap="magma"):
    """Draw each volume's voxels above ``threshold * max`` in 3D, coloured by value.

    Use small volumes (a pooled feature map, ``~10^3`` voxels): matplotlib draws every face.

    Args:
        volumes: a list of 3D arrays.
        titles: one title per volume.
        threshold: fraction of each volume's maximum above which a voxel is drawn.
        cmap: one colour map for all volumes, or one per volume (grey for an intensity,
            magma for a non-negative response, as in `plot_volume_slices`).
    """
    cmaps = [cmap] * len(volumes) if isinstance(cmap, str) else list(cmap)
    fig = plt.figure(figsize=(2.4 * len(volumes), 2.6))
    for index, (volume, title, colours) in enumerate(
        zip(volumes, titles, cmaps, strict=True), start=1
    ):
        volume = np.asarray(volume, dtype=float)
        scaled = volume / volume.max() if volume.max() > 0 else volume
        ax = fig.add_subplot(1, len(volumes), index, projection="3d")
        # the colour runs over the drawn range [threshold, 1], so the drawn voxels use all of it
        shade = plt.get_cmap(colours)(
            0.35 + 0.65 * np.clip((scaled - threshold) / (1 - threshold), 0, 1)
        )
        ax.voxels(scaled > threshold, facecolors=shade, edgecolor="none")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout(pad=0.2)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_video_responses(video, responses, titles, xt_rows, frames=None):
    """Show frames of a clip and of its 3D-convolution responses, and their x-t slices.

    Rows: the clip, then each response. Columns: a few frames (``y`` down, ``x`` right), then
    for each row of pixels in ``xt_rows`` the x-t slice through it (``x`` right, time down),
    in which a square moving at constant speed draws a slanted band.

    Args:
        video: ``(T, H, W)`` clip.
        responses: ``(T', H, W)`` maps of the same frame size (``T' <= T``; with valid padding in
            time, response frame ``t`` is centred on clip frame ``t + (T - T') // 2``).
        titles: one label per row: the clip's, then one per response.
        xt_rows: image rows ``y`` whose x-t slices to show.
        frames: response frame indices to show (default: first, middle, last).
    """
    video = np.asarray(video)
    offset = (len(video) - len(responses[0])) // 2
    frames = frames or (0, len(responses[0]) // 2, len(responses[0]) - 1)
    limit = max(np.abs(r).max() for r in responses)
    n_cols = len(frames) + len(xt_rows)
    fig, axes = plt.subplots(
        1 + len(responses), n_cols, figsize=(1.45 * n_cols + 1.1, 1.5 * (1 + len(responses)))
    )
    rows = [(video[offset : offset + len(responses[0])], "gray", {})]
    rows += [(r, "RdBu_r", {"vmin": -limit, "vmax": limit}) for r in responses]
    for i, (clip, cmap, limits) in enumerate(rows):
        for j, t in enumerate(frames):
            axes[i, j].imshow(clip[t], cmap=cmap, **limits)
        for j, y in enumerate(xt_rows, start=len(frames)):
            axes[i, j].imshow(clip[:, y, :], cmap=cmap, aspect="auto", **limits)
        axes[i, 0].set_ylabel(titles[i], fontsize=8, rotation=0, ha="right", va="center")
    for j, t in enumerate(frames):
        axes[0, j].set_title(f"frame {t + offset}\n(x →, y ↓)", fontsize=8)
    for j, y in enumerate(xt_rows, start=len(frames)):
        axes[0, j].set_title(f"x-t slice at y = {y}\n(x →, time ↓)", fontsize=8)
    for ax in axes.ravel():
        ax.set(xticks=[], yticks=[])
    fig.tight_layout(pad=0.3)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig
