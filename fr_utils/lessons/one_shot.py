"""Verification (1:1) versus recognition (1:K) with a similarity function (notebooks 01 and 05).

A face system learns a similarity function ``d(img1, img2) = ||f(img1) - f(img2)||^2``
and a threshold ``tau``: "same person" when ``d <= tau``. Verification compares a photo
with ONE claimed identity; recognition compares it with all ``K`` people in a database
and answers with the nearest one if it is within ``tau``. Every extra enrolled person
is one more chance for a stranger to fall within ``tau`` of somebody, so a verifier
with false-accept rate ``p`` gives a recognition system whose false-accept rate is about
``1 - (1 - p)^K ~= K p`` for small ``K p``: the lecture's "K times harder" argument.
The functions here measure that on real encodings.

The lecture first tries the obvious alternative and drops it: a softmax with one output per
enrolled person plus one for "nobody". `door_split`, `train_softmax` and `SoftmaxClassifier`
build that classifier on the encodings of ``K`` people so notebook 01 can measure where it
fails (one photo per person to learn from; a newcomer it cannot name until the output
layer grows and everything is trained again), next to `identify`, the similarity
function's answer to the same question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fr_utils.metrics import is_match

__all__ = [
    "NOBODY",
    "DoorSplit",
    "SoftmaxClassifier",
    "door_split",
    "identify",
    "predicted_false_accept_rate",
    "recognition_errors",
    "squared_distance_matrix",
    "train_softmax",
    "verification_pairs",
]

#: The label of the softmax's last class, and `identify`'s answer for a face nobody enrolled.
NOBODY = -1


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


@dataclass(frozen=True)
class DoorSplit:
    """Who is enrolled at the softmax door, who trains its "nobody" class, who comes to it.

    All fields are row indices into the encodings, except ``known`` and ``newcomer`` (names).

    Attributes:
        known: the ``K`` enrolled people, in class order ``0..K-1``.
        enrol: ``(K, max_shots)`` their enrolment photos; use the first ``shots`` columns.
        probes: photos of the known people that are never enrolled (the test), and
            ``probe_labels`` their class (``0..K-1``).
        nobody: one photo each of people who train the "nobody" class.
        strangers: one photo each of other people who come to the door (the test).
        newcomer: a person who joins after the classifier was trained;
            ``newcomer_rows`` their photos (the first one enrols them).
    """

    known: tuple[str, ...]
    enrol: np.ndarray
    probes: np.ndarray
    probe_labels: np.ndarray
    nobody: np.ndarray
    strangers: np.ndarray
    newcomer: str
    newcomer_rows: np.ndarray


def door_split(names: Sequence[str], n_known: int, max_shots: int, n_nobody: int, seed: int = 0):
    """Divide the people of an encoding set into the roles of the softmax-door experiment.

    The ``n_known`` enrolled people and the newcomer are drawn among the people with more
    than ``max_shots`` photos, so each keeps photos that were never enrolled; the "nobody"
    trainers and the strangers are disjoint sets of people with a single photo.

    Args:
        names: the identity of each row.
        n_known: people enrolled (``K``).
        max_shots: the most enrolment photos per person the experiment will use.
        n_nobody: people whose photo trains the "nobody" class.
        seed: seed of the draws.

    Returns:
        A `DoorSplit`.

    Raises:
        ValueError: not enough people with enough photos, or with a single photo.
    """
    labels = np.asarray(names)
    people, counts = np.unique(labels, return_counts=True)
    many, single = people[counts > max_shots], people[counts == 1]
    if len(many) < n_known + 1 or len(single) <= n_nobody:
        raise ValueError(
            f"Need {n_known + 1} people with more than {max_shots} photos (have {len(many)}) and"
            f" more than {n_nobody} with one photo (have {len(single)}): lower the numbers."
        )
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(many)[: n_known + 1]
    rows = [rng.permutation(np.flatnonzero(labels == person)) for person in chosen]
    singles = np.array([np.flatnonzero(labels == p)[0] for p in rng.permutation(single)])
    return DoorSplit(
        known=tuple(str(p) for p in chosen[:n_known]),
        enrol=np.stack([r[:max_shots] for r in rows[:n_known]]),
        probes=np.concatenate([r[max_shots:] for r in rows[:n_known]]),
        probe_labels=np.concatenate(
            [np.full(len(r) - max_shots, c) for c, r in enumerate(rows[:n_known])]
        ),
        nobody=singles[:n_nobody],
        strangers=singles[n_nobody:],
        newcomer=str(chosen[n_known]),
        newcomer_rows=rows[n_known],
    )


@dataclass(frozen=True)
class SoftmaxClassifier:
    """A softmax over ``K`` people and a last "nobody" class: ``argmax(x W + b)``.

    Attributes:
        weights: ``(d, K + 1)`` float32, one column per output; ``bias``: ``(K + 1,)``.
        final_loss: the weighted cross-entropy on the training rows after the last step.
    """

    weights: np.ndarray
    bias: np.ndarray
    final_loss: float

    @property
    def n_people(self) -> int:
        """``K``: the people it can name (its outputs, less "nobody")."""
        return self.weights.shape[1] - 1

    def predict(self, encodings) -> np.ndarray:
        """Class of each row: ``0..K-1`` for a person, `NOBODY` for the last output."""
        scores = np.asarray(encodings, np.float32) @ self.weights + self.bias
        best = scores.argmax(axis=1)
        return np.where(best == self.n_people, NOBODY, best)


def train_softmax(
    encodings, labels, n_people: int, steps: int = 500, learning_rate: float = 0.05
) -> SoftmaxClassifier:
    """Train a softmax over ``n_people`` people and "nobody" on encodings (full-batch Adam).

    Each of the ``n_people + 1`` classes weighs the same in the loss, however many rows it
    has (the "nobody" class usually has many more). The weights start at zero and every step
    sees every row, so training is deterministic. The loop runs compiled (``tf.function``).

    Args:
        encodings: ``(n, d)`` training encodings.
        labels: ``(n,)`` class of each row: ``0..n_people-1``, or `NOBODY`.
        n_people: ``K``.
        steps: Adam steps.
        learning_rate: Adam's step size.

    Returns:
        A `SoftmaxClassifier`.

    Raises:
        ValueError: a label outside ``0..n_people-1`` and `NOBODY`, or a class with no row.
    """
    import keras
    import tensorflow as tf

    labels = np.asarray(labels)
    classes = np.where(labels == NOBODY, n_people, labels)
    if classes.min() < 0 or classes.max() > n_people or len(np.unique(classes)) != n_people + 1:
        raise ValueError(
            f"labels must be 0..{n_people - 1} or NOBODY ({NOBODY}), each class at least once"
        )
    weight = 1.0 / np.bincount(classes)[classes] / (n_people + 1)
    x = tf.constant(np.asarray(encodings, np.float32))
    y = tf.constant(classes, tf.int32)
    row_weight = tf.constant(weight, tf.float32)
    w = tf.Variable(tf.zeros((x.shape[1], n_people + 1)))
    b = tf.Variable(tf.zeros((n_people + 1,)))
    optimizer = keras.optimizers.Adam(learning_rate)

    def loss():
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(y, x @ w + b)
        return tf.reduce_sum(row_weight * cross_entropy)

    @tf.function
    def fit():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                value = loss()
            optimizer.apply_gradients(zip(tape.gradient(value, [w, b]), [w, b], strict=True))
        return loss()

    final = float(fit())
    return SoftmaxClassifier(w.numpy(), b.numpy(), final)


def identify(probes, gallery, gallery_labels, threshold: float) -> np.ndarray:
    """The similarity function's answer: the nearest enrolled label within ``threshold``.

    Args:
        probes: ``(n, d)`` encodings at the door.
        gallery: ``(m, d)`` enrolled encodings; ``gallery_labels`` their labels.
        threshold: ``tau`` on the squared distance (`fr_utils.metrics.is_match`).

    Returns:
        ``(n,)`` the label of each probe's nearest enrolled encoding, or `NOBODY` when even
        that one is farther than ``threshold``.
    """
    distances = squared_distance_matrix(probes, gallery)
    nearest = distances.argmin(axis=1)
    found = is_match(distances[np.arange(len(nearest)), nearest], threshold)
    return np.where(found, np.asarray(gallery_labels)[nearest], NOBODY)
