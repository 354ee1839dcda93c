"""Read the layers of a dlib DNN model file (``.dat``) without dlib.

dlib writes a network with its own serialization (``dlib/serialize.h``):

* an integer is one control byte, whose low 4 bits give the number of value bytes
  and whose high bit marks a negative value, followed by those bytes little-endian;
* a string is its length (an integer as above) followed by its bytes;
* a bool is the ASCII byte ``'0'`` or ``'1'``;
* a float is a mantissa (integer) and a base-2 exponent (integer);
* a tensor is a version integer (2), the four sizes ``num_samples, k, nr, nc`` and
  then ``num_samples*k*nr*nc`` raw little-endian float32 values; an *alias* tensor
  (a view into a parameter tensor) is a version integer (1) and the four sizes only.

Each layer writes a version string such as ``"con_4"`` followed by its fields, and
each layer writes the sub-network below it *before* its own fields, so the layers
appear in forward order, input first. The wrappers between layers (tags, skips,
bookkeeping flags) carry no parameters; this reader finds the next layer record by
its length-prefixed version string and parses the record field by field.
`read_dlib_network` returns the layers in file order; `dlib_resnet` builds a Keras
model from them.

Files made of nothing but dlib integers and floats (the shape predictors, read by
`fr_utils.models.shape_predictor`) are decoded all at once by `integer_stream` and
`floats_from_pairs`.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DlibFormatError",
    "DlibLayer",
    "floats_from_pairs",
    "integer_stream",
    "read_dlib_network",
]


class DlibFormatError(ValueError):
    """Raised when a file is not a dlib network this reader understands."""


@dataclass
class DlibLayer:
    """One layer record of a dlib network file.

    Attributes:
        kind: layer type without version suffix: ``"input_rgb_image_sized"``, ``"con"``,
            ``"affine"``, ``"relu"``, ``"max_pool"``, ``"avg_pool"``, ``"add_prev"``,
            ``"fc"`` or ``"loss_metric"``.
        version: the full version string found in the file (e.g. ``"con_4"``).
        offset: byte offset of the record in the file.
        attrs: the record's scalar fields (sizes, strides, paddings, means).
        params: named float32 arrays (``"filters"`` ``(num_filters, k, nr, nc)``,
            ``"biases"``, ``"gamma"``, ``"beta"``, ``"weights"`` ``(num_inputs, num_outputs)``).
    """

    kind: str
    version: str
    offset: int
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


class _Reader:
    """Cursor over the bytes of a dlib file with one method per serialized type."""

    def __init__(self, data: bytes, path: str):
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(f"{self.path}: {what} at byte {self.pos}; not a dlib network file?")

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("unexpected end of file")
        control = self.data[self.pos]
        size = control & 0x0F
        if size == 0 or size > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte 0x{control:02x}")
        raw = self.data[self.pos + 1 : self.pos + 1 + size]
        if len(raw) != size:
            raise self.fail("unexpected end of file")
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if control & 0x80 else value

    def string(self) -> str:
        length = self.integer()
        raw = self.data[self.pos : self.pos + length]
        if len(raw) != length:
            raise self.fail("unexpected end of file")
        self.pos += length
        return raw.decode("latin-1")

    def boolean(self) -> bool:
        byte = self.data[self.pos : self.pos + 1]
        if byte not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {byte!r}")
        self.pos += 1
        return byte == b"1"

    def floating(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        return float(mantissa) * 2.0**exponent

    def _sizes(self, expected_version: int, what: str) -> tuple[int, int, int, int]:
        version = self.integer()
        if version != expected_version:
            raise self.fail(f"{what} version {version} (expected {expected_version})")
        sizes = tuple(self.integer() for _ in range(4))
        if min(sizes) < 0:
            raise self.fail(f"negative {what} size {sizes}")
        return sizes

    def tensor(self) -> np.ndarray:
        sizes = self._sizes(2, "tensor")
        count = int(np.prod(sizes))
        end = self.pos + 4 * count
        if end > len(self.data):
            raise self.fail(f"tensor of {count} floats runs past the end of the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return values.astype(np.float32).reshape(sizes)

    def alias(self) -> tuple[int, int, int, int]:
        return self._sizes(1, "alias tensor")


def _split(reader: _Reader, params: np.ndarray, *aliases) -> list[np.ndarray]:
    """Cut a flat parameter tensor into consecutive views of the given alias shapes."""
    flat, start, parts = params.reshape(-1), 0, []
    for shape in aliases:
        size = int(np.prod(shape))
        parts.append(flat[start : start + size].reshape(shape))
        start += size
    if start != flat.size:
        raise reader.fail(f"parameter tensor holds {flat.size} values, aliases need {start}")
    return parts


def _read_input(reader: _Reader, layer: DlibLayer) -> None:
    layer.attrs["mean_rgb"] = tuple(reader.floating() for _ in range(3))
    layer.attrs["rows"], layer.attrs["cols"] = reader.integer(), reader.integer()


def _read_con(reader: _Reader, layer: DlibLayer) -> None:
    params = reader.tensor()
    attrs = layer.attrs
    attrs["num_filters"], attrs["rows"], attrs["cols"] = (reader.integer() for _ in range(3))
    attrs["stride"] = (reader.integer(), reader.integer())
    attrs["padding"] = (reader.integer(), reader.integer())
    filters_shape, biases_shape = reader.alias(), reader.alias()
    layer.params["filters"], biases = _split(reader, params, filters_shape, biases_shape)
    layer.params["biases"] = biases.reshape(-1)
    for _ in range(4):  # learning-rate and weight-decay multipliers
        reader.floating()
    attrs["use_bias"] = reader.boolean() if layer.version in ("con_5", "con_6") else True
    if layer.version == "con_6":
        attrs["use_relu"] = reader.boolean()


def _read_affine(reader: _Reader, layer: DlibLayer) -> None:
    params = reader.tensor()
    gamma_shape, beta_shape = reader.alias(), reader.alias()
    gamma, beta = _split(reader, params, gamma_shape, beta_shape)
    layer.params["gamma"], layer.params["beta"] = gamma.reshape(-1), beta.reshape(-1)
    layer.attrs["mode"] = reader.integer()  # 0: per channel (CONV_MODE), 1: per element
    if layer.version == "affine_2":
        layer.attrs["disabled"] = reader.boolean()


def _read_pool(reader: _Reader, layer: DlibLayer) -> None:
    attrs = layer.attrs
    attrs["rows"], attrs["cols"] = reader.integer(), reader.integer()
    attrs["stride"] = (reader.integer(), reader.integer())
    attrs["padding"] = (reader.integer(), reader.integer())


def _read_fc(reader: _Reader, layer: DlibLayer) -> None:
    layer.attrs["num_outputs"], layer.attrs["num_inputs"] = reader.integer(), reader.integer()
    params = reader.tensor()
    weights_shape, biases_shape = reader.alias(), reader.alias()
    layer.attrs["bias_mode"] = None  # read below, after the views are cut
    shapes = [weights_shape] + ([biases_shape] if np.prod(biases_shape) else [])
    parts = _split(reader, params, *shapes)
    layer.params["weights"] = parts[0].reshape(weights_shape[0], -1)
    if len(parts) > 1:
        layer.params["biases"] = parts[1].reshape(-1)
    layer.attrs["bias_mode"] = reader.integer()  # 0: FC_HAS_BIAS, 1: FC_NO_BIAS
    for _ in range(4):
        reader.floating()
    if layer.version == "fc_3":
        layer.attrs["use_bias"] = reader.boolean()


def _read_nothing(reader: _Reader, layer: DlibLayer) -> None:
    """Records whose fields this port does not need (activations, additions, the loss)."""


# version string -> (kind, field parser)
_RECORDS = {
    "input_rgb_image_sized": ("input_rgb_image_sized", _read_input),
    "con_4": ("con", _read_con),
    "con_5": ("con", _read_con),
    "con_6": ("con", _read_con),
    "affine_": ("affine", _read_affine),
    "affine_2": ("affine", _read_affine),
    "relu_": ("relu", _read_nothing),
    "relu_2": ("relu", _read_nothing),
    "max_pool_2": ("max_pool", _read_pool),
    "avg_pool_2": ("avg_pool", _read_pool),
    "add_prev_": ("add_prev", _read_nothing),
    "fc_2": ("fc", _read_fc),
    "fc_3": ("fc", _read_fc),
    "loss_metric_": ("loss_metric", _read_nothing),
    "loss_metric_2": ("loss_metric", _read_nothing),
}
# A record starts with its version string: length as a one-byte dlib integer, then the text.
_HEADERS = {bytes([1, len(v)]) + v.encode(): v for v in _RECORDS}


def _next_record(data: bytes, start: int) -> tuple[int, str] | None:
    """Return ``(offset, version)`` of the first record header at or after ``start``."""
    best = None
    for header, version in _HEADERS.items():
        offset = data.find(header, start)
        # The length byte is part of the header, so "relu_" never matches inside "relu_2".
        if offset >= 0 and (best is None or offset < best[0]):
            best = (offset, version)
    return best


def read_dlib_network(path: str | os.PathLike) -> list[DlibLayer]:
    """Return the layer records of a dlib network file, in forward order (input first).

    The loss layer, which dlib writes before everything else, is dropped.

    Args:
        path: a dlib ``.dat`` network file, e.g. ``dlib_face_recognition_resnet_model_v1.dat``.

    Returns:
        The `DlibLayer` records of the file.

    Raises:
        FileNotFoundError: the file does not exist.
        DlibFormatError: the file is not a dlib network (a `ValueError` naming the file).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    reader = _Reader(data, os.fspath(path))
    layers = []
    while (found := _next_record(data, reader.pos)) is not None:
        offset, version = found
        reader.pos = offset + len(version) + 2
        kind, parse = _RECORDS[version]
        layer = DlibLayer(kind=kind, version=version, offset=offset)
        try:
            parse(reader, layer)
        except (struct.error, IndexError) as error:  # pragma: no cover - defensive
            raise reader.fail(f"cannot parse {version!r} record ({error})") from error
        layers.append(layer)
    layers = [layer for layer in layers if layer.kind != "loss_metric"]
    if not layers or layers[0].kind != "input_rgb_image_sized":
        raise DlibFormatError(f"{path}: no dlib input layer found; not a dlib network file?")
    return layers


# ------------------------------------------------------------------ whole-file integer streams
# Some dlib files (shape predictors, for one) are *only* dlib integers: counts, indices, and
# floats written as (mantissa, exponent) integer pairs. A file of 100 MB holds ~33 million of
# them, far too many to read one by one in Python (~15 s), so `integer_stream` decodes them all
# with NumPy. The catch is that the integers have variable length (1 + 1..8 bytes): where one
# starts depends on every one before it. The trick: cut the bytes into blocks, *guess* that an
# integer starts at each block's first byte, and walk all blocks in lockstep (one NumPy step
# moves every block's cursor to its next integer). A wrong guess lands on a wrong byte, but the
# wrong walk soon steps on the same byte as the true one, and from then on both agree. A short
# pass in Python then follows the true chain from the file's first byte, block by block, until
# it meets the guessed walk of that block, and drops the guessed starts before the meeting point.

#: dlib's float_details exponents that stand for +inf, -inf and NaN instead of a power of two.
_FLOAT_SPECIAL_EXPONENTS = {32000: np.inf, 32001: -np.inf, 32002: np.nan}


def _guessed_walks(steps: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Walk every block from its first byte, all blocks at once.

    Args:
        steps: ``(n,)`` uint8, the length in bytes of an integer starting at each byte.
        block: block length in bytes.

    Returns:
        ``(starts, exits)``: a ``(n,)`` uint8 mask of the bytes the guessed walks stepped on,
        and each block's exit (the first byte at or after the block's end it reaches).
    """
    n = len(steps)
    begins = np.arange(0, n, block, dtype=np.int64)
    ends = np.minimum(begins + block, n)
    starts = np.zeros(n, dtype=np.uint8)
    cursor, lanes = begins.copy(), np.arange(len(begins))
    while lanes.size:
        at = cursor[lanes]
        starts[at] = 1
        at = at + steps[at]
        cursor[lanes] = at
        lanes = lanes[at < ends[lanes]]
    return starts, cursor


def _follow_true_chain(steps: np.ndarray, starts: np.ndarray, exits: np.ndarray, block: int):
    """Correct the guessed walks in place so ``starts`` marks exactly the true integer starts.

    Returns:
        Where the true chain ends (``len(steps)`` for a well-formed stream).
    """
    step_of, mark = memoryview(steps), memoryview(starts)  # fast scalar access
    n, at = len(steps), 0
    for index, begin in enumerate(range(0, n, block)):
        end, fixed = min(begin + block, n), []
        while at < end and not mark[at]:
            fixed.append(at)
            at += step_of[at]
        meeting = min(at, end)
        starts[begin:meeting] = 0  # guessed starts before the walks met are wrong
        starts[fixed] = 1
        if at < end:  # met the guessed walk: the rest of the block (and its exit) is right
            at = int(exits[index])
    return at


_CHUNK = 1 << 24  # bytes decoded per step once the integer starts are known (bounds memory)


def integer_stream(data: bytes, path: str = "<bytes>", block: int = 4096) -> np.ndarray:
    """Decode a buffer that is nothing but consecutive dlib integers, vectorised.

    Args:
        data: the bytes (e.g. a whole shape-predictor file).
        path: the file name, for error messages.
        block: block length of the guessed walks (any value gives the same result).

    Returns:
        ``(count,)`` int64 the integers in file order (int32 when none has more than three
        value bytes, as in dlib's shape predictors: it halves the memory).

    Raises:
        DlibFormatError: a control byte dlib never writes, or a last integer that runs past
            the end of the data (a truncated file).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    steps = (raw & 0x0F) + np.uint8(1)
    starts, exits = _guessed_walks(steps, block)
    end = _follow_true_chain(steps, starts, exits, block)
    del steps
    if end != len(raw):
        raise DlibFormatError(
            f"{path}: the last integer runs past the end of the file; the file is truncated"
        )
    count, longest = 0, 0
    for offsets in _chunked_starts(starts):  # first pass: check, count, find the widest
        control = raw[offsets]
        _check_control_bytes(control, offsets, path)
        count, longest = count + len(offsets), max(longest, int((control & 0x0F).max()))
    values = np.empty(count, dtype=np.int32 if longest <= 3 else np.int64)
    done = 0
    for offsets in _chunked_starts(starts):  # second pass: decode
        values[done : done + len(offsets)] = _integer_values(raw, offsets, longest)
        done += len(offsets)
    return values


def _chunked_starts(starts: np.ndarray):
    """Yield the byte offsets of the integer starts, a chunk of the buffer at a time."""
    for begin in range(0, len(starts), _CHUNK):
        offsets = np.flatnonzero(starts[begin : begin + _CHUNK])
        if offsets.size:
            yield offsets + begin


def _check_control_bytes(control: np.ndarray, offsets: np.ndarray, path: str) -> None:
    size = control & 0x0F
    bad = np.flatnonzero((size == 0) | (size > 8) | (control & 0x70 != 0))
    if bad.size:
        offset = int(offsets[bad[0]])
        raise DlibFormatError(
            f"{path}: bad integer control byte 0x{control[bad[0]]:02x} at byte {offset};"
            " not a dlib file, or a corrupt one"
        )


def _integer_values(raw: np.ndarray, offsets: np.ndarray, longest: int) -> np.ndarray:
    """Assemble the little-endian value bytes that follow each control byte, with its sign."""
    control = raw[offsets]
    size = control & 0x0F
    wide = np.uint64 if longest > 4 else np.uint32
    values = np.zeros(len(offsets), dtype=wide)
    at = offsets + 1
    for byte in range(longest):
        part = np.take(raw, at, mode="clip").astype(wide)  # past the end only when masked
        part[size <= byte] = 0  # not one of this integer's bytes
        values |= part << wide(8 * byte)
        at += 1
    values = values.astype(np.int64) if longest > 3 else values.view(np.int32)
    np.negative(values, out=values, where=control & 0x80 != 0)
    return values


def floats_from_pairs(mantissas: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Turn dlib's portable floats, ``mantissa * 2**exponent``, into float32 (as dlib reads them).

    dlib does not write IEEE bits: each float is a mantissa and a base-2 exponent, two dlib
    integers (``dlib/float_details.h``), and three exponent values stand for +inf, -inf, NaN.
    Reading into a ``float`` converts the mantissa to float first, then scales it exactly.
    """
    mantissas = np.asarray(mantissas, dtype=np.int64)
    exponents = np.asarray(exponents, dtype=np.int64)
    ordinary = exponents < 32000
    scaled = np.ldexp(
        mantissas.astype(np.float32), np.where(ordinary, exponents, 0).astype(np.int32)
    )
    for code, value in _FLOAT_SPECIAL_EXPONENTS.items():
        scaled[exponents == code] = value
    return scaled.astype(np.float32, copy=False)
