"""The triplet loss (FaceNet; course notebook 03).

For a batch of ``m`` triplets ``(A, P, N)`` of encodings,

    J = sum_i max(||f(A_i) - f(P_i)||^2 - ||f(A_i) - f(N_i)||^2 + alpha, 0)

Each term is zero once the negative is at least ``alpha`` farther (in squared
L2 distance) from the anchor than the positive. The margin ``alpha`` is what
stops the network from mapping every face to the same point: with all
encodings equal, each term would still be ``alpha``.
"""

from __future__ import annotations

from keras import ops

__all__ = ["triplet_loss"]


def triplet_loss(y_true, y_pred, alpha: float = 0.2):
    """Return the triplet loss of a batch, summed (not averaged) over the batch.

    Args:
        y_true: ignored (Keras losses take labels first; triplets need none).
        y_pred: ``[anchor, positive, negative]``, each an ``(m, d)`` batch of encodings (or one
            ``(d,)`` encoding): tensors, NumPy arrays or nested Python lists, as the course's
            test cell passes them; they are computed on as float32 tensors.
        alpha: margin between the positive and the negative squared distances.

    Returns:
        A scalar float32 tensor.
    """
    anchor, positive, negative = (_as_float32(y_pred[i]) for i in range(3))
    pos_dist = ops.sum(ops.square(anchor - positive), axis=-1)
    neg_dist = ops.sum(ops.square(anchor - negative), axis=-1)
    return ops.sum(ops.maximum(pos_dist - neg_dist + alpha, 0.0))


def _as_float32(encodings):
    """A tensor, array or (nested) list of numbers as a float32 tensor."""
    return ops.cast(ops.convert_to_tensor(encodings), "float32")
