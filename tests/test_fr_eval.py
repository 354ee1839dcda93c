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


# ---------------------------------------------------------------- the evaluation's statistics
def test_roc_auc_counts_ordered_pairs_and_half_ties():
    from sklearn.metrics import roc_auc_score

    from fr_utils.lfw.evaluate import roc_auc

    # genuine {0.1, 0.5}, impostor {0.3, 0.5, 0.9}: of 6 (genuine, impostor) pairs, the genuine
    # is closer in 0.1<0.3, 0.1<0.5, 0.1<0.9, 0.5<0.9 and tied once (0.5, 0.5): 4.5 / 6
    distances = np.array([0.1, 0.5, 0.3, 0.5, 0.9])
    same = np.array([True, True, False, False, False])
    assert roc_auc(distances, same) == pytest.approx(4.5 / 6)
    rng = np.random.default_rng(1)
    d, s = rng.random(300), rng.random(300) < 0.5
    assert roc_auc(d, s) == pytest.approx(roc_auc_score(s, -d))
    with pytest.raises(ValueError, match="both genuine and impostor"):
        roc_auc(d, np.ones(300, bool))


def test_pair_statistics_on_synthetic_pairs():
    from fr_utils.lfw.evaluate import pair_statistics

    rng = np.random.default_rng(0)
    same = np.tile([True, False], 450)
    folds = np.repeat(np.arange(1, 10), 100)
    distances = np.where(same, rng.normal(0.30, 0.04, 900), rng.normal(0.60, 0.04, 900))
    distances[0] = 0.9  # one genuine pair that no threshold can get right
    stats = pair_statistics(distances, same, folds, default_threshold=0.45)
    assert stats["mean_accuracy"] == pytest.approx(899 / 900, abs=1e-9)
    assert len(stats["folds"]) == 9 and stats["std_accuracy"] > 0  # fold 1 holds the miss
    assert stats["accuracy_at_default"] == pytest.approx(899 / 900)
    assert 0.40 < stats["best_threshold"] < 0.50 and stats["accuracy_at_best"] == 899 / 900
    assert 0.99 < stats["roc_auc"] < 1
    assert stats["same_distance_mean"] < 0.35 < 0.55 < stats["different_distance_mean"]
    # a default threshold far off costs accuracy the cross-validation does not see
    assert pair_statistics(distances, same, folds, 0.2)["accuracy_at_default"] < 0.6


def test_a_pair_with_a_faceless_photo_is_never_the_same_person():
    from fr_utils.lfw.evaluate import NO_FACE_DISTANCE, _distances

    encoded = {
        "names": np.array(["a.jpg", "b.jpg", "c.jpg"]),
        "found": np.array([True, True, False]),
        "enc": np.eye(3, 128, dtype=np.float32),
    }
    distances, missing = _distances(encoded, "enc", ["a.jpg", "a.jpg"], ["b.jpg", "c.jpg"])
    assert distances[0] == pytest.approx(np.sqrt(2)) and distances[1] == NO_FACE_DISTANCE
    assert missing == 1 and not is_match(NO_FACE_DISTANCE, 2.0)


def test_the_cache_is_keyed_verified_and_atomic(tmp_path):
    from fr_utils.lfw import _cache

    path = tmp_path / "c.npz"
    key = {"weights": "abc", "jitters": [0, 10]}
    _cache.save(path, key, names=np.array(["x"]), values=np.arange(3.0))
    loaded = _cache.load(path, key)
    assert loaded is not None and loaded["values"].tolist() == [0, 1, 2]
    assert _cache.load(path, {**key, "jitters": [0]}) is None  # other options: recompute
    assert _cache.load(tmp_path / "missing.npz", key) is None
    with np.load(path) as data:  # same key, different numbers: the checksum refuses them
        meta = data["_meta"]
    np.savez(path, _meta=meta, names=np.array(["x"]), values=np.arange(3.0) + 1)
    assert _cache.load(path, key) is None
    path.write_bytes(b"not a zip")
    assert _cache.load(path, key) is None
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_the_report_lists_every_variant():
    from fr_utils.lfw.evaluate import _markdown, pair_statistics

    same = np.tile([True, False], 50)
    stats = pair_statistics(np.where(same, 0.3, 0.6), same, np.repeat([1, 2], 50), 0.43)
    variant = {
        "name": "ours", "pipeline": "ours", "alignment": "mtcnn", "num_jitters": 0,
        "no_face_images": 1, "no_face_list": ["A/A_0001.jpg"], "ambiguous_images": 3,
        "weak_images": 4, "pairs_without_face": 2, **stats,
    }  # fmt: skip
    result = {
        "model": "m", "pairs": 100, "pairs_listed": 100, "images": 80, "folds": [1, 2],
        "threshold_rederived": 0.45, "library_threshold": 0.45, "versions": {"mtcnn": "1"},
        "default_alignment": "mtcnn",
        "variants": [
            variant, {**variant, "name": "dlib", "ambiguous_images": None, "weak_images": None}
        ],
    }  # fmt: skip
    text = _markdown(result)
    assert "| ours | 100.00% ± 0.00% | 100.00% (τ 0.430)" in text and "| dlib |" in text
    assert "| 1 | 3 | 4 |" in text and "| 1 | - | - |" in text  # no face, ambiguous, weak
    assert "default alignment (`fr_utils.faces.DEFAULT_ALIGNMENT`): 'mtcnn'" in text
    assert text.count("\n| 1 |") == 1 and "**0.4500**" in text
    assert '1 photos without a face, 2 pairs scored "different": A/A_0001.jpg' in text


@pytest.fixture(scope="module")
def encoder():
    import fr_utils

    return fr_utils.load_face_model()


@pytest.mark.slow
@pytest.mark.parametrize("alignment", [None, "mtcnn", "dlib"])
def test_the_evaluation_encodes_exactly_as_img_to_encoding_and_caches(
    encoder, tmp_path, monkeypatch, alignment
):
    import fr_utils
    from fr_utils.lfw import evaluate

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    root = data_path("faces/lfw")
    names = ["Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg"]
    chosen = {} if alignment is None else {"alignment": alignment}  # None: the default
    result = evaluate.encode_images(
        root, names, encoder, jitters=(0, 2), log=lambda m: None, **chosen
    )
    assert result["found"].all() and list(result["names"]) == names
    for i, name in enumerate(names):
        for j in (0, 2):
            api = fr_utils.img_to_encoding(root / name, encoder, num_jitters=j, **chosen)
            np.testing.assert_allclose(result[f"encoding_j{j}"][i], api[0], atol=1e-6)
    monkeypatch.setattr(fr_utils.faces, "align_face", lambda *a, **k: pytest.fail("recomputed"))
    again = evaluate.encode_images(
        root, names, encoder, jitters=(2, 0), log=lambda m: None, **chosen
    )
    np.testing.assert_array_equal(again["encoding_j2"], result["encoding_j2"])
    other = {"alignment": "mtcnn" if alignment == "dlib" else "dlib"}
    with pytest.raises(pytest.fail.Exception, match="recomputed"):  # another alignment: own cache
        evaluate.encode_images(root, names, encoder, log=lambda m: None, **other)


@pytest.mark.slow
def test_the_evaluation_counts_a_photo_whose_only_face_is_weak(encoder, tmp_path, monkeypatch):
    import fr_utils
    from fr_utils.lfw import evaluate

    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    root = data_path("faces/lfw")
    names = ["Gennifer_Flowers/Gennifer_Flowers_0001.jpg"]  # one face, at 0.893
    result = evaluate.encode_images(root, names, encoder, log=lambda m: None)
    assert result["found"].all() and result["weak"].all() and not result["ambiguous"].any()
    api = fr_utils.img_to_encoding(root / names[0], encoder, weak="ignore")
    np.testing.assert_allclose(result["encoding_j0"], api, atol=1e-6)


@pytest.mark.slow
def test_dlibs_own_pipeline_when_installed(tmp_path, monkeypatch):
    from fr_utils.lfw import evaluate

    if not evaluate.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin)")
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path))
    names = ["Abel_Pacheco/Abel_Pacheco_0001.jpg"]
    result = evaluate.encode_images_dlib(data_path("faces/lfw"), names, log=lambda m: None)
    assert result["found"].all() and result["faces"][0] == 1
    np.testing.assert_array_equal(result["first_j0"], result["rule_j0"])  # one face: same
    assert 1.1 < np.linalg.norm(result["first_j0"][0]) < 1.7  # dlib's raw descriptors


def test_the_report_says_which_alignment_scores_higher():
    from fr_utils.lfw.evaluate import _goals, pair_statistics

    same = np.tile([True, False], 50)
    folds = np.repeat([1, 2], 50)
    clean = pair_statistics(np.where(same, 0.3, 0.6), same, folds, 0.43)
    worse = np.where(same, 0.3, 0.6)
    worse[::10] = 0.9  # every 10th pair is a genuine pair far apart: 90% at best
    noisy = pair_statistics(worse, same, folds, 0.43)
    variant = {"pipeline": "ours", "num_jitters": 0}
    default = {**variant, "alignment": "mtcnn", **noisy}
    other = {**variant, "alignment": "dlib", **clean}
    lines = "\n".join(_goals([default, other]))
    assert "alignments, cross-validated without jitter: 'dlib' 100.00%" in lines
    assert "the default 'mtcnn' is NOT the higher" in lines
    assert "the default is the higher" in "\n".join(_goals([other, default]))


def test_paired_comparison_counts_the_pairs_only_one_variant_gets_right():
    from fr_utils.lfw.evaluate import pair_statistics, paired_comparison

    same = np.tile([True, False], 50)
    folds = np.repeat([1, 2], 50)
    good = np.where(same, 0.3, 0.6)
    bad = good.copy()
    bad[:20:2] = 0.9  # 10 genuine pairs of fold 1 pushed far apart
    variants = [{"_distances": d, **pair_statistics(d, same, folds, 0.43)} for d in (good, bad)]
    result = paired_comparison(variants[0], variants[1], same, folds)
    assert result["only_this"] == 10 and result["only_reference"] == 0
    assert result["p_value"] == pytest.approx(2 / 2**10)
    assert paired_comparison(variants[0], variants[0], same, folds)["p_value"] == 1.0


def test_saved_results_load_and_a_missing_file_says_how_to_make_it(tmp_path):
    from fr_utils.lfw.evaluate import load_results

    path = tmp_path / "results.json"
    path.write_text('{"variants": [], "threshold_rederived": 0.42}', encoding="utf-8")
    assert load_results(path)["threshold_rederived"] == 0.42
    with pytest.raises(FileNotFoundError, match="python -m fr_utils.lfw.evaluate --results"):
        load_results(tmp_path / "none.json")


def test_the_librarys_threshold_and_alignment_are_those_of_the_committed_run():
    """DLIB_THRESHOLD is the re-derived threshold of the committed LFW run, rounded; the
    default alignment is the one that run scored higher (cross-validated, without jitter)."""
    from fr_utils.encoder import DLIB_THRESHOLD
    from fr_utils.faces import DEFAULT_ALIGNMENT
    from fr_utils.lfw.evaluate import load_results

    result = load_results()
    assert result["default_alignment"] == DEFAULT_ALIGNMENT
    assert abs(result["threshold_rederived"] - DLIB_THRESHOLD) < 5e-4
    assert result["library_threshold"] == DLIB_THRESHOLD
    plain = [v for v in result["variants"] if v["pipeline"] == "ours" and v["num_jitters"] == 0]
    assert max(plain, key=lambda v: v["mean_accuracy"])["alignment"] == DEFAULT_ALIGNMENT
