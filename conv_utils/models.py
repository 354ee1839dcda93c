"""Small Keras 1D and 3D CNNs for notebook 10: a heartbeat classifier and a 3D shape classifier.

Both follow the lecture's pattern: a few convolution + ReLU + max-pooling stages shrink the
spatial axes while the number of channels grows, then global average pooling and a softmax.
They are small on purpose so that they train on a laptop CPU (the notebook times them).
`receptive_field` tells how much of the input one unit of such a stack sees.
"""

from __future__ import annotations

import keras

__all__ = ["build_beat_classifier", "build_shape_classifier", "receptive_field"]


def build_beat_classifier(length: int, n_classes: int, first_filters: int = 8) -> keras.Model:
    """Return an uncompiled ``Conv1D`` network that labels one heartbeat window.

    ``(length, 1)`` -> Conv1D(``first_filters``, 15, same) -> pool 3 -> Conv1D(16, 9) -> pool 3
    -> Conv1D(32, 5) -> global average -> softmax over ``n_classes``. The first layer keeps
    ``padding="same"`` so its feature maps line up sample by sample with the input beat; its
    15 taps span 42 ms at 360 Hz, about a third of a QRS complex.

    Args:
        length: samples per beat window.
        n_classes: number of beat classes.
        first_filters: filters of the first layer (the ones the notebook plots).

    Returns:
        A `keras.Model` named ``"beat_cnn"`` whose first conv layer is named ``"conv1"``.
    """
    return keras.Sequential(
        [
            keras.Input((length, 1)),
            keras.layers.Conv1D(first_filters, 15, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling1D(3),
            keras.layers.Conv1D(16, 9, activation="relu", name="conv2"),
            keras.layers.MaxPooling1D(3),
            keras.layers.Conv1D(32, 5, activation="relu", name="conv3"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(n_classes, activation="softmax"),
        ],
        name="beat_cnn",
    )


def build_shape_classifier(size: int, n_classes: int) -> keras.Model:
    """Return an uncompiled ``Conv3D`` network that labels a ``size^3 x 1`` volume.

    Conv3D(8, 3) -> pool 2 -> Conv3D(16, 3) -> pool 2 -> Conv3D(32, 3) -> global average ->
    softmax. For ``size = 24`` the volumes shrink 24 -> 22 -> 11 -> 9 -> 4 -> 2 voxels a side.

    Returns:
        A `keras.Model` named ``"shape_cnn"`` whose conv layers are ``"conv1"`` to ``"conv3"``.
    """
    return keras.Sequential(
        [
            keras.Input((size, size, size, 1)),
            keras.layers.Conv3D(8, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling3D(2),
            keras.layers.Conv3D(16, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling3D(2),
            keras.layers.Conv3D(32, 3, activation="relu", name="conv3"),
            keras.layers.GlobalAveragePooling3D(),
            keras.layers.Dense(n_classes, activation="softmax"),
        ],
        name="shape_cnn",
    )


_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_POOL = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
)


def receptive_field(model: keras.Model, axis: int = 0) -> tuple[int, int]:
    """Return how many input positions one unit of the model's last conv/pool layer sees.

    Going from the input to the output, every convolution or pooling layer with kernel ``k``
    (dilation included) and stride ``s`` grows the field by ``(k - 1) * j`` input positions and
    multiplies the spacing ``j`` of neighbouring units by ``s``, starting from ``r = j = 1``.
    Adding up the kernel sizes is only right while every stride is 1. Layers without a
    kernel (ReLU, dense, global pooling) are skipped: global pooling then combines units
    from the whole input.

    Args:
        model: a Keras model whose conv and pooling layers are applied one after the other.
        axis: which spatial axis (0 for the time axis of a ``Conv1D`` stack).

    Returns:
        ``(size, jump)``: the field's length in input positions, and how many positions apart
        the fields of two neighbouring units start.
    """
    size, jump = 1, 1
    for layer in model.layers:
        if isinstance(layer, _CONV):
            kernel = layer.dilation_rate[axis] * (layer.kernel_size[axis] - 1) + 1
        elif isinstance(layer, _POOL):
            kernel = layer.pool_size[axis]
        else:
            continue
        size += (kernel - 1) * jump
        jump *= layer.strides[axis]
    return size, jump
