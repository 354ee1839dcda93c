"""Face verification as binary classification: pair features and a logistic unit (notebook 04).

The lecture's alternative to a fixed distance threshold (DeepFace, Taigman et al. 2014):
turn a pair of encodings ``f1, f2`` into a feature vector and let a logistic unit learn how
much each of the 128 components matters,

    p(same) = sigmoid( sum_k w_k * feature_k + b ).

Two features from the lecture:

* ``|f1_k - f2_k|``                    (`abs_diff_features`)
* ``(f1_k - f2_k)^2 / (f1_k + f2_k)``  the chi-square form (`chi2_features`).

The chi-square form comes from non-negative features (DeepFace's encodings follow a ReLU).
Our encodings are unit vectors with components of either sign, so ``f1_k + f2_k`` can be
zero or negative. `chi2_features` uses ``|f1_k| + |f2_k| + eps`` as the denominator: it is
the lecture's ``f1_k + f2_k`` wherever both components are non-negative, it is always
positive, symmetric in ``f1, f2``, and it keeps each feature between 0 and
``|f1_k - f2_k|`` (because ``|f1_k - f2_k| <= |f1_k| + |f2_k|``). ``eps`` only matters when
both components are 0, where it turns 0/0 into 0.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CHI2_EPS",
    "abs_diff_features",
    "chi2_features",
    "head_weights",
    "logistic_unit",
    "pixel_distances",
    "train_verification_head",
    "verification_head",
]

CHI2_EPS = 1e-6


def _pair(f1, f2) -> tuple[np.ndarray, np.ndarray]:
    f1 = np.asarray(f1, dtype=np.float32)
    f2 = np.asarray(f2, dtype=np.float32)
    if f1.shape != f2.shape:
        raise ValueError(f"f1 and f2 must have the same shape, got {f1.shape} and {f2.shape}")
    return f1, f2


def abs_diff_features(f1, f2) -> np.ndarray:
    """Per-component absolute difference ``|f1_k - f2_k|``.

    Args:
        f1, f2: encodings of the same shape, ``(128,)`` or ``(n, 128)``.

    Returns:
        float32 array of that shape, >= 0.
    """
    f1, f2 = _pair(f1, f2)
    return np.abs(f1 - f2)


def chi2_features(f1, f2, eps: float = CHI2_EPS) -> np.ndarray:
    """Chi-square features ``(f1_k - f2_k)^2 / (|f1_k| + |f2_k| + eps)``.

    The denominator is the lecture's ``f1_k + f2_k`` made positive for encodings with
    negative components (see the module docstring): equal to it where both components are
    >= 0, always > 0, and each feature lies in ``[0, |f1_k - f2_k|]``.

    Args:
        f1, f2: encodings of the same shape, ``(128,)`` or ``(n, 128)``.
        eps: small positive constant; only matters where both components are 0.

    Returns:
        float32 array of that shape, >= 0 and finite.
    """
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    f1, f2 = _pair(f1, f2)
    return np.square(f1 - f2) / (np.abs(f1) + np.abs(f2) + np.float32(eps))


def logistic_unit(features, w, b) -> np.ndarray:
    """Forward pass of the logistic unit: ``p = sigmoid(features @ w + b)``.

    Computed without overflow for large ``|z|`` (``exp`` of a non-positive number only).

    Args:
        features: ``(n, d)`` pair features.
        w: ``(d,)`` or ``(d, 1)`` weights.
        b: scalar bias (a number or a shape-``(1,)`` array).

    Returns:
        ``(n,)`` float64 probabilities that each pair shows one person.
    """
    features = np.asarray(features, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    z = features @ w + float(np.asarray(b).reshape(-1)[0])
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def verification_head(n_features: int = 128, learning_rate: float = 0.01, seed: int = 0):
    """A compiled Keras logistic unit ``Dense(1, sigmoid)`` on ``n_features`` inputs.

    Trained with binary cross-entropy and Adam. Weights start at zero (the loss of a
    logistic unit is convex, so the start only changes how fast it converges), which makes
    training reproducible given ``seed`` for the batch order.

    Returns:
        A `keras.Sequential` model: ``(n, n_features)`` -> ``(n, 1)`` probabilities.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((n_features,)),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_verification_head(
    features,
    same,
    epochs: int = 100,
    batch_size: int = 200,
    learning_rate: float = 0.01,
    seed: int = 0,
):
    """Train a `verification_head` on pair features; return ``(model, history)``.

    Args:
        features: ``(n, d)`` float pair features.
        same: ``(n,)`` bool or 0/1 labels (1 = same person).
        epochs, batch_size, learning_rate: Adam's schedule (fixed: no early stopping).
        seed: seeds the batch shuffling.

    Returns:
        The trained model and its Keras ``History`` (loss and accuracy per epoch).
    """
    features = np.asarray(features, dtype=np.float32)
    labels = np.asarray(same, dtype=np.float32).reshape(-1, 1)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"need features (n, d) and n labels; got {features.shape} and {len(labels)} labels"
        )
    model = verification_head(features.shape[1], learning_rate, seed)
    history = model.fit(
        features, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0
    )
    return model, history


def head_weights(model) -> tuple[np.ndarray, float]:
    """Return ``(w, b)`` of a trained `verification_head`: ``(d,)`` float32 and a float."""
    kernel, bias = model.layers[-1].get_weights()
    return kernel.reshape(-1), float(bias[0])


def pixel_distances(chips, first, second, chunk: int = 64) -> np.ndarray:
    """L2 distance between the raw pixels of pairs of aligned chips: the no-network baseline.

    Args:
        chips: ``(n, s, s, 3)`` uint8 aligned chips.
        first, second: ``(m,)`` row indices of each pair's two chips.
        chunk: pairs compared at once (memory: ``chunk * s * s * 3`` floats).

    Returns:
        ``(m,)`` float64 distances between the chips' pixel values scaled to [0, 1].
    """
    first, second = np.asarray(first), np.asarray(second)
    out = np.empty(len(first))
    for start in range(0, len(first), chunk):
        a = chips[first[start : start + chunk]].astype(np.float32) / 255
        b = chips[second[start : start + chunk]].astype(np.float32) / 255
        out[start : start + chunk] = np.linalg.norm((a - b).reshape(len(a), -1), axis=1)
    return out
