"""A small, bounds-checked reader of TensorFlow Lite (``.tflite``) model files.

A ``.tflite`` file is one FlatBuffer: a binary tree of *tables* (records whose fields are found
through a per-table index, the *vtable*), *vectors* (a length, then the elements) and *strings*,
all linked by 32-bit offsets. The root table, ``Model``, holds

* ``buffers``: raw bytes, one per constant tensor (weights, biases, shapes); buffer 0 is empty;
* ``subgraphs``: usually one, with ``tensors`` (name, shape, dtype, index of its buffer,
  quantisation), ``operators`` in execution order (an index into ``operator_codes``, the indices
  of its input and output tensors, and a table of options such as strides or padding) and the
  indices of the graph's ``inputs`` and ``outputs``.

Quantised tensors store integers ``q`` and the real value is ``scale * (q - zero_point)``, with one
scale for the whole tensor or one per output channel ("per-axis"). `Tensor.numpy` returns the real
values as float32 for int8, uint8, int16, int32 (biases) and float16 weights.

This module reads only what a Keras rebuild needs, with its own accessors (``struct`` on the
file's bytes) instead of TensorFlow's generated ``schema_py_generated`` (20 000 lines of a private
TensorFlow module, which trusts every offset): each read here is checked against the file's
length, so a truncated or foreign file raises `TFLiteFormatError` instead of crashing or
allocating a huge array. It never runs a model (see `nst_utils.models.magenta` for that).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Graph",
    "Operator",
    "Quantization",
    "TFLiteFormatError",
    "Tensor",
    "read_tflite",
]

#: FlatBuffers cannot address more than 2 GiB; larger files are not TFLite models we can read.
MAX_FILE_BYTES = 2**31 - 1
_IDENTIFIER = b"TFL3"

# TensorType enum of the TFLite schema -> NumPy dtype (little-endian).
_DTYPES = {
    0: np.dtype("<f4"),  # FLOAT32
    1: np.dtype("<f2"),  # FLOAT16
    2: np.dtype("<i4"),  # INT32
    3: np.dtype("u1"),  # UINT8
    4: np.dtype("<i8"),  # INT64
    6: np.dtype("?"),  # BOOL
    7: np.dtype("<i2"),  # INT16
    9: np.dtype("i1"),  # INT8
    10: np.dtype("<f8"),  # FLOAT64
}

# BuiltinOperator enum (the ones with a name here; others read as "BUILTIN_<code>").
OPCODES = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    2: "CONCATENATION",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    9: "FULLY_CONNECTED",
    14: "LOGISTIC",
    17: "MAX_POOL_2D",
    18: "MUL",
    19: "RELU",
    21: "RELU6",
    22: "RESHAPE",
    23: "RESIZE_BILINEAR",
    25: "SOFTMAX",
    28: "TANH",
    34: "PAD",
    40: "MEAN",
    41: "SUB",
    76: "RSQRT",
    97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU",
    99: "SQUARED_DIFFERENCE",
    100: "MIRROR_PAD",
    114: "QUANTIZE",
    117: "HARD_SWISH",
}

#: ActivationFunctionType enum: what a "fused" activation of CONV_2D, ADD... applies at the end.
ACTIVATIONS = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_PADDINGS = {0: "SAME", 1: "VALID"}
_MIRROR_MODES = {0: "REFLECT", 1: "SYMMETRIC"}

# BuiltinOptions union: type id -> fields in schema order (slot i at vtable offset 4 + 2 i),
# each (name, struct format, default, optional enum that turns the integer into a name).
_OPTIONS = {
    1: (  # Conv2DOptions
        ("padding", "b", 0, _PADDINGS),
        ("stride_w", "i", 0, None),
        ("stride_h", "i", 0, None),
        ("fused_activation_function", "b", 0, ACTIVATIONS),
        ("dilation_w_factor", "i", 1, None),
        ("dilation_h_factor", "i", 1, None),
    ),
    2: (  # DepthwiseConv2DOptions
        ("padding", "b", 0, _PADDINGS),
        ("stride_w", "i", 0, None),
        ("stride_h", "i", 0, None),
        ("depth_multiplier", "i", 0, None),
        ("fused_activation_function", "b", 0, ACTIVATIONS),
        ("dilation_w_factor", "i", 1, None),
        ("dilation_h_factor", "i", 1, None),
    ),
    5: (  # Pool2DOptions
        ("padding", "b", 0, _PADDINGS),
        ("stride_w", "i", 0, None),
        ("stride_h", "i", 0, None),
        ("filter_width", "i", 0, None),
        ("filter_height", "i", 0, None),
        ("fused_activation_function", "b", 0, ACTIVATIONS),
    ),
    10: (("axis", "i", 0, None), ("fused_activation_function", "b", 0, ACTIVATIONS)),
    11: (("fused_activation_function", "b", 0, ACTIVATIONS),),  # AddOptions
    15: (  # ResizeBilinearOptions (slots 0 and 1 are deprecated)
        ("new_height", "i", 0, None),
        ("new_width", "i", 0, None),
        ("align_corners", "?", False, None),
        ("half_pixel_centers", "?", False, None),
    ),
    21: (("fused_activation_function", "b", 0, ACTIVATIONS),),  # MulOptions
    27: (("keep_dims", "?", False, None),),  # ReducerOptions
    28: (("fused_activation_function", "b", 0, ACTIVATIONS),),  # SubOptions
    74: (("align_corners", "?", False, None), ("half_pixel_centers", "?", False, None)),
    77: (("mode", "b", 0, _MIRROR_MODES),),  # MirrorPadOptions
}


class TFLiteFormatError(ValueError):
    """The bytes are not a readable TFLite model (wrong kind of file, truncated or corrupt)."""


class _Reader:
    """Bounds-checked access to FlatBuffer tables, vectors and scalars in one bytes object."""

    def __init__(self, data: bytes, source: str):
        self.data = data
        self.source = source

    def fail(self, what: str):
        raise TFLiteFormatError(
            f"{self.source} is truncated or corrupt ({what}). Fix: copy the .tflite file again"
            " (`make data` downloads and verifies it)."
        )

    def scalar(self, fmt: str, pos: int):
        size = struct.calcsize("<" + fmt)
        if pos < 0 or pos + size > len(self.data):
            self.fail(f"a {size}-byte field at offset {pos} lies outside the file")
        return struct.unpack_from("<" + fmt, self.data, pos)[0]

    def indirect(self, pos: int) -> int:
        """Follow the unsigned 32-bit offset stored at ``pos``."""
        return pos + self.scalar("I", pos)

    def field_pos(self, table: int, slot: int) -> int | None:
        """Where field ``slot`` of ``table`` is stored, or None if absent (default value)."""
        vtable = table - self.scalar("i", table)
        vtable_size = self.scalar("H", vtable)
        entry = 4 + 2 * slot
        if entry + 2 > vtable_size:
            return None
        offset = self.scalar("H", vtable + entry)
        return table + offset if offset else None

    def field(self, table: int, slot: int, fmt: str, default):
        pos = self.field_pos(table, slot)
        return default if pos is None else self.scalar(fmt, pos)

    def table(self, table: int, slot: int) -> int | None:
        pos = self.field_pos(table, slot)
        return None if pos is None else self.indirect(pos)

    def vector(self, table: int, slot: int, item_size: int) -> tuple[int, int]:
        """``(start of the elements, element count)`` of a vector field; ``(0, 0)`` if absent."""
        pos = self.field_pos(table, slot)
        if pos is None:
            return 0, 0
        start = self.indirect(pos)
        count = self.scalar("I", start)
        if count * item_size > len(self.data) - start - 4:
            self.fail(f"a vector of {count} items at offset {start} runs past the end")
        return start + 4, count

    def array(self, table: int, slot: int, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        start, count = self.vector(table, slot, dtype.itemsize)
        return np.frombuffer(self.data, dtype, count, start).copy()

    def tables(self, table: int, slot: int) -> list[int]:
        start, count = self.vector(table, slot, 4)
        return [self.indirect(start + 4 * i) for i in range(count)]

    def string(self, table: int, slot: int) -> str:
        start, count = self.vector(table, slot, 1)
        return self.data[start : start + count].decode("utf-8", errors="replace")

    def bytes(self, table: int, slot: int) -> bytes:
        start, count = self.vector(table, slot, 1)
        return self.data[start : start + count]


@dataclass(frozen=True)
class Quantization:
    """How a tensor's integers map to real numbers: ``real = scale * (q - zero_point)``.

    Attributes:
        scale: one value per tensor, or one per slice along ``axis`` (per-axis quantisation,
            used for convolution weights: one scale per output channel).
        zero_point: the integer that stands for 0.0, same length as ``scale``.
        axis: the quantised dimension for per-axis parameters.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0

    @property
    def per_axis(self) -> bool:
        """True when there is one scale per slice along `axis`."""
        return self.scale.size > 1

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        """Return ``scale * (values - zero_point)`` as float32, broadcast along `axis`."""
        shape = [1] * values.ndim
        if self.per_axis:
            shape[self.axis] = -1
        scale = self.scale.astype(np.float64).reshape(shape)
        zero = self.zero_point.astype(np.float64).reshape(shape)
        return (scale * (values.astype(np.float64) - zero)).astype(np.float32)


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph: an activation (no data) or a constant (weights, shapes).

    Attributes:
        index: position in the subgraph's tensor list (operators refer to tensors by it).
        name: the name the converter kept, often the TensorFlow op that produced it.
        shape: static shape; ``shape_signature`` has -1 where the size was dynamic at export.
        dtype: NumPy dtype of the stored values (int8, float16, float32...).
        data: raw little-endian bytes of a constant, None for activations.
        quantization: scale / zero point, None for a float tensor.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: bytes | None = field(default=None, repr=False)
    quantization: Quantization | None = None
    shape_signature: tuple[int, ...] | None = None

    @property
    def is_constant(self) -> bool:
        """True for tensors with stored values (weights, biases, paddings, axes...)."""
        return self.data is not None

    def raw(self) -> np.ndarray:
        """The stored values as they are in the file (e.g. int8 codes), with `shape`."""
        if self.data is None:
            raise ValueError(f"Tensor {self.name!r} is an activation; it has no stored values")
        count = int(np.prod(self.shape, dtype=np.int64))
        if count * self.dtype.itemsize != len(self.data):
            raise TFLiteFormatError(
                f"Tensor {self.name!r}: shape {self.shape} of {self.dtype} needs"
                f" {count * self.dtype.itemsize} bytes, its buffer has {len(self.data)}"
            )
        return np.frombuffer(self.data, self.dtype, count).reshape(self.shape).copy()

    def numpy(self) -> np.ndarray:
        """The real values: dequantised (int8/int32/...) or widened (float16) to float32.

        Integer tensors without quantisation (shapes, axes, paddings) keep their dtype.
        """
        values = self.raw()
        if self.quantization is not None:
            return self.quantization.dequantize(values)
        if values.dtype.kind == "f":
            return values.astype(np.float32)
        return values


@dataclass(frozen=True)
class Operator:
    """One operation: ``outputs = opcode(inputs, **options)``.

    Attributes:
        index: position in execution order.
        opcode: builtin operator name, e.g. ``"CONV_2D"`` (``"CUSTOM:<name>"`` for custom ops).
        inputs: tensor indices (-1 marks an omitted optional input).
        outputs: tensor indices.
        options: decoded builtin options, e.g. ``{"padding": "VALID", "stride_w": 2, ...}``;
            empty when the op has none or their table is not one this reader knows.
    """

    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Graph:
    """The first subgraph of a TFLite model, with everything needed to rebuild it.

    Attributes:
        tensors: all tensors, indexed by `Tensor.index`.
        operators: in execution order.
        inputs, outputs: tensor indices of the graph's inputs and outputs.
        version: schema version (3 for current files).
        description: the converter's description string.
    """

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    version: int = 3
    description: str = ""

    def tensor(self, name: str) -> Tensor:
        """The tensor called ``name`` (raises KeyError listing a few names if absent)."""
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(f"No tensor {name!r}; e.g. {[t.name for t in self.tensors[:5]]}")

    def opcodes(self) -> dict[str, int]:
        """How many operators of each kind the graph has, e.g. ``{"CONV_2D": 120, ...}``."""
        counts: dict[str, int] = {}
        for op in self.operators:
            counts[op.opcode] = counts.get(op.opcode, 0) + 1
        return counts


def _opcode_names(reader: _Reader, model: int) -> list[str]:
    names = []
    for code in reader.tables(model, 1):
        # Schema v3a: the 8-bit deprecated field saturates at 127; the 32-bit one is the truth.
        builtin = max(reader.field(code, 0, "b", 0), reader.field(code, 3, "i", 0))
        custom = reader.string(code, 1)
        names.append(f"CUSTOM:{custom}" if custom else OPCODES.get(builtin, f"BUILTIN_{builtin}"))
    return names


def _buffer_bytes(reader: _Reader, buffer: int) -> bytes | None:
    data = reader.bytes(buffer, 0)
    if data:
        return data
    offset, size = reader.field(buffer, 1, "Q", 0), reader.field(buffer, 2, "Q", 0)
    if offset > 1:  # large models keep the weights after the FlatBuffer, at absolute offsets
        if offset + size > len(reader.data):
            reader.fail(f"an external buffer at {offset} of {size} bytes runs past the end")
        return reader.data[offset : offset + size]
    return None


def _quantization(reader: _Reader, table: int | None) -> Quantization | None:
    if table is None:
        return None
    scale = reader.array(table, 2, "<f4")
    if scale.size == 0:
        return None
    zero_point = reader.array(table, 3, "<i8")
    if zero_point.size != scale.size:  # one zero point shared by every channel (or none: 0)
        shared = zero_point[0] if zero_point.size else 0
        zero_point = np.full(scale.shape, shared, np.int64)
    return Quantization(scale, zero_point, reader.field(table, 6, "i", 0))


def _tensor(reader: _Reader, table: int, index: int, buffers: list[int]) -> Tensor:
    type_code = reader.field(table, 1, "b", 0)
    if type_code not in _DTYPES:
        reader.fail(f"tensor {index} has unsupported type code {type_code}")
    buffer = reader.field(table, 2, "I", 0)
    if buffer >= len(buffers):
        reader.fail(f"tensor {index} refers to buffer {buffer} of {len(buffers)}")
    signature = reader.array(table, 7, "<i4")
    return Tensor(
        index=index,
        name=reader.string(table, 3),
        shape=tuple(int(d) for d in reader.array(table, 0, "<i4")),
        dtype=_DTYPES[type_code],
        data=_buffer_bytes(reader, buffers[buffer]) if buffer else None,
        quantization=_quantization(reader, reader.table(table, 4)),
        shape_signature=tuple(int(d) for d in signature) if signature.size else None,
    )


def _options(reader: _Reader, op: int) -> dict:
    kind = reader.field(op, 3, "B", 0)
    table = reader.table(op, 4)
    if table is None or kind not in _OPTIONS:
        return {}
    options = {}
    for slot, (name, fmt, default, enum) in enumerate(_OPTIONS[kind]):
        value = reader.field(table, slot, fmt, default)
        options[name] = enum.get(value, value) if enum else value
    return options


def _operator(reader: _Reader, table: int, index: int, names: list[str], n_tensors: int):
    code = reader.field(table, 0, "I", 0)
    if code >= len(names):
        reader.fail(f"operator {index} has opcode index {code} of {len(names)}")
    inputs = tuple(int(i) for i in reader.array(table, 1, "<i4"))
    outputs = tuple(int(i) for i in reader.array(table, 2, "<i4"))
    if any(i >= n_tensors or i < -1 for i in inputs + outputs):
        reader.fail(f"operator {index} refers to a tensor outside 0..{n_tensors - 1}")
    return Operator(index, names[code], inputs, outputs, _options(reader, table))


def _read_bytes(source) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "the TFLite bytes"
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"TFLite model not found: {path}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TFLiteFormatError(f"{path} has {size} bytes; a FlatBuffer holds at most 2 GiB")
    return path.read_bytes(), str(path)


def read_tflite(source) -> Graph:
    """Read the first subgraph of a ``.tflite`` model: tensors, operators, inputs, outputs.

    Args:
        source: path to a ``.tflite`` file, or its bytes.

    Returns:
        A `Graph`; constant tensors carry their bytes (`Tensor.numpy` dequantises them).

    Raises:
        FileNotFoundError: the path does not exist.
        TFLiteFormatError: not a TFLite file (no ``TFL3`` identifier), or truncated / corrupt.
    """
    data, name = _read_bytes(source)
    if len(data) < 8 or data[4:8] != _IDENTIFIER:
        raise TFLiteFormatError(
            f"{name} is not a TFLite model (no 'TFL3' identifier at bytes 4..8). Fix: pass a"
            " .tflite file, e.g. one from pretrained/magenta_arbitrary_stylization_tflite/."
        )
    reader = _Reader(data, name)
    model = reader.indirect(0)
    subgraphs = reader.tables(model, 2)
    if not subgraphs:
        reader.fail("the model has no subgraph")
    graph, buffers = subgraphs[0], reader.tables(model, 4)
    names = _opcode_names(reader, model)
    tensors = tuple(
        _tensor(reader, table, i, buffers) for i, table in enumerate(reader.tables(graph, 0))
    )
    operators = tuple(
        _operator(reader, table, i, names, len(tensors))
        for i, table in enumerate(reader.tables(graph, 3))
    )
    io = [tuple(int(i) for i in reader.array(graph, slot, "<i4")) for slot in (1, 2)]
    if any(i < 0 or i >= len(tensors) for i in io[0] + io[1]):
        reader.fail("a graph input or output is not a tensor of the graph")
    return Graph(
        tensors=tensors,
        operators=operators,
        inputs=io[0],
        outputs=io[1],
        version=reader.field(model, 0, "I", 0),
        description=reader.string(model, 3),
    )
