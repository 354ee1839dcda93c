"""Tests of the ECG loader/segmentation/split and of the synthetic 3D shapes dataset."""

from __future__ import annotations

import numpy as np
import pytest

from conv_utils.ecg import class_weights, load_ecg_record, segment_beats, split_by_time
from conv_utils.shape_volumes import SHAPE_CLASSES, make_shapes_dataset, random_rotation


@pytest.fixture(scope="module")
def record():
    return load_ecg_record("208")


def test_record_208_in_millivolts_with_reference_labels(record):
    assert record.fs == 360
    assert record.leads == ("MLII", "V1")
    assert record.signal.shape == (650000, 2) and record.signal.dtype == np.float32
    assert record.duration == pytest.approx(30 * 60, abs=60)
    symbols, counts = np.unique(record.ann_symbol, return_counts=True)
    counts = dict(zip(symbols.tolist(), counts.tolist(), strict=True))
    assert (counts["N"], counts["V"], counts["F"]) == (1586, 992, 373)
    # an R peak is a local extreme of MLII: its amplitude is well away from the baseline
    first_n = record.ann_sample[record.ann_symbol == "N"][0]
    window = record.signal[first_n - 90 : first_n + 90, 0]
    assert abs(record.signal[first_n, 0] - np.median(window)) > 0.5


def test_unknown_record_and_absent_class_raise(record):
    with pytest.raises(ValueError, match="available: 100, 208"):
        load_ecg_record("999")
    with pytest.raises(ValueError, match="no beats labelled"):
        segment_beats(record, ("N", "A"))
    with pytest.raises(ValueError, match="distinct"):
        segment_beats(record, ("N", "N"))
    with pytest.raises(ValueError, match="lead"):
        segment_beats(record, lead=2)


def test_segment_beats_centres_windows_on_r_peaks(record):
    beats = segment_beats(record, ("N", "V", "F"), before=0.25, after=0.45)
    assert beats.x.shape == (len(beats), 252, 1) and beats.offset == 90
    assert beats.counts() == {"N": 1585, "V": 992, "F": 372}  # 2 beats too close to an end
    assert np.all(np.diff(beats.sample) > 0)
    k = 100
    np.testing.assert_allclose(
        beats.x[k, :, 0]
        + np.median(record.signal[beats.sample[k] - 90 : beats.sample[k] + 162, 0]),
        record.signal[beats.sample[k] - 90 : beats.sample[k] + 162, 0],
        atol=1e-6,
    )
    np.testing.assert_allclose(np.median(beats.x[..., 0], axis=1), 0, atol=1e-6)
    symbols = record.ann_symbol[np.searchsorted(record.ann_sample, beats.sample)]
    assert [beats.classes[i] for i in beats.y] == symbols.tolist()


def test_split_by_time_shares_no_sample(record):
    beats = segment_beats(record)
    train, test = split_by_time(beats, 0.7)
    assert train.sample.max() + (252 - 90) <= test.sample.min() - 90
    assert 0 < len(train) + len(test) <= len(beats)
    assert len(train) / (len(train) + len(test)) == pytest.approx(0.7, abs=0.02)
    assert all(count > 50 for count in test.counts().values())
    with pytest.raises(ValueError):
        split_by_time(beats, 1.0)


def test_class_weights_balance_the_loss():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    weights = class_weights(labels, 3)
    assert weights == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    totals = [weights[k] * np.sum(labels == k) for k in range(3)]
    assert totals == pytest.approx([10 / 3] * 3)
    with pytest.raises(ValueError, match="every class"):
        class_weights(np.array([0, 0, 2]), 3)


def test_random_rotation_is_a_rotation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        rotation = random_rotation(rng)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_shapes_dataset_is_balanced_deterministic_and_shaped():
    volumes, labels = make_shapes_dataset(6, size=16, noise=0.1, seed=3)
    assert volumes.shape == (18, 16, 16, 16, 1) and volumes.dtype == np.float32
    assert np.bincount(labels).tolist() == [6, 6, 6]
    again, labels_again = make_shapes_dataset(6, size=16, noise=0.1, seed=3)
    np.testing.assert_array_equal(volumes, again)
    np.testing.assert_array_equal(labels, labels_again)
    other, _ = make_shapes_dataset(6, size=16, noise=0.1, seed=4)
    assert not np.allclose(volumes, other)


def test_shapes_look_like_their_class():
    volumes, labels = make_shapes_dataset(10, size=24, noise=0.0, seed=0)
    solid = volumes[..., 0] > 0.35
    for volume, label in zip(solid, labels, strict=True):
        inside = np.argwhere(volume)
        centre = inside.mean(axis=0)
        radii = np.linalg.norm(inside - centre, axis=1)
        if SHAPE_CLASSES[label] == "torus":  # a hole: nothing solid at its centre
            assert not volume[tuple(np.round(centre).astype(int))]
        else:
            assert volume[tuple(np.round(centre).astype(int))]
        if SHAPE_CLASSES[label] == "sphere":  # every solid voxel within ~r of the centre
            assert radii.max() - np.percentile(radii, 90) < 2.0


def test_shapes_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_per_class"):
        make_shapes_dataset(0)
    with pytest.raises(ValueError, match="size"):
        make_shapes_dataset(1, size=4)
    with pytest.raises(ValueError, match="noise"):
        make_shapes_dataset(1, noise=-1)
