"""Magenta's arbitrary style transfer (Ghiasi et al. 2017) rebuilt as Keras models from TFLite.

Gatys' method (`nst_utils.stylize`) optimises the pixels of every new image for hundreds of
steps. Ghiasi et al. train two networks once, so that stylising is one forward pass:

* the **style prediction network** ``P`` (a MobileNet-v2, distilled from Inception-v3) reads a
  256x256 painting and summarises it in a **style vector** ``s = P(style)`` of 100 numbers. The
  vector is a point in a learned "space of styles": paintings that look alike get nearby
  vectors, and points between two paintings are plausible mixtures of both.
* the **style transfer network** ``T`` repaints a photo. It is small (0.4 MB in float16):
  *contract*, three convolutions (9x9 to 8 channels, then 3x3 stride 2 to 16 and 32: 1/4 of
  the size); five *residual* blocks of two 3x3 convolutions at 32 channels; *expand*, two
  nearest-neighbour 2x upsamplings each followed by a 3x3 convolution (16, 8 channels), a 9x9
  convolution to RGB and a sigmoid to ``[0, 1]``; mirror padding before every convolution.
  The contract convolutions were batch-normalised in training (folded into their weights by
  the converter). After every later convolution the network normalises every channel of every
  image to mean 0 and variance 1 over the image (*instance normalisation*), then sets a new
  scale and shift,
  ``y = gamma * (x - mean) / sqrt(var + eps) + beta``. Those ``gamma`` and ``beta`` are not fixed
  weights: each is a linear function of ``s`` (a 1x1 convolution on the 100-D vector, the
  ``style_params/.../StyleNorm/Conv`` tensors). This is *conditional instance normalisation*:
  Dumoulin et al. (2017) found that one network can paint many styles if only these per-channel
  statistics change with the style (the statistics of feature maps are what a Gram matrix
  measures), and Ghiasi et al. predict them from any painting instead of learning a table of
  32 styles. The convolution weights are shared by every style.

The TFLite files (``pretrained/magenta_arbitrary_stylization_tflite``) are read with
`nst_utils.models.tflite` and rebuilt **op by op**: each TFLite operator becomes the Keras layer
or ``keras.ops`` call that computes the same thing (`build_keras_model`), with the weights
dequantised to float32. Two things differ from a literal copy:

* **size-agnostic**: the transfer graph resizes to fixed sizes (96 -> 192 -> 384 px). The rebuild
  replaces each fixed ``RESIZE_NEAREST_NEIGHBOR`` by an upsampling by the same integer factor
  (2x), and leaves the spatial input dimensions open, so any content size works (a multiple of 4
  gives an output of exactly the input's size; `nst_utils.fast` pads to one).
* **int8 emulation** (``emulate_int8=True``): the style predictor stores its activations as int8
  too. Where the TFLite graph rounds an activation to its int8 grid, the rebuild rounds the float
  value to the same grid (`FakeQuant`). That follows LiteRT rather than the float network the
  file was quantised from: on the course's paintings about 70% of the style vector's entries
  come out equal to LiteRT's and the rest one int8 step (0.02) away (without emulation, up to
  two steps and almost none equal). Bit-exactness would need LiteRT's integer kernels
  (fixed-point rescaling, its own rounding in MEAN and ADD); tiny differences early on grow
  through the 17 blocks.

Public: `build_keras_model`, `style_predictor`, `style_transformer`, `FakeQuant`, and the
manifest names `PREDICTOR_WEIGHTS` and `TRANSFER_WEIGHTS`.
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import ops

from nst_utils.models.tflite import Graph, Operator, Quantization, Tensor, read_tflite

__all__ = [
    "PREDICTOR_WEIGHTS",
    "STYLE_DIM",
    "STYLE_SIZE",
    "TRANSFER_WEIGHTS",
    "FakeQuant",
    "UnsupportedGraphError",
    "build_keras_model",
    "style_predictor",
    "style_transformer",
]

#: `weights/manifest.toml` entry of the int8 style prediction network.
PREDICTOR_WEIGHTS = "magenta_style_predict_int8"
#: Manifest entries of the style transfer network, by precision of the stored weights.
TRANSFER_WEIGHTS = {"fp16": "magenta_style_transfer_fp16", "int8": "magenta_style_transfer_int8"}
#: Side of the square style image the predictor was exported for, in pixels.
STYLE_SIZE = 256
#: Length of the style vector.
STYLE_DIM = 100

_INT_RANGES = {
    np.dtype("i1"): (-128, 127),
    np.dtype("u1"): (0, 255),
    np.dtype("<i2"): (-32768, 32767),
}


class UnsupportedGraphError(NotImplementedError):
    """The TFLite graph uses an operator or option this op-by-op builder does not implement."""


@keras.saving.register_keras_serializable(package="nst_utils")
class FakeQuant(keras.layers.Layer):
    """Round a float tensor to an integer grid and back: what storing it as int8 does.

    ``q = clip(round(x / scale) + zero_point, qmin, qmax)``, output ``scale * (q - zero_point)``;
    ties round away from zero, as TFLite's kernels do. The output keeps float32, only its
    values are restricted to the ``qmax - qmin + 1`` levels the quantised model can represent.
    """

    def __init__(self, scale: float, zero_point: int, qmin: int, qmax: int, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.zero_point = float(scale), int(zero_point)
        self.qmin, self.qmax = int(qmin), int(qmax)

    def call(self, x):
        y = x / self.scale
        y = ops.sign(y) * ops.floor(ops.abs(y) + 0.5) + self.zero_point
        y = ops.clip(y, self.qmin, self.qmax)
        return (y - self.zero_point) * self.scale

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "zero_point": self.zero_point,
            "qmin": self.qmin,
            "qmax": self.qmax,
        }


class _Builder:
    """Turns a `Graph` into a Keras functional model, one operator at a time."""

    def __init__(self, graph: Graph, emulate_int8: bool, fixed_shape: bool):
        self.graph = graph
        self.emulate_int8 = emulate_int8
        self.fixed_shape = fixed_shape
        self.values: dict[int, object] = {}
        self.names: set[str] = set()

    def layer_name(self, tensor: Tensor) -> str:
        """A unique Keras layer name from a TFLite tensor name (``/`` is not allowed)."""
        base = re.sub(r"[^A-Za-z0-9_.-]", ".", tensor.name) or f"t{tensor.index}"
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    def value(self, index: int):
        """The Keras tensor computed for ``index``, or the constant's float32 values."""
        if index not in self.values:
            tensor = self.graph.tensors[index]
            if not tensor.is_constant:
                raise UnsupportedGraphError(
                    f"Tensor {tensor.name!r} is used before any operator computes it"
                )
            self.values[index] = tensor.numpy()
        return self.values[index]

    def inputs(self) -> list:
        layers = []
        for index in self.graph.inputs:
            tensor = self.graph.tensors[index]
            shape = list(tensor.shape[1:])
            if not self.fixed_shape and len(shape) == 3 and shape[0] > 1 and shape[1] > 1:
                shape[:2] = [None, None]  # fully convolutional: any height and width
            layers.append(keras.Input(shape=tuple(shape), name=self.layer_name(tensor)))
            self.values[index] = layers[-1]
        return layers

    def run(self, op: Operator) -> None:
        handler = _HANDLERS.get(op.opcode)
        if handler is None:
            raise UnsupportedGraphError(
                f"Operator {op.index} is {op.opcode}, which build_keras_model does not rebuild;"
                f" supported: {', '.join(sorted(_HANDLERS))}"
            )
        out = self.graph.tensors[op.outputs[0]]
        args = [self.value(i) if i >= 0 else None for i in op.inputs]
        result = handler(self, op, args, out)
        result = _activation(result, op.options.get("fused_activation_function"))
        if all(isinstance(a, np.ndarray) or a is None for a in args):
            result = np.asarray(result)  # constant folding (e.g. DEQUANTIZE of fp16 weights)
        elif self.emulate_int8 and out.quantization is not None and out.dtype in _INT_RANGES:
            result = _fake_quant(result, out.quantization, out.dtype, self.layer_name(out))
        self.values[op.outputs[0]] = result


def _fake_quant(x, quantization: Quantization, dtype, name: str):
    if quantization.per_axis:
        raise UnsupportedGraphError(f"{name}: per-axis quantised activations are not emulated")
    qmin, qmax = _INT_RANGES[dtype]
    scale, zero = quantization.scale[0], quantization.zero_point[0]
    return FakeQuant(scale, zero, qmin, qmax, name=f"{name}.fakequant")(x)


def _activation(x, kind: str | None):
    if kind is None:
        return x
    if kind == "RELU":
        return ops.relu(x)
    if kind == "RELU6":
        return ops.relu6(x)
    if kind == "RELU_N1_TO_1":
        return ops.clip(x, -1.0, 1.0)
    if kind == "TANH":
        return ops.tanh(x)
    raise UnsupportedGraphError(f"fused activation {kind} is not supported")


def _conv_common(op: Operator) -> dict:
    if "stride_h" not in op.options:
        raise UnsupportedGraphError(f"Operator {op.index} ({op.opcode}) has no options table")
    return {
        "strides": (op.options["stride_h"], op.options["stride_w"]),
        "padding": op.options["padding"].lower(),
        "dilation_rate": (op.options["dilation_h_factor"], op.options["dilation_w_factor"]),
    }


def _conv2d(builder: _Builder, op: Operator, args, out: Tensor):
    """CONV_2D: TFLite stores filters as (out, kh, kw, in); Keras wants (kh, kw, in, out)."""
    x, kernel, bias = (args + [None])[:3]
    kernel = np.transpose(kernel, (1, 2, 3, 0))
    layer = keras.layers.Conv2D(
        kernel.shape[-1],
        kernel.shape[:2],
        use_bias=bias is not None,
        name=builder.layer_name(out),
        **_conv_common(op),
    )
    layer.build((None, None, None, kernel.shape[2]))
    layer.set_weights([kernel] + ([bias] if bias is not None else []))
    return layer(x)


def _depthwise_conv2d(builder: _Builder, op: Operator, args, out: Tensor):
    """DEPTHWISE_CONV_2D: filters (1, kh, kw, in * multiplier) -> Keras (kh, kw, in, mult)."""
    x, kernel, bias = (args + [None])[:3]
    multiplier = op.options["depth_multiplier"] or 1
    height, width, channels = kernel.shape[1], kernel.shape[2], kernel.shape[3] // multiplier
    layer = keras.layers.DepthwiseConv2D(
        (height, width),
        depth_multiplier=multiplier,
        use_bias=bias is not None,
        name=builder.layer_name(out),
        **_conv_common(op),
    )
    layer.build((None, None, None, channels))
    depthwise = kernel.reshape(height, width, channels, multiplier)
    layer.set_weights([depthwise] + ([bias] if bias is not None else []))
    return layer(x)


def _resize_nearest(builder: _Builder, op: Operator, args, out: Tensor):
    """RESIZE_NEAREST_NEIGHBOR to a fixed size, rebuilt as upsampling by the same factor."""
    source = builder.graph.tensors[op.inputs[0]].shape[1:3]
    target = tuple(int(v) for v in args[1])
    factors = tuple(t // s for t, s in zip(target, source, strict=True))
    if any(f * s != t for f, s, t in zip(factors, source, target, strict=True)):
        raise UnsupportedGraphError(
            f"{out.name}: resize {source} -> {target} is not by an integer factor"
        )
    if op.options.get("align_corners"):
        raise UnsupportedGraphError(f"{out.name}: align_corners resizing is not supported")
    # With an integer factor, half_pixel_centers or not, nearest neighbour repeats each pixel.
    name = builder.layer_name(out)
    return keras.layers.UpSampling2D(factors, interpolation="nearest", name=name)(args[0])


def _mirror_pad(builder: _Builder, op: Operator, args, out: Tensor):
    mode = {"REFLECT": "reflect", "SYMMETRIC": "symmetric"}[op.options.get("mode", "REFLECT")]
    return ops.pad(args[0], np.asarray(args[1], np.int64).tolist(), mode=mode)


def _pad(builder: _Builder, op: Operator, args, out: Tensor):
    return ops.pad(args[0], np.asarray(args[1], np.int64).tolist())


def _mean(builder: _Builder, op: Operator, args, out: Tensor):
    axes = tuple(int(a) for a in np.atleast_1d(args[1]))
    return ops.mean(args[0], axis=axes, keepdims=bool(op.options.get("keep_dims")))


def _unary(function):
    return lambda builder, op, args, out: function(args[0])


def _binary(function):
    return lambda builder, op, args, out: function(args[0], args[1])


_HANDLERS = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv2d,
    "ADD": _binary(ops.add),
    "SUB": _binary(ops.subtract),
    "MUL": _binary(ops.multiply),
    "SQUARED_DIFFERENCE": _binary(lambda a, b: ops.square(ops.subtract(a, b))),
    "MEAN": _mean,
    "RSQRT": _unary(ops.rsqrt),
    "LOGISTIC": _unary(ops.sigmoid),
    "RELU": _unary(ops.relu),
    "RELU6": _unary(ops.relu6),
    "TANH": _unary(ops.tanh),
    "MIRROR_PAD": _mirror_pad,
    "PAD": _pad,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nearest,
    # Values travel as float32 in Keras: (de)quantising changes nothing, except that with
    # emulate_int8 the output of QUANTIZE is rounded to its int8 grid by `_Builder.run`.
    "QUANTIZE": _unary(lambda x: x),
    "DEQUANTIZE": _unary(lambda x: x),
}


def build_keras_model(
    graph: Graph | str, *, name: str = "tflite", emulate_int8: bool = True, fixed_shape=False
) -> keras.Model:
    """Rebuild a TFLite graph as a Keras functional model, one operator at a time.

    Every constant is dequantised to float32 (int8 weights with their per-channel scales, int32
    biases, float16 weights); every activation is float32.

    Args:
        graph: a `Graph` from `read_tflite`, or the path of a ``.tflite`` file.
        name: the Keras model's name.
        emulate_int8: round activations that the TFLite model stores as int8 to the same grid
            (`FakeQuant`), which reproduces a fully quantised model's output almost exactly.
            False gives the float network the file was quantised from.
        fixed_shape: keep the file's input height and width; by default 4-D inputs with a
            spatial extent accept any height and width.

    Returns:
        A ``keras.Model`` whose inputs and outputs follow the graph's order (TFLite names).

    Raises:
        UnsupportedGraphError: an operator or option outside those listed in the module.
    """
    if not isinstance(graph, Graph):
        graph = read_tflite(graph)
    builder = _Builder(graph, emulate_int8, fixed_shape)
    inputs = builder.inputs()
    for op in graph.operators:
        builder.run(op)
    outputs = [builder.values[i] for i in graph.outputs]
    return keras.Model(
        inputs if len(inputs) > 1 else inputs[0],
        outputs if len(outputs) > 1 else outputs[0],
        name=name,
    )


def _weights_file(entry: str, path):
    if path is not None:
        return path
    from workbook.resources import weights_path

    return weights_path(entry)


def style_predictor(path=None, *, emulate_int8: bool = True) -> keras.Model:
    """The style prediction network: ``(B, H, W, 3)`` in ``[0, 1]`` -> ``(B, 1, 1, 100)``.

    It was exported for 256x256 style images (`STYLE_SIZE`); being convolutional with a global
    mean at the end, it runs on other sizes too.

    Args:
        path: a ``.tflite`` file; default: manifest entry `PREDICTOR_WEIGHTS` (verified).
        emulate_int8: see `build_keras_model`.
    """
    file = _weights_file(PREDICTOR_WEIGHTS, path)
    return build_keras_model(file, name="style_predict", emulate_int8=emulate_int8)


def style_transformer(path=None, *, precision: str = "fp16") -> keras.Model:
    """The style transfer network: ``[content (B, H, W, 3) in [0, 1], style (B, 1, 1, 100)]``.

    Returns ``(B, H', W', 3)`` in ``[0, 1]`` (a sigmoid), ``H' = 4 * ceil(H / 4)`` (the same size
    when ``H`` and ``W`` are multiples of 4).

    Args:
        path: a ``.tflite`` file; default: the manifest entry for ``precision``.
        precision: ``"fp16"`` (float16 weights, float compute; the reference) or ``"int8"``
            (int8 weights and activations, emulated; smaller file, a little noisier).
    """
    if precision not in TRANSFER_WEIGHTS:
        raise ValueError(f"precision must be one of {sorted(TRANSFER_WEIGHTS)}; got {precision!r}")
    file = _weights_file(TRANSFER_WEIGHTS[precision], path)
    return build_keras_model(file, name=f"style_transfer_{precision}")
