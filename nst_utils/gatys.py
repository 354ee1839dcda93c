"""Neural style transfer by optimising the pixels of one image (Gatys et al., notebook 09).

`stylize` paints a content photo in the style of an artwork: starting from the photo (or from
noise), it lowers ``J = alpha J_content + beta J_style + tv_weight J_tv`` by gradient steps on
the pixels while the VGG backbone stays frozen. `reconstruct` is the same machinery with one
image and one kind of target; notebooks 07 and 08 use it to show what a content layer or a set
of style layers keeps of an image.

How the work is organised, since every step is a full forward and backward pass of VGG:

* one `feature_extractor` computes every requested layer in a single pass and stops at the
  deepest one; only the pixels are differentiated (no filter gradients);
* the targets (the content activation and the style Gram matrices) are computed once per
  image size;
* the cost and its gradient are one compiled ``tf.function``; the Gram matrices use a
  hand-written gradient (one matrix product instead of two, no transposed copy);
  XLA's ``jit_compile`` was measured slower on 2 CPU cores for these convolutions
  (``benchmarks/bench_nst.py`` prints both), so it is off by default;
* the default optimiser is L-BFGS, written in TensorFlow (unbounded; the pixels are clipped
  to ``[0, 255]`` at the end): it reaches a given cost in several times fewer steps than Adam;
* every backbone of `nst_utils.load_backbone` works: without layers given, a call uses the
  backbone's own suggested layers (`suggested_layers`), and it optimises in the backbone's
  input space (SqueezeNet: BGR minus mean; Darknet: RGB / 255) with Adam's clipping bounds,
  L-BFGS's first step and the smoothing cost all in pixel units (`Backbone.input_bounds`);
* ``schedule=[(256, 60), (512, 20)]`` optimises coarse to fine: most steps at a small size,
  where a step costs a quarter as much, then a few at the full size to add the fine detail.

`count_flops` counts the arithmetic of one step from the shapes in its graph (the benchmark
divides it by the time per step to get GFLOP/s).

Before any of that, the arguments are checked (weights finite and in ``[0, MAX_WEIGHT]``, a
learning rate above 0, a seed >= 0) and the memory the optimisation will need is estimated
from the backbone's activations per pixel (`estimate_memory`); a size that would not fit in
the memory available now is refused with the largest size that would.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from nst_utils.backbone import Backbone, feature_extractor, load_backbone
from nst_utils.costs import compute_content_cost, total_variation_cost
from nst_utils.images import load_float_image, resize_image, to_uint8
from workbook.images import image_size

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "FrameRecorder",
    "OPTIMIZERS",
    "MAX_WEIGHT",
    "StepInfo",
    "count_flops",
    "estimate_memory",
    "reconstruct",
    "stylize",
    "suggested_layers",
]

#: Content layer of Gatys et al.: deep enough to keep objects and layout, not exact pixels.
DEFAULT_CONTENT_LAYER = "block4_conv2"
#: The course's style layers: the first conv of every block, equal weights ``lambda^[l]``.
DEFAULT_STYLE_LAYERS = (
    ("block1_conv1", 0.2),
    ("block2_conv1", 0.2),
    ("block3_conv1", 0.2),
    ("block4_conv1", 0.2),
    ("block5_conv1", 0.2),
)
#: Optimisers accepted by `stylize` and `reconstruct`.
OPTIMIZERS = ("lbfgs", "adam")
#: Adam's default step size, in pixel units (0..255).
_ADAM_LEARNING_RATE = 4.0
#: Largest accepted cost weight (alpha, beta, tv_weight, a style layer's weight): beyond it
#: the float32 cost overflows long before the result changes.
MAX_WEIGHT = 1e9
# Bytes per float of backbone activation per step: the forward activations kept for the
# gradient, their gradients and the convolutions' workspace, in float32. Measured on CPU with
# VGG-16 at 256-512 px: 2.2-2.4 floats of memory per activation float; 3 leaves a margin.
_TRAINING_BYTES_PER_FLOAT = 3 * 4
_FORWARD_BYTES_PER_FLOAT = 1.5 * 4  # the targets: one forward pass, nothing kept
#: ``size`` and ``steps`` of `stylize` when neither they nor a ``schedule`` are given.
_DEFAULT_SIZE, _DEFAULT_STEPS = 256, 100


@dataclass(frozen=True)
class StepInfo:
    """What a ``callback`` of `stylize` / `reconstruct` receives after each step.

    Attributes:
        step: gradient evaluations done so far (1-based), counted over all levels of a
            schedule.
        steps: the whole budget (the sum of a schedule's steps).
        cost: total cost ``J`` at the current image, at the current level's size (costs of
            different levels are not comparable: the targets change with the size).
        parts: ``{"content": J_content, "style": J_style, "tv": J_tv}`` (unweighted).
        seconds: wall time since the call started (targets and tracing included).
        level: index of the current level of the schedule (0 without a schedule).
        size: long side, in pixels, of the image being optimised at this level.
    """

    step: int
    steps: int
    cost: float
    parts: dict
    seconds: float
    level: int
    size: int
    _pixels: Callable[[], np.ndarray] = field(repr=False)

    def image(self) -> np.ndarray:
        """The current image as ``(H, W, 3)`` uint8 RGB (computed on request)."""
        return to_uint8(self._pixels())


class FrameRecorder:
    """A ``callback`` that keeps every ``every``-th image and the cost after every step.

    Frames of a coarse-to-fine schedule have the size of their level; `nst_utils.save_gif`
    and `nst_utils.show_frames` scale them to one size.

    Attributes:
        frames: list of ``(step, uint8 image)``; the last step is always included.
        costs: list of ``(step, J)``.
    """

    def __init__(self, every: int = 0):
        self.every = every
        self.frames: list[tuple[int, np.ndarray]] = []
        self.costs: list[tuple[int, float]] = []

    def __call__(self, info: StepInfo) -> None:
        self.costs.append((info.step, info.cost))
        if self.every and (info.step % self.every == 0 or info.step == info.steps):
            self.frames.append((info.step, info.image()))


@tf.custom_gradient
def _gram_for_step(a):
    """``gram_matrix(unroll(a)) / (n_C n_H n_W)`` with a gradient of one matrix product.

    Written as ``F^T F`` with ``F = reshape(a, (n_H n_W, n_C))``, so no transposed copy of the
    activation is made. Automatic differentiation of ``F^T F`` computes two products (one per
    factor); the two are transposes of each other, so ``dF = F (dG + dG^T)`` needs one.
    Same values as `nst_utils.costs`' formula (tests check both value and gradient).
    """
    n_C = a.shape[-1]
    F = tf.reshape(a, (-1, n_C))
    norm = tf.cast(tf.size(a), tf.float32)
    G = tf.matmul(F, F, transpose_a=True) / norm

    def grad(dG):
        return tf.reshape(tf.matmul(F, dG + tf.transpose(dG)) / norm, tf.shape(a))

    return G, grad


class _Step:
    """The cost and its gradient for one backbone and set of layers, compiled once per process.

    The image's height and width are left open in the compiled function's signature, and the
    weights and targets are its arguments, so every image size, every level of a schedule and
    every later call with the same layers reuse one trace (tracing VGG takes a second or more).
    """

    def __init__(self, backbone, content_layer, style_layers, use_tv, jit_compile):
        self.backbone = backbone
        self.content_layer, self.style_layers, self.use_tv = content_layer, style_layers, use_tv
        self.extractor = feature_extractor(backbone, list(style_layers), content_layer)
        channels = [backbone.model.get_layer(name).output.shape[-1] for name, _ in style_layers]
        signature = [
            tf.TensorSpec((1, None, None, 3), tf.float32),  # the preprocessed image
            tf.TensorSpec((3,), tf.float32),  # alpha, beta, tv_weight
            tf.TensorSpec((1, None, None, None), tf.float32),  # the content target
            tuple(tf.TensorSpec((c, c), tf.float32) for c in channels),  # style Grams
        ]
        self.compiled = tf.function(
            self.value_and_grad, input_signature=signature, jit_compile=jit_compile
        )

    def costs(self, x, weights, content_target, style_targets):
        """``(J, {"content", "style", "tv"})`` for a preprocessed image ``(1, H, W, 3)``."""
        alpha, beta, tv_weight = tf.unstack(weights)
        outputs = self.extractor([x], training=False)
        zero = tf.constant(0.0, tf.float32)
        J_content = zero
        if self.content_layer is not None:
            J_content = compute_content_cost(content_target, outputs[self.content_layer])
        J_style = zero
        for (name, weight), G_S in zip(self.style_layers, style_targets, strict=True):
            G_G = _gram_for_step(outputs[name])
            J_style += weight * tf.reduce_sum(tf.square(G_S - G_G)) / 4.0
        J_tv = total_variation_cost(self.backbone.deprocess(x)) if self.use_tv else zero
        J = alpha * J_content + beta * J_style + tv_weight * J_tv
        return J, {"content": J_content, "style": J_style, "tv": J_tv}

    def value_and_grad(self, x, weights, content_target, style_targets):
        """``(J, parts, dJ/dx)``; only the pixels are watched (the frozen filters get none)."""
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            J, parts = self.costs(x, weights, content_target, style_targets)
        return J, parts, tape.gradient(J, x)


_steps: dict[tuple, _Step] = {}
_steps_lock = threading.Lock()
#: Compiled steps kept per process (one per backbone and set of layers).
_MAX_STEPS = 16


def _step_for(backbone, content_layer, style_layers, use_tv, jit_compile) -> _Step:
    """The shared `_Step` of this configuration, built on first use."""
    key = (id(backbone.model), content_layer, style_layers, use_tv, bool(jit_compile))
    with _steps_lock:
        if key not in _steps:
            if len(_steps) >= _MAX_STEPS:
                _steps.pop(next(iter(_steps)))  # the oldest
            _steps[key] = _Step(backbone, content_layer, style_layers, use_tv, jit_compile)
        return _steps[key]


class _Objective:
    """The cost ``alpha J_content + beta J_style + tv_weight J_tv`` of one level, and its gradient.

    Holds the level's targets (the content activation and the style Gram matrices, computed
    once) and calls the shared compiled `_Step`. The variable is the preprocessed image (BGR,
    mean subtracted), so the backbone needs no preprocessing inside the loop.
    """

    def __init__(
        self,
        backbone: Backbone,
        *,
        content,
        style,
        content_layer,
        style_layers,
        alpha,
        beta,
        tv_weight,
        jit_compile,
    ):
        self.backbone = backbone
        content_layer = content_layer if alpha else None
        style_layers = tuple((n, float(w)) for n, w in style_layers) if beta else ()
        if content_layer is None and not style_layers:
            raise ValueError(
                "Nothing to optimise: give a content layer with alpha > 0"
                " and/or style layers with beta > 0"
            )
        feature_extractor(backbone, list(style_layers), content_layer)  # checks the names
        self.step = _step_for(backbone, content_layer, style_layers, bool(tv_weight), jit_compile)
        self.weights = np.array([alpha, beta, tv_weight], np.float32)
        self.content_target = tf.zeros((1, 1, 1, 1))
        if content_layer is not None:
            self.content_target = tf.constant(self._features(content)[content_layer])
        self.style_targets = ()
        if style_layers:
            outputs = self._features(style)
            self.style_targets = tuple(_gram_for_step(outputs[n]) for n, _ in style_layers)

    def _features(self, rgb):
        return self.step.extractor([self.backbone.preprocess(rgb[None])], training=False)

    def _arguments(self):
        return tf.constant(self.weights), self.content_target, self.style_targets

    def value_and_grad(self, x):
        """``(J, parts, dJ/dx)`` at a preprocessed image ``(1, H, W, 3)`` (compiled)."""
        return self.step.compiled(x, *self._arguments())

    def traceable(self, x):
        """`value_and_grad`, not compiled: for `count_flops` to trace at a given shape."""
        return self.step.value_and_grad(x, *self._arguments())

    def costs(self, x):
        """``(J, {"content", "style", "tv"})`` at a preprocessed image (not compiled)."""
        return self.step.costs(tf.convert_to_tensor(x, tf.float32), *self._arguments())

    def normalise_at(self, x) -> None:
        """Rescale alpha and beta so that the content and style terms are each 1 at ``x``."""
        _, parts = self.costs(x)
        alpha, beta, tv_weight = self.weights
        if alpha:
            alpha = 1.0 / max(float(parts["content"]), 1e-12)
        if beta:
            beta = 1.0 / max(float(parts["style"]), 1e-12)
        self.weights = np.array([alpha, beta, tv_weight], np.float32)


def _op_macs(op) -> int | None:
    """Multiply-adds of one graph op, from its shapes (None: not a kind that is counted)."""
    kind = op.type
    if kind in ("Conv2D", "DepthwiseConv2dNative"):
        out, other = op.outputs[0].shape, op.inputs[1].shape  # other: the filter
    elif kind == "Conv2DBackpropInput":  # a backward conv does the work of its forward conv
        out, other = op.inputs[2].shape, op.inputs[1].shape  # the output's gradient, filter
    elif kind == "Conv2DBackpropFilter":
        out, other = op.inputs[2].shape, op.outputs[0].shape
    elif kind in ("MatMul", "BatchMatMulV2", "BatchMatMulV3"):
        out, other = op.outputs[0].shape, op.inputs[0].shape  # other: the left factor
    else:
        return None
    if not (out.is_fully_defined() and other.is_fully_defined()):
        raise ValueError(
            f"{kind} op {op.name!r} has shapes {out} and {other}, not fully known when"
            " tracing; pass tf.TensorSpec inputs with every dimension given"
        )
    outputs = math.prod(out.as_list())
    if kind == "DepthwiseConv2dNative":
        return outputs * other[0] * other[1]
    if kind.startswith("Conv2D"):
        return outputs * other[0] * other[1] * other[2]  # k_h k_w c_in per output element
    if kind == "MatMul":
        return outputs * (other[0] if op.get_attr("transpose_a") else other[1])
    return outputs * (other[-2] if op.get_attr("adj_x") else other[-1])


def _reachable_ops(graph):
    """The ops that ``graph``'s outputs depend on (TensorFlow prunes the others when running)."""
    seen, stack = {}, [t.op for t in graph.outputs if t is not None] + list(graph.control_outputs)
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen[op.name] = op
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return list(seen.values())


def _count(graph, totals) -> None:
    for op in _reachable_ops(graph):
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            inner = graph._get_function(op.get_attr("f").name).graph  # a nested tf.function
            _count(inner, totals)
            continue
        macs = _op_macs(op)
        if macs is not None:
            totals[op.type] = totals.get(op.type, 0) + 2 * macs


def count_flops(function, *inputs) -> dict[str, int]:
    """Floating-point operations of one call of ``function``, counted from its graph's shapes.

    Counts the convolutions (forward and backward) and matrix products, at 2 FLOPs per
    multiply-add: a conv producing an ``(n_H, n_W, n_C)`` output from ``c_in`` channels with a
    ``k x k`` filter does ``n_H n_W n_C k k c_in`` multiply-adds. Element-wise work (ReLU,
    bias, pooling, the cost's sums) is not counted: it is a few percent of a VGG step and is
    limited by memory, not arithmetic. Ops that the results do not depend on are skipped,
    as TensorFlow skips them when running the graph.

    Args:
        function: a ``tf.function`` or a plain function of tensors (traced here, not run).
        *inputs: one ``tf.TensorSpec`` with every dimension given, or a tensor, per argument.

    Returns:
        ``{op_type: FLOPs}`` for each counted kind of op present, and ``"total"``.

    Raises:
        ValueError: a counted op's shapes are not known at trace time.

    Example::

        vgg = nst_utils.feature_extractor(nst_utils.load_backbone(), ["block5_conv1"])
        count_flops(lambda x: vgg(x), tf.TensorSpec((1, 256, 256, 3)))["total"]  # 37.7e9
    """
    if not hasattr(function, "get_concrete_function"):
        function = tf.function(function)
    concrete = function.get_concrete_function(*inputs)
    totals: dict[str, int] = {}
    _count(concrete.graph, totals)
    totals["total"] = sum(totals.values())
    return totals


def suggested_layers(
    backbone: Backbone, content_layer: str | None = None, style_layers=None
) -> tuple[str, tuple]:
    """The layers a call uses: those given, else the backbone's suggestion, else VGG's defaults.

    Args:
        backbone: a loaded `Backbone`.
        content_layer: the caller's content layer, or None.
        style_layers: the caller's ``[(name, weight), ...]``, or None.

    Returns:
        ``(content_layer, style_layers)``; e.g. for ``"squeezenet_imagenet"`` with nothing
        given, ``("fire5_concat", (("conv1", 0.2), ...))``.
    """
    if content_layer is None:
        content_layer = backbone.content_layer or DEFAULT_CONTENT_LAYER
    if style_layers is None:
        style_layers = backbone.style_layers or DEFAULT_STYLE_LAYERS
    return content_layer, tuple(style_layers)


def _check_steps(steps, what="steps"):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"{what} must be an integer >= 0; got {steps!r}")


def _check_size(size, what="size"):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"{what} must be a positive number of pixels; got {size!r}")


def _check_common(optimizer, init, learning_rate=None, seed=0):
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise'; got {init!r}")
    if learning_rate is not None:
        _check_number(learning_rate, "learning_rate", positive=True, top=255.0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")


def _check_number(value, what: str, positive: bool = False, top: float = MAX_WEIGHT) -> float:
    """``value`` as a float if it is finite and in ``[0, top]`` (``(0, top]`` if positive)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number; got {value!r}") from None
    low = "above 0" if positive else ">= 0"
    if not math.isfinite(number) or number < 0 or (positive and number == 0) or number > top:
        raise ValueError(f"{what} must be a finite number {low} and at most {top:g}; got {value!r}")
    return number


def _check_weights(alpha, beta, tv_weight, style_layers) -> None:
    """Cost weights: finite, in ``[0, MAX_WEIGHT]``; the style layers' weights not all zero."""
    for value, what in ((alpha, "alpha"), (beta, "beta"), (tv_weight, "tv_weight")):
        _check_number(value, what)
    weights = [_check_number(w, f"the weight of style layer {n!r}") for n, w in style_layers]
    if beta and weights and not any(weights):
        raise ValueError("Every style layer has weight 0; give at least one a weight above 0")


def _deepest_layer(model, names) -> str:
    order = {layer.name: index for index, layer in enumerate(model.layers)}
    known = [name for name in names if name in order]
    return max(known, key=order.__getitem__) if known else model.layers[-1].name


def _floats_per_pixel(model, deepest: str) -> float:
    """Activation floats the layers up to ``deepest`` produce per input pixel.

    Each layer's output has ``channels / stride**2`` floats per input pixel, where ``stride``
    is the product of the strides before it (VGG: 1, 2, 4, 8, 16 by block).
    """
    total, stride = 0.0, 1
    for layer in model.layers[1:]:
        strides = getattr(layer, "strides", (1, 1))
        stride *= int(strides[0]) if isinstance(strides, (tuple, list)) else int(strides)
        total += layer.output.shape[-1] / stride**2
        if layer.name == deepest:
            break
    return total


def estimate_memory(backbone, layers, height: int, width: int, training: bool = True) -> int:
    """Bytes a forward (and backward, if ``training``) pass at ``height x width`` will need.

    Args:
        backbone: a `Backbone` (or a bare VGG ``keras.Model``).
        layers: the layer names the cost uses; the pass stops at the deepest one.
        height, width: the image size in pixels.
        training: include the backward pass of an optimisation step (else the targets' pass).

    Returns:
        The estimate in bytes (an upper bound: measured use was 75-80% of it on CPU).
    """
    model = backbone.model if isinstance(backbone, Backbone) else backbone
    per_float = _TRAINING_BYTES_PER_FLOAT if training else _FORWARD_BYTES_PER_FLOAT
    floats = _floats_per_pixel(model, _deepest_layer(model, layers))
    return int(per_float * floats * height * width)


def _available_memory() -> int | None:
    """Bytes of memory available to this process now, or None where that is unknown.

    Linux: ``MemAvailable`` of ``/proc/meminfo``, capped by a cgroup v2 memory limit (a
    container's); elsewhere the physical memory (so only a size that could never fit is
    refused).
    """
    available = None
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        with (
            open("/sys/fs/cgroup/memory.max") as limit,
            open("/sys/fs/cgroup/memory.current") as used,
        ):
            cap = limit.read().strip()
            if cap != "max":
                available = min(available, int(cap) - int(used.read().strip()))
    except (OSError, ValueError):
        pass
    return available


def _result_size(image, size: int) -> tuple[int, int]:
    """``(height, width)`` of ``image`` resized to ``size`` on its longer side (as loaded)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"size must be a positive number of pixels; got {size!r}")
    if isinstance(image, np.ndarray):
        height, width = image.shape[:2]
    else:
        width, height = image_size(image)
    scale = size / max(width, height, 1)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _check_memory(backbone, layers, sizes: dict) -> None:
    """Refuse, before any work, images whose optimisation would not fit in memory.

    Args:
        sizes: ``{"content": (image, size, training), ...}``.
    """
    available = _available_memory()
    if available is None:
        return
    for what, (image, size, training) in sizes.items():
        try:
            height, width = _result_size(image, size)
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{what.capitalize()} image: {error}") from None
        need = estimate_memory(backbone, layers, height, width, training)
        if need > available:
            largest = int(size * math.sqrt(available / need)) - 1  # rounding margin
            option = "size" if what == "content" else "style_size"
            raise ValueError(
                f"{option}={size} makes the {what} image {width}x{height} pixels, which needs"
                f" about {need / 2**30:.1f} GiB of memory for the {backbone.name} backbone;"
                f" {available / 2**30:.1f} GiB is available now. Use {option} <= {largest}."
            )


def _levels(size, steps, schedule, default_size) -> list[tuple[int, int]]:
    """The ``[(size, steps), ...]`` levels of a call: its schedule, or one level."""
    if schedule is None:
        size = default_size if size is None else size
        steps = _DEFAULT_STEPS if steps is None else steps
        _check_size(size)
        _check_steps(steps)
        return [(int(size), int(steps))]
    if size is not None or steps is not None:
        raise ValueError(
            "Give either size= and steps=, or schedule=[(size, steps), ...] (whose last size is"
            " the result's), not both"
        )
    try:
        levels = [(level_size, level_steps) for level_size, level_steps in schedule]
    except (TypeError, ValueError):
        raise ValueError(
            f"schedule must be a list of (size, steps) pairs, e.g. [(256, 60), (512, 20)];"
            f" got {schedule!r}"
        ) from None
    if not levels:
        raise ValueError("schedule is empty; give at least one (size, steps) pair")
    for index, (level_size, level_steps) in enumerate(levels):
        _check_size(level_size, f"schedule[{index}]'s size")
        _check_steps(level_steps, f"schedule[{index}]'s steps")
    sizes = [level_size for level_size, _ in levels]
    if any(later <= earlier for earlier, later in zip(sizes[:-1], sizes[1:], strict=True)):
        raise ValueError(
            f"schedule's sizes must grow from level to level (coarse to fine); got {sizes}"
        )
    return [(int(a), int(b)) for a, b in levels]


def _initial_image(shape, init: str, seed: int, content=None, amplitude=255.0) -> np.ndarray:
    """The start image: the content photo, or seeded uniform noise of ``amplitude`` around gray."""
    if init == "content":
        return content.copy()
    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, shape) * amplitude
    return (127.5 + noise).astype(np.float32)


def _upsample(rgb: np.ndarray, shape) -> np.ndarray:
    """Resize float RGB pixels to ``shape = (H, W)`` (bicubic) and clip them to [0, 255]."""
    if tuple(rgb.shape[:2]) == tuple(shape):
        return rgb
    resized = tf.image.resize(rgb[None], shape, method="bicubic")[0]
    return np.clip(resized.numpy(), 0.0, 255.0)


class _Run:
    """One call's progress over all its levels: step count, clock, progress bar, callback."""

    def __init__(self, total: int, callback, progress: bool, desc: str):
        self.total, self.callback = total, callback
        self.done, self.stopped = 0, False
        self.start = time.perf_counter()
        self.bar = None
        if progress and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="step", mininterval=1.0, leave=False)

    def reporter(self, backbone, level: int, size: int):
        """The ``report(step, J, parts, x) -> stop?`` function of one level's optimiser."""
        offset = self.done

        def report(step, J, parts, x):
            self.done = offset + step
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix(J=f"{float(J):.4g}", refresh=False)
            if self.callback is not None:
                values = {k: float(v) for k, v in parts.items()}
                seconds = time.perf_counter() - self.start
                pixels = _pixels_of(backbone, x)
                info = StepInfo(
                    self.done, self.total, float(J), values, seconds, level, size, pixels
                )
                self.stopped = self.callback(info) is True
            return self.stopped

        return report

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _coarse_to_fine(
    levels, targets_at, objective_for, start, run, optimizer, learning_rate, *, detail
):
    """Optimise level by level, each level starting from the previous result upsampled.

    Args:
        levels: ``[(size, steps), ...]``, sizes growing.
        targets_at: ``size -> target RGB image`` of that level (fixes the level's shape).
        objective_for: ``(size, target image, RGB start image) -> _Objective``.
        start: ``first level's target image -> RGB start image``.
        run: the call's `_Run`; once its callback asks to stop, the later levels only
            upsample, so the result always has the last level's size.
        detail: add to the upsampled result the detail that the level's target has and the
            previous level's target lacked (``target_k - upsample(target_k-1)``, as in a
            Laplacian pyramid). An upsampled image is blurred, and a blurred image is far
            from the fine style statistics (block1's Gram matrix): measured at 512 px, the
            blurred start cost more than the photo itself, the start with the photo's detail
            an eighth of that, and it reached the reference's cost in half the steps.

    Returns:
        Float RGB pixels in [0, 255] at the last level's size.
    """
    pixels, previous = None, None
    for level, (size, steps) in enumerate(levels):
        target = targets_at(size)
        if pixels is None:
            pixels = start(target)
        else:
            pixels = _upsample(pixels, target.shape[:2])
            if detail:
                added = target - _upsample(previous, target.shape[:2])
                pixels = np.clip(pixels + added, 0.0, 255.0)
        previous = target
        if run.stopped:
            continue
        objective = objective_for(size, target, pixels)
        backbone = objective.backbone
        x0 = np.asarray(backbone.preprocess(pixels[None]))
        report = run.reporter(backbone, level, size)
        pixels = _minimize(objective, x0, steps, optimizer, learning_rate, report)
    return pixels


def _minimize(objective, x0, steps, optimizer, learning_rate, report):
    """Run ``steps`` gradient evaluations from preprocessed ``x0``; return the final RGB pixels."""
    backbone = objective.backbone
    lower, upper = backbone.input_bounds()  # pixels 0 and 255 in the network's input space
    unit = float(np.max(upper - lower)) / 255.0  # one pixel unit in that space
    if optimizer == "adam":
        rate = (_ADAM_LEARNING_RATE if learning_rate is None else learning_rate) * unit
        x = _adam(objective, x0, steps, rate, lower, upper, report)
    else:
        x = _lbfgs(objective, x0, steps, report, first_move=_LBFGS_FIRST_MOVE * unit)
    return np.clip(np.asarray(backbone.deprocess(x)[0]), 0.0, 255.0)


def _pixels_of(backbone, x):
    """A function returning the RGB pixels of a snapshot of preprocessed image ``x``."""
    snapshot = np.array(x, copy=True)
    return lambda: np.asarray(backbone.deprocess(snapshot)[0])


def _adam(objective, x0, steps, learning_rate, lower, upper, report):
    """Adam on the preprocessed pixels, clipped to ``[lower, upper]`` after every update.

    ``learning_rate`` is in the network's input units; ``lower``/``upper`` are per channel.
    """
    x = tf.Variable(x0)
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)
    lower, upper = tf.constant(lower), tf.constant(upper)

    @tf.function
    def step():
        J, parts, grad = objective.value_and_grad(tf.convert_to_tensor(x))
        optimizer.apply_gradients([(grad, x)])
        x.assign(tf.clip_by_value(x, lower, upper))
        return J, parts

    for i in range(steps):
        J, parts = step()
        if report(i + 1, J, parts, x):  # J belongs to the image before this update
            break
    return x.numpy()


#: L-BFGS's first step along the negative gradient moves the steepest pixel by this many
#: pixel units (0..255); halved until the cost falls. Later steps have their length from the
#: curvature L-BFGS has seen.
_LBFGS_FIRST_MOVE = 16.0
#: Pairs of (step, gradient change) L-BFGS remembers.
_LBFGS_MEMORY = 20
#: Sufficient decrease (Armijo) constant of the backtracking line search.
_ARMIJO = 1e-4


def _dot(a, b) -> float:
    return float(tf.reduce_sum(a * b))


@tf.function(reduce_retracing=True)
def _two_loop(g, S, Y, rho):
    """``-H g``: L-BFGS's two-loop recursion (Nocedal & Wright, Alg. 7.4), compiled.

    ``H`` approximates the inverse Hessian from the remembered steps ``S[j]`` and gradient
    changes ``Y[j]`` (oldest first; ``rho[j] = 1 / S[j].Y[j]``), scaled by ``s.y / y.y`` of
    the newest pair. Empty places hold zeros with ``rho = 0``, which makes them no-ops, so
    the memory always has the same structure and the function is traced once.
    """
    q, alphas = g, {}
    for j in reversed(range(len(S))):  # newest to oldest
        alphas[j] = rho[j] * tf.reduce_sum(S[j] * q)
        q = q - alphas[j] * Y[j]
    r = (tf.reduce_sum(S[-1] * Y[-1]) / tf.reduce_sum(Y[-1] * Y[-1])) * q
    for j in range(len(S)):  # oldest to newest
        r = r + (alphas[j] - rho[j] * tf.reduce_sum(Y[j] * r)) * S[j]
    return -r


class _Memory:
    """L-BFGS's memory: the last ``size`` pairs (step, gradient change), oldest first.

    Plain tensors in a list, shifted in Python: no copy of the pairs is ever made. (Variables
    updated slice by slice were 10x slower to read: TensorFlow then copies the whole
    variable on every read.)
    """

    def __init__(self, shape, size: int = _LBFGS_MEMORY):
        self.zeros = tf.zeros(shape)
        self.size = size
        self.clear()

    def add(self, s, y, s_y: float) -> None:
        """Remember a pair (the oldest is forgotten once the memory is full)."""
        self.S = [*self.S[1:], s]
        self.Y = [*self.Y[1:], y]
        self.rho = [*self.rho[1:], 1.0 / s_y]
        self.count = min(self.count + 1, self.size)

    def clear(self) -> None:
        self.S, self.Y = [self.zeros] * self.size, [self.zeros] * self.size
        self.rho, self.count = [0.0] * self.size, 0

    def direction(self, g):
        """The L-BFGS direction ``-H g`` (`_two_loop`); ``-g`` while the memory is empty."""
        if not self.count:
            return -g
        return _two_loop(g, tuple(self.S), tuple(self.Y), tf.constant(self.rho, tf.float32))


def _lbfgs(objective, x0, steps, report, first_move=_LBFGS_FIRST_MOVE):
    """L-BFGS on the pixels, exactly ``steps`` cost-and-gradient evaluations, clipped at the end.

    Written in TensorFlow (float32, the pixels never leave the tensor runtime): SciPy's
    L-BFGS-B spent 0.1-0.3 s of its own per evaluation on a 2-core machine, and its first step
    (unit length in the Euclidean norm over all pixels) moved each pixel by almost nothing,
    so its line search spent several evaluations growing it.

    Each iteration takes the L-BFGS direction (`_Memory.direction`) and tries step 1 along
    it (the very first step, along the negative gradient, moves the steepest pixel by
    ``first_move`` in the units of ``x``: `_LBFGS_FIRST_MOVE` pixel units, converted by the
    caller to the backbone's input scale), halving it until the cost decreases enough (Armijo).
    Usually the first try is accepted: one evaluation per iteration. A direction that does
    not go downhill (rare, from float32 round-off) clears the memory. No bounds: the pixels
    overshoot [0, 255] only slightly and are clipped once at the end. The best point seen is
    what is reported and returned.
    """
    if steps == 0:
        return x0
    count, best = 0, {"J": np.inf, "x": x0, "parts": None}

    def evaluate(x):
        nonlocal count
        J, parts, grad = objective.value_and_grad(x)
        count += 1
        J = float(J)
        if J < best["J"]:
            best.update(J=J, x=x, parts=parts)
        return J, grad, report(count, best["J"], best["parts"], best["x"])

    x = tf.constant(x0)
    J, grad, stop = evaluate(x)
    memory = _Memory(x.shape)
    while not stop and count < steps:
        direction = memory.direction(grad)
        slope = _dot(grad, direction)
        if slope >= 0:  # not a descent direction: forget the curvature, go downhill
            memory.clear()
            direction = -grad
            slope = _dot(grad, direction)
        steepest = max(float(tf.reduce_max(tf.abs(grad))), 1e-30)
        step = 1.0 if memory.count else first_move / steepest
        while True:
            x_new = x + step * direction
            J_new, grad_new, stop = evaluate(x_new)
            if stop or count >= steps or J_new <= J + _ARMIJO * step * slope:
                break
            step /= 2
        if not J_new < J:
            break
        s, y = x_new - x, grad_new - grad
        s_y = _dot(s, y)
        if s_y > 0:  # keep only pairs with positive curvature (H stays positive definite)
            memory.add(s, y, s_y)
        x, J, grad = x_new, J_new, grad_new
    return np.asarray(best["x"])


def _source(image, what) -> np.ndarray:
    """Read an image once, full size, as uint8 RGB; each level resizes it (`resize_image`)."""
    try:
        return to_uint8(load_float_image(image))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{what} image: {error}") from None


def _style_size_at(size: int, final_size: int, style_size: int | None) -> int:
    """Long side of the style image at a level: ``style_size`` scaled like the level."""
    final_style = final_size if style_size is None else style_size
    return max(1, round(final_style * size / final_size))


def stylize(
    content,
    style,
    *,
    size: int | None = None,
    steps: int | None = None,
    schedule: Sequence[tuple[int, int]] | None = None,
    alpha: float = 10.0,
    beta: float = 40.0,
    tv_weight: float = 0.0,
    content_layer: str | None = None,
    style_layers: Sequence[tuple[str, float]] | None = None,
    init: str = "content",
    optimizer: str = "lbfgs",
    learning_rate: float | None = None,
    backbone: str | Backbone = "vgg16_hed",
    style_size: int | None = None,
    callback: Callable[[StepInfo], None] | None = None,
    seed: int = 0,
    progress: bool = True,
    jit_compile: bool = False,
) -> np.ndarray:
    """Paint ``content`` in the style of ``style`` by minimising the total cost over the pixels.

    Coarse to fine: ``schedule=[(256, 60), (512, 20)]`` runs 60 steps on a 256 px image,
    upsamples the result to 512 px and refines it for 20 steps. A step costs about as much as
    the image has pixels, so the 60 coarse steps cost as much as 15 fine ones; they settle the
    layout and the large brush strokes, and the fine steps only add detail. When starting
    from the photo, each finer level starts from the upsampled result plus the photo's detail
    at the new scale (what the photo resized for this level has and its coarser copy lacks),
    since a blurred start is far from the fine textures of the style. Each level recomputes
    its targets from the content and style images resized for that level; the style image is
    resized by the same factor as the result (``style_size`` at the last level, in proportion
    before), so its strokes keep their size relative to the picture.

    Args:
        content: the photo: a path, PIL image or ``(H, W, 3)`` array (RGB, 0..255).
        style: the artwork, same kinds; its size and aspect ratio may differ from the content's.
        size: pixels on the longer side of the result (the content's aspect ratio is kept);
            default 256. Time per step grows with the pixel count: 256 px takes ~0.7 s per
            step on 2 idle CPU cores.
        steps: gradient evaluations (one forward and backward pass of the backbone each);
            default 100.
        schedule: ``[(size, steps), ...]`` with growing sizes, instead of ``size`` and
            ``steps``: optimise at each size in turn, starting each level from the previous
            result upsampled (bicubic). The last size is the result's. ``steps`` counts
            evaluations at every level alike; the callback's `StepInfo` says which level.
        alpha, beta: weights of the content and style costs; their ratio sets how much of the
            photo survives (more ``beta`` = more paint).
        tv_weight: weight of `total_variation_cost` on the pixels (0..255); a little
            (about 1e-3 to 1e-2 of ``alpha``) smooths high-frequency speckles.
        content_layer: layer whose activation the content cost compares (default None: the
            backbone's suggestion, `Backbone.content_layer`; for VGG `DEFAULT_CONTENT_LAYER`).
        style_layers: ``[(layer_name, weight), ...]`` for the style cost (default None: the
            backbone's `Backbone.style_layers`; for VGG `DEFAULT_STYLE_LAYERS`). Layers given
            explicitly always win over the suggestion.
        init: ``"content"`` starts from the photo (faster, keeps the layout); ``"noise"`` from
            uniform noise drawn with ``seed`` (the classic, more painterly start; with a
            `FrameRecorder` and `nst_utils.save_gif` it shows the image emerging from noise).
        optimizer: ``"lbfgs"`` (default, fewer steps to a given cost) or ``"adam"``.
        learning_rate: Adam's step in pixel units (default None: 4.0), above 0; ignored by
            L-BFGS.
        backbone: ``"vgg16_hed"`` (offline default), ``"vgg19_imagenet"``,
            ``"squeezenet_imagenet"``, ``"darknet_tiny_imagenet"`` or a loaded `Backbone`. Each
            has its own preprocessing (SqueezeNet: BGR minus mean; Darknet: RGB / 255); the
            optimisation runs in that input space and keeps the pixels within
            `Backbone.input_bounds` (pixel values 0..255).
        style_size: longer side of the style image in pixels at the result's size (default:
            the result's size). The style cost sees the brush strokes at this scale.
        callback: called with a `StepInfo` after each step (see `FrameRecorder` for frames);
            if it returns True, the optimisation stops there (e.g. once a target cost is met)
            and the image reached is upsampled to the result's size.
        seed: seed of the noise start image; the same seed gives the same result.
        progress: show a tqdm progress bar on stderr.
        jit_compile: compile the cost with XLA (measured slower on 2 CPU cores).

    Returns:
        The stylised image, ``(H, W, 3)`` uint8 RGB with ``max(H, W)`` the result's size.

    Raises:
        FileNotFoundError: an image path does not exist.
        ValueError: an unreadable or too small image, a size ``<= 0``, ``steps < 0``, both
            ``schedule`` and ``size``/``steps``, a schedule whose sizes do not grow, an unknown
            layer, backbone, optimizer or init, a weight that is negative, NaN, infinite or
            over `MAX_WEIGHT`, ``learning_rate <= 0``, or a size whose optimisation would not
            fit in the memory available (checked before any image is read).
    """
    levels = _levels(size, steps, schedule, _DEFAULT_SIZE)
    _check_common(optimizer, init, learning_rate, seed)
    if style_layers is not None:
        _check_weights(alpha, beta, tv_weight, style_layers)
    final_size = levels[-1][0]
    net = load_backbone(backbone)
    content_layer, style_layers = suggested_layers(net, content_layer, style_layers)
    _check_weights(alpha, beta, tv_weight, style_layers)
    _check_memory(
        net,
        [content_layer, *(name for name, _ in style_layers)],
        {
            "content": (content, final_size, True),
            "style": (style, final_size if style_size is None else style_size, False),
        },
    )
    content_source, style_source = _source(content, "Content"), _source(style, "Style")

    def objective_for(level_size, content_rgb, _start):
        style_long = _style_size_at(level_size, final_size, style_size)
        return _Objective(
            net,
            content=content_rgb,
            style=resize_image(style_source, style_long),
            content_layer=content_layer,
            style_layers=style_layers,
            alpha=alpha,
            beta=beta,
            tv_weight=tv_weight,
            jit_compile=jit_compile,
        )

    def start(content_rgb):
        return _initial_image(content_rgb.shape, init, seed, content=content_rgb)

    run = _Run(sum(n for _, n in levels), callback, progress, "stylize")
    try:
        pixels = _coarse_to_fine(
            levels,
            lambda level_size: resize_image(content_source, level_size),
            objective_for,
            start,
            run,
            optimizer,
            learning_rate,
            detail=init == "content",
        )
    finally:
        run.close()
    return to_uint8(pixels)


def reconstruct(
    image,
    *,
    content_layer: str | None = None,
    style_layers: Sequence[tuple[str, float]] | Sequence[str] = (),
    kind: str | None = None,
    size: int | None = None,
    steps: int | None = None,
    schedule: Sequence[tuple[int, int]] | None = None,
    tv_weight: float = 0.0,
    noise: float = 32.0,
    optimizer: str = "lbfgs",
    learning_rate: float | None = None,
    backbone: str | Backbone = "vgg16_hed",
    callback: Callable[[StepInfo], None] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> np.ndarray:
    """Start from noise and match one image's content at one layer, or its style at some layers.

    What the result keeps shows what the layer(s) encode: a shallow content layer gives back
    the pixels, a deep one only the objects and layout (notebook 07); style layers give back
    textures and colours with the layout scrambled (notebook 08).

    Args:
        image: path, PIL image or ``(H, W, 3)`` array; resized to ``size`` on its longer side.
        content_layer: match this layer's activation (content cost only), or
        style_layers: match the Gram matrices of these layers (names, or ``(name, weight)``;
            plain names get equal weights ``1 / len(style_layers)``).
        kind: instead of layers, ``"content"`` or ``"style"``: match the backbone's suggested
            content layer or style layers (`Backbone.content_layer` / `style_layers`; for VGG
            `DEFAULT_CONTENT_LAYER` / `DEFAULT_STYLE_LAYERS`).
        size: long side of the result (default 128); steps: default 100.
        schedule: ``[(size, steps), ...]`` coarse to fine, instead of ``size`` and ``steps``
            (as in `stylize`; the target image is resized for each level).
        tv_weight: weight of `total_variation_cost`. The cost is normalised to 1 at each
            level's start image, so ``1e-4`` .. ``1e-3`` is a light touch; it removes the noise
            that deep layers cannot see (and so never correct).
        noise: amplitude of the uniform start noise around mid-gray, in pixel units (255 is
            the classic full-range noise; less noise converges faster).
        optimizer, learning_rate, backbone, callback, seed, progress: as in `stylize`.
            The costs passed to ``callback`` are relative to the level's start image's.

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: not exactly one of ``content_layer``, ``style_layers`` and ``kind``, an
            unknown ``kind``, or bad input as in `stylize`.
    """
    levels = _levels(size, steps, schedule, 128)
    _check_common(optimizer, "noise", learning_rate, seed)
    _check_number(tv_weight, "tv_weight")
    _check_number(noise, "noise", top=255.0)
    if kind not in (None, "content", "style"):
        raise ValueError(f"kind must be 'content' or 'style' (or None); got {kind!r}")
    if (content_layer is not None) + bool(style_layers) + (kind is not None) != 1:
        raise ValueError(
            "Give exactly one of content_layer=, style_layers= or kind='content'/'style'"
            " (the backbone's suggested layers)"
        )
    net = load_backbone(backbone)
    if kind == "content":
        content_layer, _ = suggested_layers(net)
    elif kind == "style":
        _, style_layers = suggested_layers(net)
    layers = [
        (entry, 1.0 / len(style_layers)) if isinstance(entry, str) else tuple(entry)
        for entry in style_layers
    ]
    source = _source(image, "Target")

    def objective_for(_size, rgb, start_rgb):
        objective = _Objective(
            net,
            content=rgb,
            style=rgb,
            content_layer=content_layer,
            style_layers=layers,
            alpha=1.0 if content_layer else 0.0,
            beta=1.0 if layers else 0.0,
            tv_weight=tv_weight,
            jit_compile=False,
        )
        objective.normalise_at(np.asarray(net.preprocess(start_rgb[None])))
        return objective

    def start(rgb):
        return _initial_image(rgb.shape, "noise", seed, amplitude=noise)

    run = _Run(sum(n for _, n in levels), callback, progress, "reconstruct")
    try:
        pixels = _coarse_to_fine(
            levels,
            lambda level_size: resize_image(source, level_size),
            objective_for,
            start,
            run,
            optimizer,
            learning_rate,
            detail=False,
        )
    finally:
        run.close()
    return to_uint8(pixels)
