"""Receptive fields: which input pixels one unit of a conv layer can see (notebook 06).

A stack of convolutions and poolings is described, per layer, by its kernel size ``k``,
stride ``s`` and the padding ``p`` it adds before the first input position. Going from
the input towards the output, three numbers describe a unit of each layer:

* ``size`` (``r``): the side of the square of input pixels the unit depends on,
  ``r_l = r_{l-1} + (k_l - 1) * j_{l-1}`` with ``r_0 = 1``;
* ``jump`` (``j``): how many input pixels apart two neighbouring units of the layer are,
  the product of the strides so far, ``j_l = j_{l-1} * s_l`` with ``j_0 = 1``;
* ``start``: the input coordinate of the first (top/left) pixel of unit 0's field,
  ``start_l = start_{l-1} - p_l * j_{l-1}`` with ``start_0 = 0``. It is negative when the
  field reaches into the zero padding.

Unit ``i`` of layer ``l`` then sees input pixels ``start_l + i * j_l`` to
``start_l + i * j_l + r_l - 1`` (inclusive) along each axis. The classic mistake is to add
the kernel sizes, ``1 + sum(k_l - 1)``: that is only right while every stride is 1; after a
stride-2 pooling each step of a 3x3 kernel spans 2 input pixels, after two of them 4, and so on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import keras

__all__ = ["LayerSpec", "ReceptiveField", "layer_fields", "layer_specs", "receptive_field"]

# Layers that act on each position separately: they leave receptive fields unchanged.
_POINTWISE = (
    keras.layers.InputLayer,
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.Dropout,
    keras.layers.Rescaling,
    keras.layers.Normalization,
)
_CONV = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
_POOL = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)


@dataclass(frozen=True)
class LayerSpec:
    """Geometry of one conv or pooling layer along one spatial axis.

    Attributes:
        name: the layer's name (e.g. ``"block1_conv1"``).
        kernel: kernel size ``k`` in input positions (dilation already applied:
            a 3-tap kernel with dilation 2 has ``kernel=5``).
        stride: stride ``s``.
        padding: positions of zero padding added before the first input position
            (top/left), ``p``. Keras ``"same"`` padding with stride 1 is ``(k - 1) // 2``.
    """

    name: str
    kernel: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        if self.kernel < 1 or self.stride < 1 or self.padding < 0:
            raise ValueError(
                f"{self.name}: need kernel >= 1, stride >= 1 and padding >= 0;"
                f" got kernel={self.kernel}, stride={self.stride}, padding={self.padding}"
            )


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one layer, in input pixels (same along both axes).

    Attributes:
        name: the layer's name.
        size: side ``r`` of the square of input pixels one unit depends on.
        jump: distance ``j`` in input pixels between neighbouring units (product of strides).
        start: input coordinate of the first pixel of unit 0's field (may be negative).
    """

    name: str
    size: int
    jump: int
    start: int

    def span(self, index, length: int | None = None):
        """First and one-past-last input coordinate seen by unit ``index`` along one axis.

        Args:
            index: unit position (int or integer numpy array) along the axis.
            length: the input's length along that axis; when given, the span is clipped to
                ``[0, length)`` (pixels in the zero padding are dropped).

        Returns:
            ``(first, stop)``, so the pixels are ``first, ..., stop - 1``.
        """
        first = self.start + index * self.jump
        stop = first + self.size
        if length is not None:
            first = first.clip(0, length) if hasattr(first, "clip") else min(max(first, 0), length)
            stop = stop.clip(0, length) if hasattr(stop, "clip") else min(max(stop, 0), length)
        return first, stop

    def center(self, index):
        """Input coordinate of the centre of unit ``index``'s field (x.5 for even sizes)."""
        return self.start + index * self.jump + (self.size - 1) / 2


def _as_spec(index: int, layer) -> LayerSpec:
    if isinstance(layer, LayerSpec):
        return layer
    if isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 3:
        return LayerSpec(f"layer{index + 1}", *(int(v) for v in layer))
    raise ValueError(
        f"layer {index}: expected a LayerSpec or a (kernel, stride, padding) tuple; got {layer!r}"
    )


def receptive_field(layers: Iterable) -> dict[str, ReceptiveField]:
    """Receptive field size, jump and start of every layer of a conv/pool stack.

    Args:
        layers: the stack, input side first: `LayerSpec` objects (e.g. from `layer_specs`) or
            ``(kernel, stride, padding)`` tuples (stride and padding may be left out; such
            layers are named ``layer1``, ``layer2``, ...).

    Returns:
        ``{name: ReceptiveField}`` in the order of ``layers``.

    Raises:
        ValueError: a malformed layer, or two layers with the same name.

    Example:
        Two 3x3 convolutions, a 2x2/2 pooling and a 3x3 convolution (VGG's first block and
        a half): sizes 3, 5, 6 and 6 + 2 * 2 = 10, jumps 1, 1, 2, 2.

        >>> [f.size for f in receptive_field([(3, 1, 1), (3, 1, 1), (2, 2), (3, 1, 1)]).values()]
        [3, 5, 6, 10]
    """
    size, jump, start = 1, 1, 0
    fields: dict[str, ReceptiveField] = {}
    for index, layer in enumerate(layers):
        spec = _as_spec(index, layer)
        if spec.name in fields:
            raise ValueError(f"two layers are named {spec.name!r}; names must be unique")
        size += (spec.kernel - 1) * jump
        start -= spec.padding * jump
        jump *= spec.stride
        fields[spec.name] = ReceptiveField(spec.name, size, jump, start)
    return fields


def _square(layer, attribute: str) -> int:
    value = getattr(layer, attribute)
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise ValueError(
            f"{layer.name}: {attribute}={values} is not square; receptive_field handles square"
            " kernels and strides only"
        )
    return int(values[0])


def _spec_of(layer) -> LayerSpec:
    kernel_attribute = "kernel_size" if isinstance(layer, _CONV) else "pool_size"
    kernel, stride = _square(layer, kernel_attribute), _square(layer, "strides")
    if isinstance(layer, _CONV):
        kernel = _square(layer, "dilation_rate") * (kernel - 1) + 1
    if layer.padding == "valid":
        padding = 0
    elif layer.padding == "same":
        # TensorFlow pads max(k - s, 0) in total (input length divisible by s), the smaller
        # half first: (k - 1) // 2 for stride 1.
        padding = max(kernel - stride, 0) // 2
    else:
        raise ValueError(f"{layer.name}: unsupported padding {layer.padding!r}")
    return LayerSpec(layer.name, kernel, stride, padding)


def layer_specs(model: keras.Model, up_to: str | None = None) -> list[LayerSpec]:
    """Read the conv and pooling geometry of a sequential-style Keras model.

    Args:
        model: a model whose layers run one after the other (like VGG), with ``Conv2D``,
            ``DepthwiseConv2D``, ``MaxPooling2D``/``AveragePooling2D`` layers and pointwise
            layers (activations, normalisation, dropout) that do not change the fields.
        up_to: stop after the layer of this name (default: the last layer).

    Returns:
        One `LayerSpec` per conv/pooling layer, input side first. For ``"same"`` padding with
        stride > 1 the padding assumes an input length divisible by the stride.

    Raises:
        ValueError: ``up_to`` is not a layer of ``model`` (the message lists the valid names),
            or a layer with an unknown effect on receptive fields comes first.
    """
    names = [layer.name for layer in model.layers]
    if up_to is not None and up_to not in names:
        raise ValueError(f"Unknown layer {up_to!r}; valid layers: {', '.join(names)}")
    specs = []
    for layer in model.layers:
        if isinstance(layer, _CONV + _POOL):
            specs.append(_spec_of(layer))
        elif not isinstance(layer, _POINTWISE):
            raise ValueError(
                f"{layer.name}: don't know how a {type(layer).__name__} layer changes receptive"
                " fields; pass up_to= to stop before it"
            )
        if layer.name == up_to:
            break
    return specs


def layer_fields(backbone) -> dict[str, ReceptiveField]:
    """The receptive field of every layer of a backbone, pointwise layers included.

    A pointwise layer (batch normalisation, an activation) sees what the layer before it
    sees, so ``leaky_re_lu_6`` gets the field of ``conv2d_6``. Networks that branch, such
    as SqueezeNet's fire modules, bring their own function (`Backbone.receptive_fields_fn`).

    Args:
        backbone: a `nst_utils.backbone.Backbone`, or a sequential-style ``keras.Model``.

    Returns:
        ``{layer name: ReceptiveField}`` for every layer after the input, input side first.

    Raises:
        ValueError: a layer whose effect on receptive fields is unknown (see `layer_specs`).
    """
    own = getattr(backbone, "receptive_fields_fn", None)
    if own is not None:
        return own()
    model = getattr(backbone, "model", backbone)
    geometric = receptive_field(layer_specs(model))
    fields, last = {}, ReceptiveField("input", 1, 1, 0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        last = geometric.get(layer.name, last)
        fields[layer.name] = last if last.name == layer.name else replace(last, name=layer.name)
    return fields
