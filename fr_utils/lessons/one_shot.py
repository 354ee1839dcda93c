"""Verification (1:1) versus recognition (1:K) with a similarity function (notebooks 01 and 05).

A face system learns a similarity function ``d(img1, img2) = ||f(img1) - f(img2)||^2``
and a threshold ``tau``: "same person" when ``d <= tau``. Verification compares a photo
with ONE claimed identity; recognition compares it with all ``K`` people in a database
and answers with the nearest one if it is within ``tau``. Every extra enrolled person
is one more chance for a stranger to fall within ``tau`` of somebody, so a verifier
with false-accept rate ``p`` gives a recognition system whose false-accept rate is about
``1 - (1 - p)^K ~= K p`` for small ``K p``: the lecture's "K times harder" argument.
The functions here measure that on real encodings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "predicted_false_accept_rate",
    "recognition_errors",
    "squared_distance_matrix",
    "verification_pairs",
]


def squared_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return ``D[i, j] = ||a_i - b_j||^2`` for row sets ``a (n, d)`` and ``b (m, d)``.

    Uses ``||a||^2 + ||b||^2 - 2 a.b`` (one matrix product) and clips tiny negative
    round-off to zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


def verification_pairs(
    encodings: np.ndarray, names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Return the squared distance and the "same person" flag of every unordered pair of rows.

    Args:
        encodings: ``(n, d)`` encodings.
        names: the ``n`` identities.

    Returns:
        ``(distances, same)``: float64 and bool arrays of length ``n (n - 1) / 2``.
    """
    labels = np.asarray(names)
    rows, cols = np.triu_indices(len(labels), k=1)
    distances = squared_distance_matrix(encodings, encodings)[rows, cols]
    return distances, labels[rows] == labels[cols]


def predicted_false_accept_rate(p: float, gallery_sizes: Sequence[int]) -> np.ndarray:
    """Return ``1 - (1 - p)^K`` for each ``K``: a stranger's chance to match one of ``K`` people.

    Assumes independent comparisons, each falsely accepted with probability ``p``.
    """
    return 1.0 - (1.0 - p) ** np.asarray(gallery_sizes, dtype=np.float64)


def recognition_errors(
    encodings: np.ndarray,
    names: Sequence[str],
    gallery_sizes: Sequence[int],
    threshold: float,
    n_trials: int = 500,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Simulate a one-shot recognition system for several database sizes ``K``.

    For each ``K`` and each of ``n_trials`` trials: enrol ``K`` random people who have at
    least two images (one random image each), then
    * a *genuine* probe (another image of a random enrolled person) is *misidentified*
      when the nearest enrolled face within ``threshold`` belongs to someone else, and
      *rejected* when no enrolled face is within ``threshold``;
    * an *impostor* probe (an image of a random person who is not enrolled) is *falsely
      accepted* when any enrolled face is within ``threshold``.

    Args:
        encodings: ``(n, d)`` encodings; distances are squared L2, as ``threshold``.
        names: the ``n`` identities.
        gallery_sizes: the ``K`` values to try (each at most the number of people with
            two or more images).
        threshold: ``tau`` on the squared distance.
        n_trials: trials per ``K``.
        seed: seed of the random choices.

    Returns:
        ``{"gallery_sizes", "false_accept", "misidentified", "false_reject"}``: arrays of
        rates (fractions of probes), one value per ``K``.
    """
    labels = np.asarray(names)
    people, counts = np.unique(labels, return_counts=True)
    enrollable = people[counts >= 2]
    rows_of = {person: np.flatnonzero(labels == person) for person in people}
    if max(gallery_sizes) > len(enrollable):
        raise ValueError(
            f"gallery size {max(gallery_sizes)} > {len(enrollable)} people with 2+ images"
        )
    rng = np.random.default_rng(seed)
    rates = {key: [] for key in ("false_accept", "misidentified", "false_reject")}
    for k in gallery_sizes:
        fa = mis = rej = 0
        for _ in range(n_trials):
            gallery_people = rng.choice(enrollable, size=k, replace=False)
            picks = [rng.permutation(rows_of[p])[:2] for p in gallery_people]
            gallery = np.array([p[0] for p in picks])
            target = rng.integers(k)
            genuine = picks[target][1]
            strangers = np.setdiff1d(people, gallery_people)
            impostor = rng.choice(rows_of[rng.choice(strangers)])
            d = squared_distance_matrix(encodings[[genuine, impostor]], encodings[gallery])
            nearest = int(np.argmin(d[0]))
            if d[0, nearest] > threshold:
                rej += 1
            elif nearest != target:
                mis += 1
            fa += bool(d[1].min() <= threshold)
        rates["false_accept"].append(fa / n_trials)
        rates["misidentified"].append(mis / n_trials)
        rates["false_reject"].append(rej / n_trials)
    result = {key: np.array(value) for key, value in rates.items()}
    result["gallery_sizes"] = np.asarray(gallery_sizes)
    return result
