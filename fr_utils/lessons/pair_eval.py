"""Face verification on held-out people: pairs, distances, a threshold, an accuracy (notebook 03).

Verification asks "are these two photos the same person?". With an embedding ``f`` we answer
*yes* when ``||f(x_1) - f(x_2)|| <= threshold``. To measure how well an embedding does this on
people it never saw in training, we form pairs of photos of held-out people: every *genuine*
pair (same person) and as many randomly drawn *impostor* pairs (different people), so that
guessing gives 50 %. The threshold is fitted on one group of held-out people
(`fr_utils.metrics.best_threshold`) and the accuracy is reported on another;
`evaluate_held_out` does both and adds the threshold-free area under the ROC curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fr_utils.metrics import best_threshold, verification_accuracy

__all__ = [
    "HeldOutVerification",
    "balanced_pairs",
    "evaluate_held_out",
    "pair_distances",
]


def balanced_pairs(labels, seed: int = 0, max_genuine: int | None = None):
    """Return balanced genuine and impostor pairs of indices into ``labels``.

    Args:
        labels: ``(n,)`` int identity labels.
        seed: seed for drawing the impostor pairs (and for subsampling genuine pairs).
        max_genuine: keep at most this many genuine pairs (random subset); ``None`` keeps all.

    Returns:
        ``(pairs, same)``: ``pairs`` is an ``(m, 2)`` int64 array of index pairs ``i < j``, the
        genuine pairs first; ``same`` is the ``(m,)`` bool array saying which are genuine.
        There are as many impostor pairs as genuine ones.

    Raises:
        ValueError: when no person has two photos or there is only one person.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    first, second = np.triu_indices(len(labels), k=1)
    genuine = labels[first] == labels[second]
    if not genuine.any() or genuine.all():
        raise ValueError("Need at least two photos of one person and photos of two people.")
    genuine_pairs = np.stack([first[genuine], second[genuine]], axis=1)
    if max_genuine is not None and len(genuine_pairs) > max_genuine:
        keep = rng.choice(len(genuine_pairs), max_genuine, replace=False)
        genuine_pairs = genuine_pairs[np.sort(keep)]
    impostor_pairs = np.stack([first[~genuine], second[~genuine]], axis=1)
    count = min(len(genuine_pairs), len(impostor_pairs))
    impostor_pairs = impostor_pairs[np.sort(rng.choice(len(impostor_pairs), count, replace=False))]
    pairs = np.concatenate([genuine_pairs[:count], impostor_pairs])
    same = np.repeat([True, False], count)
    return pairs, same


def pair_distances(embeddings, pairs) -> np.ndarray:
    """Return the plain (not squared) L2 distance of each pair, ``(m,)`` float64."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    pairs = np.asarray(pairs)
    return np.linalg.norm(embeddings[pairs[:, 0]] - embeddings[pairs[:, 1]], axis=1)


@dataclass(frozen=True)
class HeldOutVerification:
    """Verification results of one embedding on two groups of held-out people.

    Attributes:
        threshold: L2 distance threshold fitted on the validation pairs.
        val_accuracy: accuracy on the validation pairs at that threshold (optimistic: fitted there).
        test_accuracy: accuracy on the test pairs at that threshold (the honest number).
        test_auc: area under the ROC curve on the test pairs (threshold-free; 0.5 = chance).
        test_distances: ``(m,)`` L2 distance of every test pair.
        test_same: ``(m,)`` bool, which test pairs are genuine.
    """

    threshold: float
    val_accuracy: float
    test_accuracy: float
    test_auc: float
    test_distances: np.ndarray
    test_same: np.ndarray


def evaluate_held_out(val_codes, val_labels, test_codes, test_labels, seed: int = 0):
    """Fit a threshold on validation people and measure verification on test people.

    Args:
        val_codes, test_codes: ``(n, d)`` embeddings of the two groups' photos.
        val_labels, test_labels: ``(n,)`` identity labels (the groups share no person).
        seed: seed of `balanced_pairs`.

    Returns:
        A `HeldOutVerification`.
    """
    from sklearn.metrics import roc_auc_score

    val_pairs, val_same = balanced_pairs(val_labels, seed=seed)
    test_pairs, test_same = balanced_pairs(test_labels, seed=seed + 1)
    val_distances = pair_distances(val_codes, val_pairs)
    test_distances = pair_distances(test_codes, test_pairs)
    threshold = best_threshold(val_distances, val_same)
    return HeldOutVerification(
        threshold=threshold,
        val_accuracy=verification_accuracy(val_distances, val_same, threshold),
        test_accuracy=verification_accuracy(test_distances, test_same, threshold),
        test_auc=float(roc_auc_score(test_same, -test_distances)),
        test_distances=test_distances,
        test_same=test_same,
    )
