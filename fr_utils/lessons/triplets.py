"""Train a face-embedding CNN with the triplet loss, mining triplets in each batch (notebook 03).

FaceNet (Schroff, Kalenichenko, Philbin, CVPR 2015) trains ``f(x)`` so that, for an anchor
``A``, a positive ``P`` (same person) and a negative ``N`` (another person),

    ||f(A) - f(P)||^2 + alpha <= ||f(A) - f(N)||^2.

Most random triplets already satisfy this and contribute zero loss and zero gradient, so
the lecture says to *choose hard triplets*. We build each batch from ``P`` people x ``K`` photos
(`sample_pk_batch`), embed it, and pick, for every photo used as an anchor, one positive and
one negative from the same batch, using the matrix of squared distances between embeddings:

* ``"random"``: a random positive and a random negative (the baseline);
* ``"semi_hard"`` (FaceNet): a random positive and the closest negative that is still farther
  than the positive, ``d(A, P) < d(A, N)``, so within the margin when one exists;
* ``"batch_hard"`` (Hermans, Beyer, Leibe, 2017): the farthest positive and the closest negative.

Every strategy yields exactly one triplet per anchor (``P*K`` per batch), and the loss is the
course's `fr_utils.losses.triplet_loss` (a *sum* over the triplets) of the chosen triplets.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from fr_utils.losses import triplet_loss

__all__ = [
    "STRATEGIES",
    "STRATEGY_COLOURS",
    "TrainingHistory",
    "batch_hard_triplets",
    "build_embedding_cnn",
    "draw_mined_triplets",
    "embed",
    "pairwise_squared_distances",
    "random_triplets",
    "sample_pk_batch",
    "select_triplets",
    "semi_hard_triplets",
    "train_triplet_model",
    "triplet_distances",
]

#: The triplet-selection strategies `select_triplets` and `train_triplet_model` accept.
STRATEGIES = ("random", "semi_hard", "batch_hard")
#: One colour per encoder of notebook 03, the same in every figure (matplotlib's default cycle
#: for the three strategies, greys for the two baselines).
STRATEGY_COLOURS = {
    "raw pixels": "0.55",
    "untrained": "0.2",
    "random": "tab:blue",
    "semi_hard": "tab:orange",
    "batch_hard": "tab:green",
}


def pairwise_squared_distances(embeddings):
    """Return the ``(n, n)`` matrix of squared L2 distances between the rows of ``embeddings``.

    Args:
        embeddings: ``(n, d)`` float tensor or array.

    Returns:
        ``(n, n)`` float32 tensor, ``D[i, j] = ||e_i - e_j||^2`` (exactly 0 on the diagonal).
    """
    embeddings = tf.convert_to_tensor(embeddings, tf.float32)
    difference = embeddings[:, None, :] - embeddings[None, :, :]
    return tf.reduce_sum(tf.square(difference), axis=-1)


def _masks(labels):
    """Return the ``(n, n)`` bool masks of positives (same label, not self) and negatives."""
    labels = tf.convert_to_tensor(labels)
    same = tf.equal(labels[:, None], labels[None, :])
    not_self = tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))
    return tf.logical_and(same, not_self), tf.logical_not(same)


def _argmax_where(mask, scores):
    """Per row, the column of the largest ``scores`` among the ``mask``-ed entries."""
    lowest = tf.fill(tf.shape(scores), tf.constant(-np.inf, scores.dtype))
    return tf.argmax(tf.where(mask, scores, lowest), axis=1, output_type=tf.int32)


def _random_positive(labels, seed):
    positive_mask, negative_mask = _masks(labels)
    n = tf.shape(positive_mask)[0]
    seed = tf.cast(seed, tf.int64)
    scores = tf.random.stateless_uniform(tf.stack([2, n, n]), seed=tf.stack([seed, seed + 1]))
    return positive_mask, negative_mask, scores


def random_triplets(labels, seed):
    """Pick, for each anchor, a uniformly random positive and a uniformly random negative.

    Args:
        labels: ``(n,)`` int identity labels of the batch; every label must occur twice or more.
        seed: int (or scalar int tensor); the same seed gives the same choice.

    Returns:
        ``(positive_index, negative_index)``, two ``(n,)`` int32 tensors indexing the batch.
    """
    positive_mask, negative_mask, scores = _random_positive(labels, seed)
    return _argmax_where(positive_mask, scores[0]), _argmax_where(negative_mask, scores[1])


def batch_hard_triplets(embeddings, labels):
    """Pick, for each anchor, its farthest positive and its closest negative in the batch.

    Args:
        embeddings: ``(n, d)`` embeddings of the batch.
        labels: ``(n,)`` int identity labels; every label must occur twice or more.

    Returns:
        ``(positive_index, negative_index)``, two ``(n,)`` int32 tensors indexing the batch.
    """
    distances = pairwise_squared_distances(embeddings)
    positive_mask, negative_mask = _masks(labels)
    return _argmax_where(positive_mask, distances), _argmax_where(negative_mask, -distances)


def semi_hard_triplets(embeddings, labels, seed):
    """Pick a random positive and, for it, the closest negative that is farther than the positive.

    This is FaceNet's semi-hard negative: ``d(A, P) < d(A, N)``, the smallest such ``d(A, N)``,
    so the triplet is inside the margin (positive loss) whenever any negative is. When every
    negative is closer than the positive, we take the farthest negative (the least hard one),
    as `tfa.losses.TripletSemiHardLoss` does. Distances are squared L2, as in the loss.

    Args:
        embeddings: ``(n, d)`` embeddings of the batch.
        labels: ``(n,)`` int identity labels; every label must occur twice or more.
        seed: int (or scalar int tensor) for the choice of positives.

    Returns:
        ``(positive_index, negative_index)``, two ``(n,)`` int32 tensors indexing the batch.
    """
    distances = pairwise_squared_distances(embeddings)
    positive_mask, negative_mask, scores = _random_positive(labels, seed)
    positive = _argmax_where(positive_mask, scores[0])
    positive_distance = tf.gather(distances, positive, axis=1, batch_dims=1)
    farther = tf.logical_and(negative_mask, distances > positive_distance[:, None])
    semi_hard = _argmax_where(farther, -distances)
    least_hard = _argmax_where(negative_mask, distances)
    negative = tf.where(tf.reduce_any(farther, axis=1), semi_hard, least_hard)
    return positive, negative


def select_triplets(strategy: str, embeddings, labels, seed):
    """Dispatch to `random_triplets`, `semi_hard_triplets` or `batch_hard_triplets`.

    Raises:
        ValueError: unknown ``strategy`` (valid ones are in `STRATEGIES`).
    """
    if strategy == "random":
        return random_triplets(labels, seed)
    if strategy == "semi_hard":
        return semi_hard_triplets(embeddings, labels, seed)
    if strategy == "batch_hard":
        return batch_hard_triplets(embeddings, labels)
    raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")


def triplet_distances(strategy: str, embeddings, labels, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances ``d(A, P)`` and ``d(A, N)`` of the triplets a strategy picks in a batch.

    Every row of the batch is an anchor; the positive and negative are chosen by
    `select_triplets` from the same embeddings, as in a training step.

    Args:
        strategy: one of `STRATEGIES`.
        embeddings: ``(n, d)`` embeddings of the batch.
        labels: ``(n,)`` identities, each occurring twice or more.
        seed: seed of the random choices.

    Returns:
        ``(d_ap, d_an)``: two ``(n,)`` float32 arrays, one entry per anchor. The triplet loss of
        anchor ``i`` is ``max(d_ap[i] - d_an[i] + alpha, 0)``.
    """
    embeddings = tf.convert_to_tensor(embeddings, tf.float32)
    positive, negative = select_triplets(strategy, embeddings, labels, seed)
    distances = pairwise_squared_distances(embeddings)
    rows = tf.range(tf.shape(distances)[0])
    d_ap = tf.gather_nd(distances, tf.stack([rows, positive], axis=1))
    d_an = tf.gather_nd(distances, tf.stack([rows, negative], axis=1))
    return keras.ops.convert_to_numpy(d_ap), keras.ops.convert_to_numpy(d_an)


def build_embedding_cnn(
    input_size: int = 64,
    embedding_dim: int = 64,
    filters: tuple[int, ...] = (16, 32, 64, 128),
    seed: int = 0,
) -> keras.Model:
    """Build a small CNN that maps an RGB face crop to a unit-length embedding.

    Each block is conv 3x3 -> batch norm -> ReLU -> max pool 2x2, so a 64x64 crop shrinks to
    4x4 after four blocks; global average pooling and a dense layer give ``embedding_dim``
    numbers, and a final L2 normalisation puts them on the unit sphere. With unit-length
    embeddings every squared distance lies in ``[0, 4]``, so a margin ``alpha = 0.2`` means
    the same thing throughout training (the network cannot shrink or inflate all distances).

    Args:
        input_size: side of the square input crops, in pixels (values 0..255, any float dtype).
        embedding_dim: length of the embedding (FaceNet uses 128).
        filters: number of filters of each conv block.
        seed: seed of the weight initialisers (same seed, same initial network).

    Returns:
        An uncompiled `keras.Model` from ``(batch, input_size, input_size, 3)`` to
        ``(batch, embedding_dim)`` float32 rows of unit L2 norm.
    """
    if not filters or 2 ** len(filters) > input_size:
        raise ValueError(
            f"{len(filters)} pooling blocks need inputs of {2 ** len(filters)}px or more."
        )
    seeds = iter(range(seed * 1000, seed * 1000 + 2 * len(filters) + 2))
    inputs = keras.Input((input_size, input_size, 3), name="face_crop")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    for block, width in enumerate(filters, start=1):
        init = keras.initializers.HeNormal(seed=next(seeds))
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=init,
                                name=f"conv{block}")(x)  # fmt: skip
        x = keras.layers.BatchNormalization(name=f"bn{block}")(x)
        x = keras.layers.ReLU(name=f"relu{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="average")(x)
    init = keras.initializers.GlorotUniform(seed=next(seeds))
    x = keras.layers.Dense(embedding_dim, kernel_initializer=init, name="embedding")(x)
    outputs = keras.layers.UnitNormalization(name="l2_normalise")(x)
    return keras.Model(inputs, outputs, name="face_embedding_cnn")


def embed(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Return the embeddings of ``images`` (inference mode), an ``(n, d)`` float32 array."""
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].astype(np.float32)
        chunks.append(keras.ops.convert_to_numpy(model(batch, training=False)))
    return np.concatenate(chunks).astype(np.float32)


def sample_pk_batch(labels: np.ndarray, p: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Return the indices of a batch of ``p`` random identities x ``k`` random photos of each.

    Args:
        labels: ``(n,)`` identity label of every training image.
        p: identities per batch (>= 2, so every anchor has negatives).
        k: photos per identity (>= 2, so every anchor has a positive).
        rng: numpy random generator (the batch sequence is reproducible from its seed).

    Returns:
        ``(p * k,)`` int64 indices into ``labels``, grouped by identity.

    Raises:
        ValueError: when ``p`` or ``k`` is below 2, or fewer than ``p`` people have ``k`` photos.
    """
    if p < 2 or k < 2:
        raise ValueError(f"Need p >= 2 identities and k >= 2 photos per batch; got p={p}, k={k}.")
    identities, counts = np.unique(labels, return_counts=True)
    eligible = identities[counts >= k]
    if len(eligible) < p:
        raise ValueError(
            f"Only {len(eligible)} identities have {k} or more images; lower p={p} or k={k}."
        )
    chosen = rng.choice(eligible, size=p, replace=False)
    photos = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c in chosen]
    return np.concatenate(photos)


@dataclass(frozen=True)
class TrainingHistory:
    """Per-step record of a `train_triplet_model` run.

    Attributes:
        strategy: the triplet-selection strategy.
        loss: ``(steps,)`` the batch's triplet loss (a sum over the ``P*K`` triplets) divided by
            ``P*K``, i.e. the mean loss per triplet, comparable across batch sizes.
        active: ``(steps,)`` fraction of the batch's triplets with a positive loss (the only ones
            that produce a gradient).
    """

    strategy: str
    loss: np.ndarray
    active: np.ndarray


def _make_train_step(model, optimizer, strategy: str, alpha: float):
    alpha = float(alpha)

    @tf.function
    def train_step(images, labels, seed):
        with tf.GradientTape() as tape:
            embeddings = model(images, training=True)
            positive, negative = select_triplets(
                strategy, tf.stop_gradient(embeddings), labels, seed
            )
            triplet = [embeddings, tf.gather(embeddings, positive), tf.gather(embeddings, negative)]
            loss = triplet_loss(None, triplet, alpha=alpha)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        pos_dist = tf.reduce_sum(tf.square(triplet[0] - triplet[1]), axis=-1)
        neg_dist = tf.reduce_sum(tf.square(triplet[0] - triplet[2]), axis=-1)
        active = tf.reduce_mean(tf.cast(pos_dist - neg_dist + alpha > 0, tf.float32))
        return loss, active

    return train_step


def train_triplet_model(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    strategy: str = "batch_hard",
    steps: int = 300,
    p: int = 16,
    k: int = 4,
    alpha: float = 0.2,
    learning_rate: float = 1e-3,
    flip: bool = True,
    seed: int = 0,
) -> TrainingHistory:
    """Train ``model`` in place with the triplet loss for a fixed number of steps.

    Each step samples a ``p x k`` batch (`sample_pk_batch`), optionally mirrors each image
    left-right with probability 1/2, embeds the batch, selects one triplet per anchor with
    ``strategy`` (`select_triplets`) and takes one Adam step on `fr_utils.losses.triplet_loss`.
    The budget is a number of *steps*, not seconds, so runs are reproducible and every
    strategy sees exactly the same images: with the same ``seed`` the batches and flips are
    identical and only the choice of triplets differs.

    Adam rescales each gradient by its running magnitude, so training with the sum (as here)
    or the mean of the per-triplet losses takes practically the same steps.

    Args:
        model: maps ``(b, s, s, 3)`` images (0..255) to ``(b, d)`` embeddings, e.g. from
            `build_embedding_cnn`; its weights are updated.
        images: ``(n, s, s, 3)`` uint8 training crops.
        labels: ``(n,)`` int identity labels.
        strategy: one of `STRATEGIES`.
        steps: number of optimisation steps.
        p, k: identities per batch and photos per identity.
        alpha: the triplet-loss margin (for unit-length embeddings).
        learning_rate: Adam's learning rate.
        flip: random horizontal mirroring (a face seen in a mirror is the same person).
        seed: seed of the batch sampler, the flips and the random choices of positives.

    Returns:
        A `TrainingHistory`.

    Raises:
        ValueError: unknown strategy, mismatched ``images``/``labels``, or a bad ``p``/``k``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels; they must match.")
    labels = np.asarray(labels, dtype=np.int32)
    rng = np.random.default_rng(seed)
    optimizer = keras.optimizers.Adam(learning_rate)
    train_step = _make_train_step(model, optimizer, strategy, alpha)
    losses, active = np.zeros(steps, np.float32), np.zeros(steps, np.float32)
    for step in range(steps):
        batch = sample_pk_batch(labels, p, k, rng)
        pixels = images[batch]
        if flip:
            mirrored = rng.random(len(batch)) < 0.5
            pixels = np.where(mirrored[:, None, None, None], pixels[:, :, ::-1], pixels)
        step_seed = tf.constant(seed * 1_000_003 + step, tf.int64)
        loss, fraction = train_step(
            tf.constant(pixels, tf.float32), tf.constant(labels[batch]), step_seed
        )
        losses[step], active[step] = float(loss) / len(batch), float(fraction)
    return TrainingHistory(strategy, losses, active)


def draw_mined_triplets(images, embeddings, labels, anchors, strategies=STRATEGIES, seed=0):
    """Show, for a few anchors, the positive and the negative each strategy picks, with distances.

    The choice is made as in training: inside one batch, from the squared distances between
    the batch's ``embeddings`` (`select_triplets`, same ``seed``).

    Args:
        images: ``(n, s, s, 3)`` uint8 crops of the batch.
        embeddings: ``(n, d)`` their embeddings by the network doing the mining.
        labels: ``(n,)`` identities (each occurring twice or more).
        anchors: indices (into the batch) of the anchors to show, one row each.
        strategies: the strategies to show, a pair of columns each.
        seed: seed of the random choices (``random`` and ``semi_hard`` positives).

    Returns:
        The matplotlib ``Figure``: column 0 the anchors, then P and N per strategy, each titled
        with its squared distance to the anchor and framed in the strategy's colour
        (`STRATEGY_COLOURS`).
    """
    import matplotlib.pyplot as plt

    distances = keras.ops.convert_to_numpy(pairwise_squared_distances(embeddings))
    picks = {k: [np.asarray(i) for i in select_triplets(k, embeddings, labels, seed)]
             for k in strategies}  # fmt: skip
    columns = 1 + 2 * len(strategies)
    fig, axes = plt.subplots(
        len(anchors), columns, figsize=(1.05 * columns, 1.25 * len(anchors) + 0.35), squeeze=False
    )
    for row, anchor in enumerate(anchors):
        axes[row, 0].imshow(images[anchor])
        axes[row, 0].set_title("anchor", fontsize=8)
        for column, (strategy, (positive, negative)) in enumerate(picks.items()):
            for offset, (role, index) in enumerate((("P", positive), ("N", negative))):
                ax = axes[row, 1 + 2 * column + offset]
                ax.imshow(images[index[anchor]])
                ax.set_title(f"{role}: d={distances[anchor, index[anchor]]:.3f}", fontsize=8)
                for spine in ax.spines.values():
                    spine.set(color=STRATEGY_COLOURS.get(strategy, "k"), linewidth=2.5)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for column, strategy in enumerate(picks):
        x = (1.5 + 2 * column + 0.5) / columns
        fig.text(x, 0.995, strategy.replace("_", "-"), ha="center", va="top", fontsize=9,
                 color=STRATEGY_COLOURS.get(strategy, "k"), weight="bold")  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.22 / fig.get_figheight()))
    return fig
