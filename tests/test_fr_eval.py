"""The statistics of the LFW evaluation (threshold search and leave-one-fold-out accuracy)."""

from __future__ import annotations

import numpy as np

from fr_utils.lfw.evaluate import best_threshold, cross_validate, read_pairs
from workbook import data_path


def test_best_threshold_is_exact_on_a_hand_example():
    distances = np.array([0.1, 0.2, 0.35, 0.5, 0.6, 0.3])
    same = np.array([1, 1, 0, 0, 0, 1], dtype=bool)
    threshold, accuracy = best_threshold(distances, same)
    assert accuracy == 1.0 and 0.3 < threshold < 0.35  # between the last same and first different
    threshold, accuracy = best_threshold(np.array([0.1, 0.2]), np.array([False, True]))
    assert accuracy == 0.5


def test_cross_validation_picks_thresholds_on_the_other_folds():
    rng = np.random.default_rng(0)
    same = np.tile([True, False], 300)
    distances = np.where(same, rng.normal(0.3, 0.05, 600), rng.normal(0.6, 0.05, 600))
    folds = np.repeat(np.arange(1, 7), 100)
    result = cross_validate(distances, same, folds)
    assert len(result["folds"]) == 6 and result["mean_accuracy"] > 0.99
    assert all(0.4 < f["threshold"] < 0.5 for f in result["folds"])


def test_view2_pairs_are_read():
    folds, same, paths_a, paths_b = read_pairs(data_path("faces/lfw"))
    assert len(same) == 5400 and same.sum() == 2700
    assert sorted(set(folds)) == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert (data_path("faces/lfw") / paths_a[0]).is_file()
