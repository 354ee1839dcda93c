"""Training the Siamese network end to end: the encoder's last layer with the logistic unit (04).

The lecture's binary-classification Siamese network is two copies of one encoder (shared
weights), a logistic unit on ``|f(x_i) - f(x_j)|``, and backpropagation through both into the
encoder. Notebook 04 trains it on LFW pairs, starting from dlib's pretrained ResNet.

Fine-tuning the whole ResNet on a laptop CPU would take hours per pass over a thousand photos
and overfit them. We fine-tune its **last layer**: the dense layer ``"descriptor"`` (256 pooled
features to the 128 numbers of the encoding, no bias) that is followed only by the L2
normalisation. Everything below it stays frozen, so the 256 pooled features of every photo are
computed once (`pooled_features`), and training the Siamese network (`train_siamese`) runs on
those, in seconds:

    f(x) = normalise(W^T pool(x)),   p(same) = sigmoid(sum_k w_k |f_k(x_i) - f_k(x_j)| + b),

with ``W`` (256 x 128) starting at dlib's weights and ``w, b`` at a logistic unit already
trained on the frozen encodings, so the joint training starts where the frozen head ended.
"""

from __future__ import annotations

import keras
import numpy as np

__all__ = [
    "DESCRIPTOR_LAYER",
    "POOL_LAYER",
    "build_siamese",
    "descriptor_kernel",
    "encode_pooled",
    "pooled_features",
    "siamese_weights",
    "split_by_people",
    "train_siamese",
]

#: Layer names in `fr_utils.models.dlib_resnet.build_dlib_resnet`.
POOL_LAYER, DESCRIPTOR_LAYER = "avg_pool", "descriptor"


def pooled_features(model: keras.Model, chips: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Run the frozen part of the encoder: the pooled features under its last dense layer.

    Args:
        model: the encoder (``fr_utils.load_face_model().model``, dlib's ResNet).
        chips: ``(n, 150, 150, 3)`` aligned chips, RGB in [0, 255].
        batch_size: chips per forward pass.

    Returns:
        ``(n, 256)`` float32: the output of the global average pooling of every chip.
    """
    import tensorflow as tf

    trunk = keras.Model(model.inputs, model.get_layer(POOL_LAYER).output)
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    run = tf.function(lambda x: trunk(x, training=False), input_signature=[spec])
    rows = [
        np.asarray(run(np.asarray(chips[i : i + batch_size], np.float32)))
        for i in range(0, len(chips), batch_size)
    ]
    width = trunk.output_shape[-1]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, width), np.float32)


def descriptor_kernel(model: keras.Model) -> np.ndarray:
    """The weights ``W`` (256 x 128) of the encoder's last dense layer."""
    return np.asarray(model.get_layer(DESCRIPTOR_LAYER).get_weights()[0], np.float32)


def encode_pooled(pooled, kernel) -> np.ndarray:
    """The encodings of pooled features: ``normalise(pooled @ kernel)``, ``(n, 128)`` unit rows."""
    codes = np.asarray(pooled, np.float64) @ np.asarray(kernel, np.float64)
    return (codes / np.linalg.norm(codes, axis=1, keepdims=True)).astype(np.float32)


class AbsoluteDifference(keras.layers.Layer):
    """``|a - b|`` per component: the lecture's pair feature, as a layer."""

    def call(self, inputs):
        first, second = inputs
        return keras.ops.abs(first - second)


def build_siamese(kernel, w=None, b: float = 0.0) -> keras.Model:
    """The Siamese verification network on pooled features, both branches sharing one layer.

    Args:
        kernel: ``(256, 128)`` starting weights of the shared last layer (`descriptor_kernel`).
        w: ``(128,)`` starting weights of the logistic unit (default zeros); ``b`` its bias.

    Returns:
        An uncompiled `keras.Model` ``[pooled_a, pooled_b] -> (n, 1)`` probability of "same
        person", with layers ``"descriptor"`` (shared, trainable) and ``"logistic"``.
    """
    kernel = np.asarray(kernel, np.float32)
    w = np.zeros(kernel.shape[1], np.float32) if w is None else np.asarray(w, np.float32)
    shared = keras.layers.Dense(kernel.shape[1], use_bias=False, name=DESCRIPTOR_LAYER)
    normalise = keras.layers.UnitNormalization(name="l2_normalize")
    logistic = keras.layers.Dense(1, activation="sigmoid", name="logistic")
    first = keras.Input((kernel.shape[0],), name="pooled_a")
    second = keras.Input((kernel.shape[0],), name="pooled_b")
    difference = AbsoluteDifference(name="abs_difference")(
        [normalise(shared(first)), normalise(shared(second))]
    )
    model = keras.Model([first, second], logistic(difference), name="siamese_verification")
    shared.set_weights([kernel])
    logistic.set_weights([w.reshape(-1, 1), np.array([b], np.float32)])
    return model


def split_by_people(pairs, fraction: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split pairs into two groups that share no person (to validate on people never trained on).

    Args:
        pairs: a `fr_utils.lfw.pairs.Pairs`.
        fraction: share of the people in the first group.
        seed: seed of the draw of people.

    Returns:
        ``(first, second)``: ``(n,)`` bool masks of the pairs whose two photos both show people
        of the first group, or both of the second. Impostor pairs across the groups are in neither.
    """
    from fr_utils.lfw.pairs import identity_of

    people = sorted(pairs.identities())
    chosen = set(np.random.default_rng(seed).permutation(people)[: round(fraction * len(people))])
    in_a = np.array([identity_of(path) in chosen for path in pairs.paths_a])
    in_b = np.array([identity_of(path) in chosen for path in pairs.paths_b])
    return in_a & in_b, ~in_a & ~in_b


class _ValidationAUC(keras.callbacks.Callback):
    """Record the ROC AUC on validation pairs after every epoch (as ``history["val_auc"]``)."""

    def __init__(self, pooled_a, pooled_b, same):
        super().__init__()
        self.inputs, self.same = [pooled_a, pooled_b], np.asarray(same, bool)

    def on_epoch_end(self, epoch, logs=None):
        from sklearn.metrics import roc_auc_score

        scores = self.model.predict(self.inputs, verbose=0, batch_size=1024).ravel()
        logs["val_auc"] = float(roc_auc_score(self.same, scores))


def train_siamese(
    pooled_a,
    pooled_b,
    same,
    kernel,
    w=None,
    b: float = 0.0,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    batch_size: int = 100,
    seed: int = 0,
    validation=None,
):
    """Train the shared last layer and the logistic unit together on pairs (binary cross-entropy).

    Args:
        pooled_a, pooled_b: ``(n, 256)`` pooled features of each pair's two photos.
        same: ``(n,)`` bool or 0/1, 1 when the pair shows one person.
        kernel, w, b: starting weights (see `build_siamese`).
        epochs, learning_rate, batch_size: Adam's schedule (fixed: no early stopping).
        seed: seeds the batch shuffling.
        validation: optional ``(pooled_a, pooled_b, same)`` of other pairs; their ROC AUC after
            each epoch goes into ``history.history["val_auc"]``.

    Returns:
        ``(model, history)``: the trained `build_siamese` model and its Keras ``History``.

    Raises:
        ValueError: the two feature sets and the labels do not have one row per pair.
    """
    pooled_a, pooled_b = np.asarray(pooled_a, np.float32), np.asarray(pooled_b, np.float32)
    labels = np.asarray(same, np.float32).reshape(-1, 1)
    if not pooled_a.shape == pooled_b.shape or len(pooled_a) != len(labels):
        raise ValueError(
            f"need pooled features (n, d) for both photos and n labels; got {pooled_a.shape},"
            f" {pooled_b.shape} and {len(labels)} labels"
        )
    keras.utils.set_random_seed(seed)
    model = build_siamese(kernel, w, b)
    model.compile(keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    callbacks = [] if validation is None else [_ValidationAUC(*validation)]
    history = model.fit(
        [pooled_a, pooled_b], labels, epochs=epochs, batch_size=batch_size, shuffle=True,
        verbose=0, callbacks=callbacks,
    )  # fmt: skip
    return model, history


def siamese_weights(model: keras.Model) -> tuple[np.ndarray, np.ndarray, float]:
    """``(kernel, w, b)`` of a `build_siamese` model: the shared layer and the logistic unit."""
    (kernel,) = model.get_layer(DESCRIPTOR_LAYER).get_weights()
    w, b = model.get_layer("logistic").get_weights()
    return kernel, w.reshape(-1), float(b[0])
