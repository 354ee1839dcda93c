"""Tests of notebook 10's figures (`conv_utils.plots`) and of `models.receptive_field`."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from conv_utils.models import build_beat_classifier, build_shape_classifier, receptive_field
from conv_utils.plots import plot_confusion, plot_volume_slices, slice_plane_labels

matplotlib.use("Agg")


def test_slice_planes_are_named_with_their_orientation():
    assert slice_plane_labels(("L", "A", "S")) == [
        "sagittal\nanterior →\nsuperior ↑",
        "coronal\nleft →\nsuperior ↑",
        "axial\nleft →\nanterior ↑",
    ]
    assert slice_plane_labels(("A", "R", "I"))[0] == "coronal\nright →\ninferior ↑"
    assert slice_plane_labels()[1] == "centre of axis 1\naxis 0 →\naxis 2 ↑"
    with pytest.raises(ValueError, match="different directions"):
        slice_plane_labels(("L", "R", "S"))
    with pytest.raises(ValueError, match="three of"):
        slice_plane_labels(("L", "A"))


def test_volume_slices_label_the_rows_and_share_one_signed_scale():
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(6, 7, 5))
    fig = plot_volume_slices(
        [volume, volume, 3 * volume],
        ["image", "d", "3d"],
        cmap=["gray", "RdBu_r", "RdBu_r"],
        axcodes=("L", "A", "S"),
    )
    axes = np.array(fig.axes).reshape(3, 3)
    assert [ax.get_ylabel().split("\n")[0] for ax in axes[:, 0]] == ["sagittal", "coronal", "axial"]
    limit = 3 * np.percentile(np.abs(volume), 99)  # a few extreme voxels saturate
    for ax in axes[:, 1:].ravel():
        assert ax.images[0].get_clim() == pytest.approx((-limit, limit))
    assert axes[0, 0].images[0].get_cmap().name == "gray"


def test_confusion_matrix_shows_counts_row_fractions_and_a_colour_bar():
    fig = plot_confusion(np.array([[90, 10], [5, 5]]), ["N\nnormal", "F\nfusion"], "beats")
    ax, colour_bar = fig.axes
    texts = [text.get_text() for text in ax.texts]
    assert texts == ["90\n90%", "10\n10%", "5\n50%", "5\n50%"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["N\nnormal", "F\nfusion"]
    assert ax.images[0].get_array()[1, 0] == pytest.approx(0.5)  # coloured by the row's share
    assert "fraction" in colour_bar.get_ylabel()


def test_receptive_field_multiplies_the_strides():
    assert receptive_field(build_beat_classifier(252, 3)) == (83, 9)  # 15 + 2 + 8*3 + 2*3 + 4*9
    assert receptive_field(build_shape_classifier(20, 3)) == (18, 4)
    dilated = keras.Sequential(
        [keras.Input((50, 1)), keras.layers.Conv1D(2, 3, strides=2, dilation_rate=1)]
        + [keras.layers.Conv1D(2, 3, dilation_rate=2)]
    )
    assert receptive_field(dilated) == (1 + 2 + 4 * 2, 2)
