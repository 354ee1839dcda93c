"""The cost functions of neural style transfer, exactly as fixed in CONVENTIONS.md.

Every activation is a channels-last float32 tensor of shape ``(1, n_H, n_W, n_C)`` (a batch
of one image), as returned by `nst_utils.feature_extractor`. Each cost returns a scalar
float32 tensor and is differentiable, so the same functions serve the notebooks (07 content
cost, 08 style cost, 09 art generation), the tests and the optimisation loop of `stylize`.

The lectures write ``J_content = 1/2 ||a_C - a_G||^2`` and other constants in front of the
style term; ours differ only by constant factors, which ``alpha``, ``beta`` and the per-layer
weights ``lambda^[l]`` absorb.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf

__all__ = [
    "compute_content_cost",
    "compute_layer_style_cost",
    "compute_style_cost",
    "gram_matrix",
    "total_cost",
    "total_variation_cost",
    "unroll",
]


def _dims(a, what: str) -> tuple[int | tf.Tensor, ...]:
    """Return ``(n_H, n_W, n_C)`` of a ``(1, n_H, n_W, n_C)`` activation, static where known."""
    if a.shape.rank != 4:
        raise ValueError(f"{what} must have shape (1, n_H, n_W, n_C); got shape {a.shape}")
    dynamic = tf.shape(a)
    return tuple(a.shape[i] if a.shape[i] is not None else dynamic[i] for i in (1, 2, 3))


def compute_content_cost(a_C, a_G):
    """Content cost between the content image's and the generated image's activations.

    ``J_content = sum((a_C - a_G)^2) / (4 n_H n_W n_C)`` (notebook 07).

    Args:
        a_C: activation of the content image at the content layer, ``(1, n_H, n_W, n_C)``.
        a_G: activation of the generated image at the same layer, same shape.

    Returns:
        A scalar float32 tensor.

    Raises:
        ValueError: the shapes differ or are not 4-D.
    """
    a_C = tf.convert_to_tensor(a_C, tf.float32)
    a_G = tf.convert_to_tensor(a_G, tf.float32)
    if a_C.shape.is_fully_defined() and a_G.shape.is_fully_defined() and a_C.shape != a_G.shape:
        raise ValueError(f"a_C has shape {a_C.shape} but a_G has {a_G.shape}; they must match")
    n_H, n_W, n_C = _dims(a_G, "a_G")
    norm = tf.cast(4 * n_H * n_W * n_C, tf.float32)
    return tf.reduce_sum(tf.square(a_C - a_G)) / norm


def gram_matrix(A):
    """Gram matrix ``G = A A^T`` of an unrolled activation (notebook 08).

    ``G[i, j]`` is the (unnormalised) correlation of channel ``i`` with channel ``j`` over
    all positions: how often the two features fire together.

    Args:
        A: ``(n_C, n_H * n_W)`` float32, one row per channel.

    Returns:
        ``(n_C, n_C)`` float32, symmetric.
    """
    A = tf.convert_to_tensor(A, tf.float32)
    return tf.matmul(A, A, transpose_b=True)


def unroll(a):
    """Unroll a ``(1, n_H, n_W, n_C)`` activation to ``(n_C, n_H * n_W)``, one row per channel.

    Reshape to ``(n_H * n_W, n_C)`` first, then transpose. A plain reshape to ``(n_C, -1)``
    (the classic bug) keeps the memory order, in which the channel index varies fastest, so
    each "row" would mix all channels of a few positions instead of one channel everywhere.
    """
    a = tf.convert_to_tensor(a, tf.float32)
    n_C = _dims(a, "activation")[2]
    return tf.transpose(tf.reshape(a, (-1, n_C)))


def compute_layer_style_cost(a_S, a_G):
    """Style cost of one layer: squared distance between the Gram matrices of style and generated.

    ``J_style^[l] = sum((G_S - G_G)^2) / (4 n_C^2 (n_H n_W)^2)`` where each Gram matrix is
    computed from the activation unrolled with `unroll`. The normalisation is per image, so
    the style image may have a different size from the generated one (``n_C`` must agree).

    Args:
        a_S: style image activation, ``(1, n_H_S, n_W_S, n_C)``.
        a_G: generated image activation, ``(1, n_H, n_W, n_C)``.

    Returns:
        A scalar float32 tensor.
    """
    a_S = tf.convert_to_tensor(a_S, tf.float32)
    a_G = tf.convert_to_tensor(a_G, tf.float32)
    G_S = _normalised_gram(a_S, "a_S")
    G_G = _normalised_gram(a_G, "a_G")
    if G_S.shape.is_fully_defined() and G_G.shape.is_fully_defined() and G_S.shape != G_G.shape:
        raise ValueError(
            f"a_S has {a_S.shape[-1]} channels but a_G has {a_G.shape[-1]}; use the same layer"
        )
    return tf.reduce_sum(tf.square(G_S - G_G)) / 4.0


def _normalised_gram(a, what: str):
    """``gram_matrix(unroll(a)) / (n_C * n_H * n_W)``; squared and summed this gives the cost.

    Dividing each Gram matrix by ``n_C n_H n_W`` before subtracting is the same as dividing the
    squared difference by ``n_C^2 (n_H n_W)^2`` when both images have the same size, and it
    keeps the style image's statistics on the same scale when its size differs.
    """
    n_H, n_W, n_C = _dims(a, what)
    return gram_matrix(unroll(a)) / tf.cast(n_C * n_H * n_W, tf.float32)


def compute_style_cost(
    style_outputs: Mapping[str, tf.Tensor],
    generated_outputs: Mapping[str, tf.Tensor],
    style_layers: Sequence[tuple[str, float]],
):
    """Weighted sum of the per-layer style costs: ``sum_l lambda^[l] J_style^[l]`` (notebook 09).

    Args:
        style_outputs: ``{layer_name: a_S}`` activations of the style image.
        generated_outputs: ``{layer_name: a_G}`` activations of the generated image.
        style_layers: ``[(layer_name, weight), ...]``; the weights are the ``lambda^[l]``.

    Returns:
        A scalar float32 tensor.

    Raises:
        KeyError: a layer of ``style_layers`` is missing from one of the dicts.
    """
    J_style = tf.constant(0.0, tf.float32)
    for name, weight in style_layers:
        for outputs, which in ((style_outputs, "style_outputs"), (generated_outputs, "generated")):
            if name not in outputs:
                raise KeyError(f"Layer {name!r} is not in {which}; it has {sorted(outputs)}")
        J_layer = compute_layer_style_cost(style_outputs[name], generated_outputs[name])
        J_style += float(weight) * J_layer
    return J_style


def total_cost(J_content, J_style, alpha=10, beta=40):
    """Total cost ``J = alpha J_content + beta J_style`` (notebook 09)."""
    return alpha * J_content + beta * J_style


def total_variation_cost(image):
    """Total variation of an image: sum of squared differences between neighbouring pixels.

    A smoothness prior that removes the high-frequency noise the style cost tends to add.
    ``J_tv = (sum (x[i+1, j] - x[i, j])^2 + sum (x[i, j+1] - x[i, j])^2) / (H W C)``; the
    division makes its weight independent of the image size.

    Args:
        image: ``(1, H, W, C)`` float32, in any pixel scale.

    Returns:
        A scalar float32 tensor.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    n_H, n_W, n_C = _dims(image, "image")
    down = tf.reduce_sum(tf.square(image[:, 1:, :, :] - image[:, :-1, :, :]))
    right = tf.reduce_sum(tf.square(image[:, :, 1:, :] - image[:, :, :-1, :]))
    return (down + right) / tf.cast(n_H * n_W * n_C, tf.float32)
