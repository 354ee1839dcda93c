"""Small fixed-size figures for notebook 10: ECG traces, beats, filters, volume slices.

Every function draws one figure, closes it (so the inline backend does not show it a second
time) and returns it, so a notebook cell can end on the call and show the figure once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from conv_utils.ecg import Beats, EcgRecord

__all__ = [
    "plot_beats",
    "plot_confusion",
    "plot_ecg",
    "plot_filter_responses",
    "plot_voxels",
    "plot_volume_slices",
]

_CLASS_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange")


def plot_ecg(record: EcgRecord, start: float = 0.0, seconds: float = 10.0, lead: int = 0):
    """Plot ``seconds`` of one lead from ``start`` (s), with each beat's label at its R peak."""
    first, last = round(start * record.fs), round((start + seconds) * record.fs)
    time = np.arange(first, last) / record.fs
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.plot(time, record.signal[first:last, lead], lw=0.8, color="k")
    inside = (record.ann_sample >= first) & (record.ann_sample < last)
    top = record.signal[first:last, lead].max()
    for sample, symbol in zip(record.ann_sample[inside], record.ann_symbol[inside], strict=True):
        colour = {"N": "tab:blue", "V": "tab:red", "F": "tab:green"}.get(symbol, "gray")
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
        colour = _CLASS_COLOURS[k % len(_CLASS_COLOURS)]
        ax.plot(time_ms, beats.x[chosen, :, 0].T, color=colour, lw=0.4, alpha=0.3)
        ax.plot(time_ms, beats.x[members, :, 0].mean(axis=0), color="k", lw=1.5)
        ax.set_title(f"{name} ({len(members)} beats)", fontsize=10)
        ax.set_xlabel("ms from R peak")
    np.atleast_1d(axes)[0].set_ylabel("mV")
    fig.tight_layout()
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_confusion(matrix: np.ndarray, classes, title: str = "test beats"):
    """Draw a confusion matrix (rows: true class, columns: predicted) with its counts."""
    fig, ax = plt.subplots(figsize=(3.2, 2.8))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ticks = range(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes)
    ax.set(xlabel="predicted", ylabel="true", title=title)
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
        colour = _CLASS_COLOURS[k % len(_CLASS_COLOURS)]
        axes[0, 1].plot(time_ms, beats.x[beats.y == k, :, 0].mean(0), color=colour, label=name)
    axes[0, 1].legend(fontsize=7, ncol=len(beats.classes), loc="upper right")
    axes[0, 1].set_title("mean beat per class (top), mean activation of each filter", fontsize=9)
    for j in range(n_filters):
        axes[j + 1, 0].bar(np.arange(kernel.shape[0]), kernel[:, 0, j], color="gray")
        axes[j + 1, 0].set_ylabel(f"filter {j}", fontsize=8)
        for k in range(len(beats.classes)):
            colour = _CLASS_COLOURS[k % len(_CLASS_COLOURS)]
            axes[j + 1, 1].plot(time_ms, activations[beats.y == k, :, j].mean(0), color=colour)
    for ax in axes.ravel():
        ax.tick_params(labelsize=7)
    axes[-1, 1].set_xlabel("ms from R peak", fontsize=8)
    axes[-1, 0].set_xlabel("tap", fontsize=8)
    fig.tight_layout(h_pad=0.2)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_volume_slices(volumes, titles, cmap: str = "gray"):
    """Show the three central orthogonal slices (rows) of each volume (columns).

    Args:
        volumes: a list of ``(n_1, n_2, n_3)`` arrays (may differ in size).
        titles: one title per volume.
    """
    fig, axes = plt.subplots(3, len(volumes), figsize=(1.7 * len(volumes), 5.0), squeeze=False)
    for col, (volume, title) in enumerate(zip(volumes, titles, strict=True)):
        volume = np.asarray(volume)
        centre = [n // 2 for n in volume.shape]
        slices = (volume[centre[0]], volume[:, centre[1]], volume[:, :, centre[2]])
        for row, image in enumerate(slices):
            axes[row, col].imshow(np.rot90(image), cmap=cmap)
            axes[row, col].axis("off")
        axes[0, col].set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig


def plot_voxels(volumes, titles, threshold: float = 0.5):
    """Draw each volume's voxels above ``threshold * max`` in 3D, coloured by value.

    Use small volumes (a pooled feature map, ``~10^3`` voxels): matplotlib draws every face.
    """
    fig = plt.figure(figsize=(2.4 * len(volumes), 2.6))
    for index, (volume, title) in enumerate(zip(volumes, titles, strict=True), start=1):
        volume = np.asarray(volume, dtype=float)
        scaled = volume / volume.max() if volume.max() > 0 else volume
        ax = fig.add_subplot(1, len(volumes), index, projection="3d")
        ax.voxels(scaled > threshold, facecolors=plt.cm.viridis(scaled), edgecolor="none")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout(pad=0.2)
    plt.close(fig)  # the returned figure displays once, as the cell's value
    return fig
