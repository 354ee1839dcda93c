"""Neural style transfer by optimising the pixels of one image (Gatys et al., notebook 09).

`stylize` paints a content photo in the style of an artwork: starting from the photo (or from
noise), it lowers ``J = alpha J_content + beta J_style + tv_weight J_tv`` by gradient steps on
the pixels while the VGG backbone stays frozen. `reconstruct` is the same machinery with one
image and one kind of target; notebooks 07 and 08 use it to show what a content layer or a set
of style layers keeps of an image.

How the work is organised, since every step is a full forward and backward pass of VGG:

* one `feature_extractor` computes every requested layer in a single pass and stops at the
  deepest one;
* the targets (the content activation and the style Gram matrices) are computed once;
* the cost and its gradient are one compiled ``tf.function`` (XLA's ``jit_compile`` was
  measured slower on CPU for these convolutions, so it is off by default);
* the default optimiser is L-BFGS (SciPy's, unbounded; the pixels are clipped to ``[0, 255]``
  at the end): it reaches a given cost in several times fewer steps than Adam.

Before any of that, the arguments are checked (weights finite and in ``[0, MAX_WEIGHT]``, a
learning rate above 0, a seed >= 0) and the memory the optimisation will need is estimated
from the backbone's activations per pixel (`estimate_memory`); a size that would not fit in
the memory available now is refused with the largest size that would.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from nst_utils.backbone import Backbone, feature_extractor, load_backbone
from nst_utils.costs import _normalised_gram, compute_content_cost, total_variation_cost
from nst_utils.images import load_float_image, to_uint8
from workbook.images import image_size

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "FrameRecorder",
    "OPTIMIZERS",
    "MAX_WEIGHT",
    "StepInfo",
    "estimate_memory",
    "reconstruct",
    "stylize",
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


@dataclass(frozen=True)
class StepInfo:
    """What a ``callback`` of `stylize` / `reconstruct` receives after each step.

    Attributes:
        step: gradient evaluations done so far (1-based).
        steps: the budget, ``steps`` of the call.
        cost: total cost ``J`` at the current image.
        parts: ``{"content": J_content, "style": J_style, "tv": J_tv}`` (unweighted).
        seconds: wall time since the optimisation started (targets and tracing included).
    """

    step: int
    steps: int
    cost: float
    parts: dict
    seconds: float
    _pixels: Callable[[], np.ndarray] = field(repr=False)

    def image(self) -> np.ndarray:
        """The current image as ``(H, W, 3)`` uint8 RGB (computed on request)."""
        return to_uint8(self._pixels())


class FrameRecorder:
    """A ``callback`` that keeps every ``every``-th image and the cost after every step.

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


class _Objective:
    """The compiled cost ``alpha J_content + beta J_style + tv_weight J_tv`` and its gradient.

    The variable is the preprocessed image (BGR, mean subtracted), so the backbone needs no
    preprocessing inside the loop and the pixel bounds are simple per-channel boxes.
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
        self.content_layer = content_layer if alpha else None
        self.style_layers = tuple((n, float(w)) for n, w in style_layers) if beta else ()
        if self.content_layer is None and not self.style_layers:
            raise ValueError(
                "Nothing to optimise: give a content layer with alpha > 0"
                " and/or style layers with beta > 0"
            )
        self.extractor = feature_extractor(backbone, list(self.style_layers), self.content_layer)
        self.use_tv = bool(tv_weight)
        self.weights = tf.Variable([alpha, beta, tv_weight], dtype=tf.float32, trainable=False)
        self.content_target = None
        if self.content_layer is not None:
            self.content_target = tf.constant(self._features(content)[self.content_layer])
        self.style_targets = {}
        if self.style_layers:
            outputs = self._features(style)
            self.style_targets = {n: _normalised_gram(outputs[n], n) for n, _ in self.style_layers}
        self.value_and_grad = tf.function(
            self._value_and_grad, jit_compile=jit_compile, reduce_retracing=True
        )

    def normalise_at(self, x) -> None:
        """Rescale alpha and beta so that the content and style terms are each 1 at ``x``."""
        _, parts = self.costs(tf.constant(x))
        alpha, beta, tv_weight = self.weights.numpy()
        if alpha:
            alpha = 1.0 / max(float(parts["content"]), 1e-12)
        if beta:
            beta = 1.0 / max(float(parts["style"]), 1e-12)
        self.weights.assign([alpha, beta, tv_weight])

    def _features(self, rgb):
        return self.extractor([self.backbone.preprocess(rgb[None])], training=False)

    def costs(self, x):
        """Return ``(J, {"content", "style", "tv"})`` for a preprocessed image ``(1, H, W, 3)``."""
        alpha, beta, tv_weight = tf.unstack(self.weights)
        outputs = self.extractor([x], training=False)
        zero = tf.constant(0.0, tf.float32)
        J_content = zero
        if self.content_layer is not None:
            J_content = compute_content_cost(self.content_target, outputs[self.content_layer])
        J_style = zero
        for name, weight in self.style_layers:
            G_G = _normalised_gram(outputs[name], name)
            J_style += weight * tf.reduce_sum(tf.square(self.style_targets[name] - G_G)) / 4.0
        J_tv = total_variation_cost(x) if self.use_tv else zero
        J = alpha * J_content + beta * J_style + tv_weight * J_tv
        return J, {"content": J_content, "style": J_style, "tv": J_tv}

    def _value_and_grad(self, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            J, parts = self.costs(x)
        return J, parts, tape.gradient(J, x)


def _check_common(steps, optimizer, init, learning_rate=None, seed=0):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0; got {steps!r}")
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


def _initial_image(content: np.ndarray, init: str, seed: int, amplitude=255.0) -> np.ndarray:
    """The start image: the content photo, or seeded uniform noise of ``amplitude`` around gray."""
    if init == "content":
        return content.copy()
    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, content.shape) * amplitude
    return (127.5 + noise).astype(np.float32)


def _minimize(objective, x0, steps, optimizer, learning_rate, callback, progress, desc):
    """Run ``steps`` gradient evaluations from preprocessed ``x0``; return the final RGB pixels."""
    backbone = objective.backbone
    mean = np.asarray(backbone.mean_bgr, np.float32)
    lower, upper = -mean, 255.0 - mean  # pixel bounds in the preprocessed (BGR - mean) space
    bar = None
    if progress and steps:
        from tqdm import tqdm

        bar = tqdm(total=steps, desc=desc, unit="step", mininterval=1.0, leave=False)
    start = time.perf_counter()

    def report(step, J, parts, x):
        if bar is not None:
            bar.update(1)
            bar.set_postfix(J=f"{float(J):.4g}", refresh=False)
        if callback is not None:
            values = {k: float(v) for k, v in parts.items()}
            seconds = time.perf_counter() - start
            info = StepInfo(step, steps, float(J), values, seconds, _pixels_of(backbone, x))
            return callback(info) is True
        return False

    try:
        if optimizer == "adam":
            x = _adam(objective, x0, steps, learning_rate, lower, upper, report)
        else:
            x = _lbfgs(objective, x0, steps, report)
    finally:
        if bar is not None:
            bar.close()
    return np.clip(np.asarray(backbone.deprocess(x)[0]), 0.0, 255.0)


def _pixels_of(backbone, x):
    """A function returning the RGB pixels of a snapshot of preprocessed image ``x``."""
    snapshot = np.array(x, copy=True)
    return lambda: np.asarray(backbone.deprocess(snapshot)[0])


def _adam(objective, x0, steps, learning_rate, lower, upper, report):
    """Adam on the pixels, clipped to the valid range after every update."""
    x = tf.Variable(x0)
    if learning_rate is None:
        learning_rate = _ADAM_LEARNING_RATE
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


class _BudgetSpent(Exception):
    """Raised inside the L-BFGS cost function to stop SciPy: budget spent or callback said stop."""


def _lbfgs(objective, x0, steps, report):
    """SciPy's L-BFGS, exactly ``steps`` cost-and-gradient evaluations, pixels clipped at the end.

    Without bounds: with L-BFGS-B's box constraints, images with large black or white areas
    (pixels sitting on a bound) stalled at ~1% progress per step, as the feasible step length
    shrank; unbounded, the pixels overshoot the valid range only slightly and are clipped once.

    L-BFGS evaluates trial points during its line searches, some worse than the current
    iterate, so we keep and report the best point seen. When SciPy stops early (a line search
    that cannot make progress in float32), it restarts from the best point with a fresh
    curvature memory while budget is left and the restart still improves the cost.

    SciPy sees the cost scaled so that the first gradient's largest entry is 1: L-BFGS's first
    step (before it has curvature information) is the gradient itself, which would move the
    pixels by far less than float32 can represent when the cost is small, or by thousands of
    pixel units when it is large.
    """
    from scipy.optimize import minimize

    if steps == 0:
        return x0
    shape = x0.shape
    best = {"J": np.inf, "x": x0, "parts": None}
    count, scale = 0, None

    def fun(flat):
        nonlocal count, scale
        if count >= steps:
            raise _BudgetSpent
        x = tf.constant(flat.reshape(shape), tf.float32)
        J, parts, grad = objective.value_and_grad(x)
        count += 1
        if float(J) < best["J"]:
            best.update(J=float(J), x=flat.reshape(shape).astype(np.float32), parts=parts)
        if report(count, best["J"], best["parts"], best["x"]):
            raise _BudgetSpent  # the callback asked to stop
        grad = grad.numpy().astype(np.float64).ravel()
        if scale is None:
            scale = 1.0 / max(float(np.abs(grad).max()), 1e-30)
        return scale * float(J), scale * grad

    options = {"maxcor": 20, "ftol": 0.0, "gtol": 0.0}
    while count < steps:
        before = best["J"]
        left = steps - count
        try:
            minimize(
                fun,
                best["x"].astype(np.float64).ravel(),
                jac=True,
                method="L-BFGS-B",
                options={**options, "maxiter": left, "maxfun": left + 1},
            )
        except _BudgetSpent:
            break
        if not best["J"] < before:
            break
    return best["x"]


def _as_pixels(image, size, what):
    try:
        return load_float_image(image, size)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{what} image: {error}") from None


def stylize(
    content,
    style,
    *,
    size: int = 256,
    steps: int = 100,
    alpha: float = 10.0,
    beta: float = 40.0,
    tv_weight: float = 0.0,
    content_layer: str = DEFAULT_CONTENT_LAYER,
    style_layers: Sequence[tuple[str, float]] = DEFAULT_STYLE_LAYERS,
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

    Args:
        content: the photo: a path, PIL image or ``(H, W, 3)`` array (RGB, 0..255).
        style: the artwork, same kinds; its size and aspect ratio may differ from the content's.
        size: pixels on the longer side of the result (the content's aspect ratio is kept).
            Time per step grows with the pixel count: 256 px takes ~0.7 s per step on 2 CPU cores.
        steps: gradient evaluations (one forward and backward pass of the backbone each).
        alpha, beta: weights of the content and style costs; their ratio sets how much of the
            photo survives (more ``beta`` = more paint).
        tv_weight: weight of `total_variation_cost` on the preprocessed pixels; a little
            (about 1e-3 to 1e-2 of ``alpha``) smooths high-frequency speckles.
        content_layer: layer whose activation the content cost compares.
        style_layers: ``[(layer_name, weight), ...]`` for the style cost.
        init: ``"content"`` starts from the photo (faster, keeps the layout); ``"noise"`` from
            uniform noise drawn with ``seed`` (the classic, more painterly start).
        optimizer: ``"lbfgs"`` (default, fewer steps to a given cost) or ``"adam"``.
        learning_rate: Adam's step in pixel units (default None: 4.0), above 0; ignored by
            L-BFGS.
        backbone: ``"vgg16_hed"`` (offline default), ``"vgg19_imagenet"`` or a loaded `Backbone`.
        style_size: longer side of the style image in pixels (default: ``size``). The style cost
            sees the brush strokes at this scale.
        callback: called with a `StepInfo` after each step (see `FrameRecorder` for frames);
            if it returns True, the optimisation stops there (e.g. once a target cost is met).
        seed: seed of the noise start image; the same seed gives the same result.
        progress: show a tqdm progress bar on stderr.
        jit_compile: compile the cost with XLA (measure first: on CPU it was slower).

    Returns:
        The stylised image, ``(H, W, 3)`` uint8 RGB with ``max(H, W) == size``.

    Raises:
        FileNotFoundError: an image path does not exist.
        ValueError: an unreadable or too small image, ``size <= 0``, ``steps < 0``, an unknown
            layer, backbone, optimizer or init, a weight that is negative, NaN, infinite or
            over `MAX_WEIGHT`, ``learning_rate <= 0``, or a size whose optimisation would not
            fit in the memory available (checked before any image is resized).
    """
    _check_common(steps, optimizer, init, learning_rate, seed)
    _check_weights(alpha, beta, tv_weight, style_layers)
    style_size = size if style_size is None else style_size
    backbone = load_backbone(backbone)
    layers = [content_layer, *(name for name, _ in style_layers)]
    _check_memory(
        backbone,
        layers,
        {"content": (content, size, True), "style": (style, style_size, False)},
    )
    content_rgb = _as_pixels(content, size, "Content")
    style_rgb = _as_pixels(style, style_size, "Style")
    objective = _Objective(
        backbone,
        content=content_rgb,
        style=style_rgb,
        content_layer=content_layer,
        style_layers=style_layers,
        alpha=alpha,
        beta=beta,
        tv_weight=tv_weight,
        jit_compile=jit_compile,
    )
    x0 = np.asarray(objective.backbone.preprocess(_initial_image(content_rgb, init, seed)[None]))
    args = (steps, optimizer, learning_rate, callback, progress)
    pixels = _minimize(objective, x0, *args, "stylize")
    return to_uint8(pixels)


def reconstruct(
    image,
    *,
    content_layer: str | None = None,
    style_layers: Sequence[tuple[str, float]] | Sequence[str] = (),
    size: int = 128,
    steps: int = 100,
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
        tv_weight: weight of `total_variation_cost`. The cost is normalised to 1 at the start
            image, so ``1e-4`` .. ``1e-3`` is a light touch; it removes the noise that deep
            layers cannot see (and so never correct).
        noise: amplitude of the uniform start noise around mid-gray, in pixel units (255 is
            the classic full-range noise; less noise converges faster).
        size, steps, optimizer, learning_rate, backbone, callback, seed, progress: as in `stylize`.
            The costs passed to ``callback`` are relative to the start image's.

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: neither or both of ``content_layer`` and ``style_layers``, or bad input
            as in `stylize`.
    """
    _check_common(steps, optimizer, "noise", learning_rate, seed)
    _check_number(tv_weight, "tv_weight")
    _check_number(noise, "noise", top=255.0)
    if (content_layer is None) == (not style_layers):
        raise ValueError("Give exactly one of content_layer= or style_layers=")
    layers = [
        (entry, 1.0 / len(style_layers)) if isinstance(entry, str) else tuple(entry)
        for entry in style_layers
    ]
    rgb = _as_pixels(image, size, "Target")
    objective = _Objective(
        load_backbone(backbone),
        content=rgb,
        style=rgb,
        content_layer=content_layer,
        style_layers=layers,
        alpha=1.0 if content_layer else 0.0,
        beta=1.0 if layers else 0.0,
        tv_weight=tv_weight,
        jit_compile=False,
    )
    start = _initial_image(rgb, "noise", seed, amplitude=noise)
    x0 = np.asarray(objective.backbone.preprocess(start[None]))
    objective.normalise_at(x0)
    args = (steps, optimizer, learning_rate, callback, progress)
    pixels = _minimize(objective, x0, *args, "reconstruct")
    return to_uint8(pixels)
