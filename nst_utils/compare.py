"""Gatys style transfer on several backbones, each given the same CPU time (notebook 09).

A fair comparison of feature networks for `nst_utils.stylize` has to settle two things:

* **The budget.** A step of VGG-16 is many times more arithmetic than a step of SqueezeNet,
  so "the same number of steps" favours the big network. We give every backbone the same
  seconds of this process's CPU time (`CpuBudget`, a ``callback`` that stops `stylize`), which
  does not depend on how many other programs share the machine, as wall time would.
* **The weights.** The costs of different networks live on different scales (VGG's
  activations are in pixel units, Darknet's input is divided by 255), so one pair
  ``alpha, beta`` would paint one network's result and leave another's a photo.
  `balanced_weights` sets each network's weights so that its content term is 1 for the
  painting in place of the result and its style term is 1 for the photo; one ratio
  ``beta/alpha`` then means the same for every network. Only the ratio matters: scaling
  both weights scales ``J`` and leaves its minimiser where it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nst_utils.backbone import feature_extractor, load_backbone
from nst_utils.costs import compute_content_cost, compute_style_cost
from nst_utils.images import load_float_image, resize_image

__all__ = ["CpuBudget", "Run", "backbone_layers", "balanced_weights", "stylize_for"]

#: Content and style layers of VGG (the course's), for backbones that suggest none.
_VGG_CONTENT = "block4_conv2"
_VGG_STYLE = tuple((f"block{i}_conv1", 0.2) for i in range(1, 6))


def backbone_layers(backbone) -> tuple[str, tuple]:
    """``(content_layer, style_layers)`` a backbone suggests (VGG: the course's layers).

    Args:
        backbone: a name of `nst_utils.BACKBONES` or a loaded `Backbone`.
    """
    net = load_backbone(backbone)
    return net.content_layer or _VGG_CONTENT, tuple(net.style_layers or _VGG_STYLE)


class CpuBudget:
    """A `stylize` callback that stops the optimisation after ``seconds`` of CPU time.

    CPU time is what this process computed (all its threads, `time.process_time`), so the
    budget buys the same work whether the machine is idle or shared.

    Attributes:
        steps: steps done when it stopped (or when `stylize` ran out of steps).
        cpu_seconds, wall_seconds: CPU and wall time from creation to the last step.
    """

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0; got {seconds!r}")
        self.seconds = float(seconds)
        self.steps, self.cpu_seconds, self.wall_seconds = 0, 0.0, 0.0
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def __call__(self, info) -> bool:
        self.steps = info.step
        self.cpu_seconds = time.process_time() - self._cpu
        self.wall_seconds = time.perf_counter() - self._wall
        return self.cpu_seconds >= self.seconds


def balanced_weights(
    backbone,
    content,
    style,
    *,
    size: int,
    ratio: float = 1.0,
    content_layer=None,
    style_layers=None,
) -> tuple[float, float]:
    """``(alpha, beta)`` that put a backbone's two costs on one scale, with ``beta/alpha``'s
    meaning fixed by ``ratio``.

    ``alpha = 1 / J_content(photo, painting)`` (the painting, resized to the photo's shape,
    stands for a result that kept nothing of the photo) and ``beta = ratio / J_style(painting,
    photo)`` (the photo stands for a result that took no style). So ``alpha J_content`` is 1
    for the painting and ``beta J_style`` is ``ratio`` for the photo, on every backbone.

    Args:
        backbone: a name of `nst_utils.BACKBONES` or a loaded `Backbone`.
        content, style: the photo and the painting (path, PIL image or array).
        size: the long side the optimisation runs at (costs depend on it).
        ratio: the balanced ``beta/alpha``; above 1 favours style.
        content_layer, style_layers: default `backbone_layers`.

    Returns:
        ``(alpha, beta)`` as Python floats.
    """
    net = load_backbone(backbone)
    default_content, default_style = backbone_layers(net)
    content_layer = content_layer or default_content
    style_layers = tuple(style_layers or default_style)
    photo = load_float_image(content, size)
    painting = resize_image(load_float_image(style), size)
    stand_in = _resized_to(painting, photo.shape[:2])
    extractor = feature_extractor(net, list(style_layers), content_layer)

    def features(rgb):
        return extractor([net.preprocess(np.asarray(rgb, np.float32)[None])], training=False)

    photo_out, painting_out = features(photo), features(painting)
    stand_in_out = features(stand_in)
    J_content = float(compute_content_cost(photo_out[content_layer], stand_in_out[content_layer]))
    J_style = float(compute_style_cost(painting_out, photo_out, style_layers))
    return 1.0 / max(J_content, 1e-30), float(ratio) / max(J_style, 1e-30)


def _resized_to(rgb: np.ndarray, shape) -> np.ndarray:
    """``rgb`` stretched to ``shape = (H, W)`` (bicubic): the painting where the photo was."""
    from PIL import Image

    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    return np.asarray(image.resize((shape[1], shape[0]), Image.BICUBIC), np.float32)


@dataclass(frozen=True)
class Run:
    """One `stylize_for` result: the image and what it cost."""

    backbone: str
    image: np.ndarray
    steps: int
    cpu_seconds: float
    wall_seconds: float


def stylize_for(
    content, style, cpu_seconds: float, *, backbone, size: int, ratio: float = 1.0, **options
) -> Run:
    """`nst_utils.stylize` with ``backbone``'s own layers and balanced weights, for a CPU budget.

    A two-step warm-up at 64 px first traces the backbone's compiled step, so the budget pays
    for optimisation, not for building the graph (the targets of the real size are included).

    Args:
        content, style: the photo and the painting.
        cpu_seconds: CPU time the optimisation may use (`CpuBudget`).
        backbone: a name of `nst_utils.BACKBONES`.
        size: long side of the result in pixels.
        ratio: balanced ``beta/alpha`` (`balanced_weights`).
        **options: passed on to `stylize` (e.g. ``init``); ``steps`` caps the steps (default 10000).

    Returns:
        A `Run`.
    """
    from nst_utils.gatys import stylize

    content_layer, style_layers = backbone_layers(backbone)
    alpha, beta = balanced_weights(backbone, content, style, size=size, ratio=ratio)
    common = dict(
        alpha=alpha,
        beta=beta,
        backbone=backbone,
        content_layer=content_layer,
        style_layers=style_layers,
        progress=False,
    )
    stylize(content, style, size=64, steps=2, **common)  # trace once, outside the budget
    budget = CpuBudget(cpu_seconds)
    steps = options.pop("steps", 10_000)
    image = stylize(content, style, size=size, steps=steps, callback=budget, **common, **options)
    name = backbone if isinstance(backbone, str) else backbone.name
    return Run(name, image, budget.steps, budget.cpu_seconds, budget.wall_seconds)
