"""The one threshold rule (fr_utils.metrics) and the LFW evaluation's pairs."""

from __future__ import annotations

import numpy as np
import pytest

from fr_utils.lfw.pairs import read_pairs
from fr_utils.metrics import (
    best_threshold,
    check_threshold,
    cross_validate,
    is_match,
    verification_accuracy,
)
from workbook import data_path


def test_best_threshold_is_exact_on_a_hand_example():
    distances = np.array([0.1, 0.2, 0.35, 0.5, 0.6, 0.3])
    same = np.array([1, 1, 0, 0, 0, 1], dtype=bool)
    threshold = best_threshold(distances, same)
    assert 0.3 < threshold < 0.35  # between the last same and first different
    assert verification_accuracy(distances, same, threshold) == 1.0
    threshold = best_threshold(np.array([0.1, 0.2]), np.array([False, True]))
    assert verification_accuracy(np.array([0.1, 0.2]), np.array([False, True]), threshold) == 0.5


def test_the_rule_is_at_most_the_threshold():
    assert is_match(0.43, 0.43) is True and is_match(0.4300001, 0.43) is False
    np.testing.assert_array_equal(is_match(np.array([0.1, 0.5, 0.9]), 0.5), [True, True, False])
    # a pair exactly at a candidate threshold is accepted: accuracy uses the same rule
    assert verification_accuracy([0.5, 0.7], [True, False], 0.5) == 1.0


def test_ties_cannot_be_split_and_the_middle_of_equal_scores_is_chosen():
    # the two 0.4s are one genuine and one impostor: no threshold separates them
    distances = np.array([0.1, 0.4, 0.4, 0.9])
    same = np.array([True, True, False, False])
    threshold = best_threshold(distances, same)
    assert verification_accuracy(distances, same, threshold) == 0.75
    # cuts at 0.25 and at 0.65 both reach 3/4: of the best ones, the middle (here the 2nd)
    assert threshold == pytest.approx(0.65)


def test_balanced_criterion_weighs_the_rare_kind_equally():
    # 2 genuine pairs among 10: accuracy prefers rejecting everything, balanced does not
    distances = np.array([0.3, 0.35, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    same = np.array([True, True] + [False] * 8)
    assert verification_accuracy(distances, same, best_threshold(distances, same)) >= 0.8
    tau = best_threshold(distances, same, criterion="balanced")
    assert is_match(0.35, tau) and is_match(0.3, tau)
    with pytest.raises(ValueError, match="criterion"):
        best_threshold(distances, same, criterion="f1")
    with pytest.raises(ValueError, match="equal-length"):
        best_threshold(distances[:3], same)


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), "x", None])
def test_check_threshold_refuses_what_cannot_be_a_distance(bad):
    with pytest.raises(ValueError, match="--threshold"):
        check_threshold(bad, "--threshold")
    assert check_threshold("0.5") == 0.5


def test_cross_validation_picks_thresholds_on_the_other_folds():
    rng = np.random.default_rng(0)
    same = np.tile([True, False], 300)
    distances = np.where(same, rng.normal(0.3, 0.05, 600), rng.normal(0.6, 0.05, 600))
    folds = np.repeat(np.arange(1, 7), 100)
    result = cross_validate(distances, same, folds)
    assert len(result["folds"]) == 6 and result["mean_accuracy"] > 0.99
    assert all(0.4 < f["threshold"] < 0.5 for f in result["folds"])


def test_view2_pairs_are_read():
    folds, same, paths_a, paths_b = read_pairs("view2", data_path("faces/lfw"))
    assert len(same) == 5400 and same.sum() == 2700
    assert sorted(set(folds)) == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert (data_path("faces/lfw") / paths_a[0]).is_file()
