"""Fast arbitrary style transfer: any photo in the style of any painting, in one forward pass.

Gatys' `nst_utils.stylize` optimises the pixels for each new pair, hundreds of forward and
backward passes through VGG. Ghiasi et al. (2017) instead *train* a network to do that
optimisation's job once and for all (`nst_utils.models.magenta` explains both networks):

1. a **style vector** ``s = P(painting)``: 100 numbers predicted from a 256x256 crop of the
   painting (`style_vector`);
2. the **transfer network** ``T(photo, s)`` repaints the photo; ``s`` sets the scale and shift of
   every instance normalisation inside ``T``, which is all that changes from style to style.

Because styles are points in one 100-D space, they can be mixed by mixing vectors, as Magenta
does: ``strength`` interpolates between the painting's vector and the photo's own
(``strength * P(painting) + (1 - strength) * P(photo)``; 0 gives the photo repainted in its own
style), and `blend_styles` averages several paintings' vectors with weights.

Images follow `nst_utils.images`: a path, a PIL image, or an ``(H, W, 3)`` array (uint8, or
float in ``[0, 255]``); results are ``(H, W, 3)`` uint8 RGB, like `nst_utils.stylize`. The two
networks are loaded once per process (thread-safe) and run as compiled ``tf.function`` graphs:
about 0.1 s per 384 px photo on 2 CPU cores (``benchmarks/bench_fast_nst.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image

from nst_utils.images import load_float_image, to_uint8
from nst_utils.models import magenta

__all__ = ["DEFAULT_SIZE", "PRECISIONS", "blend_styles", "fast_stylize", "style_vector"]

#: Default longer side of the result, in pixels (the size the TFLite networks were exported at).
DEFAULT_SIZE = 384
#: Stored precisions of the transfer network: ``"fp16"`` (default) and ``"int8"`` (smaller).
PRECISIONS = tuple(magenta.TRANSFER_WEIGHTS)
# The transfer network halves the resolution twice and upsamples twice; a side that is a
# multiple of 4 comes back at exactly its size.
_MULTIPLE = 4

# Most pixels per forward pass. Measured on 2 CPU cores (benchmarks/bench_fast_nst.py): batches
# of small photos are faster per image (the ~300 operations' fixed cost is shared), but beyond
# about two 256x256 photos per pass the activations outgrow the caches and a batch becomes
# slower per image than one photo at a time (at 384x384, batch 4 took 1.2-1.4x as long).
_BATCH_PIXELS = 2 * 256 * 256

_LOCK = threading.Lock()
_CACHE: dict[str, Callable] = {}


@dataclass(frozen=True)
class _Batch:
    """Photos of one size, in ``[0, 1]``, padded to a multiple of 4, and where they came from."""

    pixels: np.ndarray  # (B, H', W', 3)
    positions: list[int]
    height: int
    width: int


def _compiled(key: str) -> Callable:
    """The ``tf.function`` of network ``key``, built on first use (once per process)."""
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(key)
        return _CACHE[key]


def _build(key: str):
    images = tf.TensorSpec([None, None, None, 3], tf.float32)
    if key == "predict":
        model = magenta.style_predictor()
        return tf.function(lambda x: model(x, training=False), input_signature=[images])
    model = magenta.style_transformer(precision=key)
    vectors = tf.TensorSpec([None, 1, 1, magenta.STYLE_DIM], tf.float32)
    # Measured (benchmarks/bench_fast_nst.py, 2 cores): XLA's jit_compile was about 2x slower
    # on CPU and recompiles for every new image size, so the graph runs without it.
    signature = [images, vectors]
    return tf.function(lambda x, s: model([x, s], training=False), input_signature=signature)


def _style_crop(source) -> np.ndarray:
    """The predictor's input: shorter side resized to 256 px, centre crop, ``[0, 1]``."""
    image = Image.fromarray(to_uint8(load_float_image(source)))
    scale = magenta.STYLE_SIZE / min(image.size)
    width, height = (max(magenta.STYLE_SIZE, round(side * scale)) for side in image.size)
    image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (width - magenta.STYLE_SIZE) // 2, (height - magenta.STYLE_SIZE) // 2
    box = (left, top, left + magenta.STYLE_SIZE, top + magenta.STYLE_SIZE)
    return np.asarray(image.crop(box), np.float32) / 255.0


def _predict(images: Sequence) -> np.ndarray:
    """Style vectors ``(N, 100)`` of ``images``, run as one batch."""
    crops = np.stack([_style_crop(image) for image in images])
    return np.asarray(_compiled("predict")(tf.constant(crops))).reshape(len(images), -1)


def _is_vector(style) -> bool:
    """A style vector is a 1-D array (or the predictor's own ``(1, 1, 1, 100)`` output)."""
    return isinstance(style, np.ndarray) and (
        style.ndim == 1 or (style.ndim == 4 and style.shape[:3] == (1, 1, 1))
    )


def _as_vectors(styles: Sequence) -> np.ndarray:
    """``(N, 100)``: style vectors as given, images through the predictor (one batch)."""
    vectors: list = [None] * len(styles)
    images = [i for i, style in enumerate(styles) if not _is_vector(style)]
    for i, style in enumerate(styles):
        if _is_vector(style):
            if style.size != magenta.STYLE_DIM:
                raise ValueError(
                    f"A style vector has {magenta.STYLE_DIM} numbers (from style_vector());"
                    f" got shape {style.shape}"
                )
            vectors[i] = np.asarray(style, np.float32).reshape(-1)
    if images:
        for i, vector in zip(images, _predict([styles[i] for i in images]), strict=True):
            vectors[i] = vector
    return np.stack(vectors)


def style_vector(style) -> np.ndarray:
    """The 100-D style vector of a painting (or of any image).

    The predictor sees a 256x256 crop: the shorter side resized to 256 px, the centre kept.

    Args:
        style: a path, PIL image or ``(H, W, 3)`` array (uint8, or float in ``[0, 255]``).

    Returns:
        ``(100,)`` float32, a new array. Pass it as ``style`` to `fast_stylize` to reuse it.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: not an image, or smaller than 16 px on a side.
        workbook.WeightsUnavailableError: the network file is missing or corrupt.
    """
    return _as_vectors([style])[0].copy()


def _check_weights(weights, count: int) -> np.ndarray:
    weights = np.ones(count) if weights is None else np.asarray(weights, np.float64)
    if weights.shape != (count,):
        raise ValueError(f"Give one weight per style: {count} styles, weights {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"Style weights must be >= 0 and not all 0; got {weights.tolist()}")
    return weights / weights.sum()


def blend_styles(styles: Sequence, weights: Sequence[float] | None = None) -> np.ndarray:
    """Mix several styles: the weighted mean of their style vectors.

    Args:
        styles: paintings (paths, PIL images, arrays) or style vectors, or a mix.
        weights: one non-negative number per style (normalised to sum 1); default equal.

    Returns:
        ``(100,)`` float32: ``sum_i w_i * style_vector(styles[i])`` with ``sum_i w_i = 1``.

    Raises:
        ValueError: no styles, a bad weight, or a style vector of the wrong length.
    """
    if isinstance(styles, (str, np.ndarray, Image.Image)) or len(styles) == 0:
        raise ValueError("blend_styles needs a list of styles, e.g. [painting_a, painting_b]")
    weights = _check_weights(weights, len(styles))
    return (weights @ _as_vectors(list(styles))).astype(np.float32)


def _check_strength(strength) -> float:
    if isinstance(strength, bool) or not np.isscalar(strength) or not 0 <= strength <= 1:
        raise ValueError(f"strength must be a number in [0, 1]; got {strength!r}")
    return float(strength)


def _batches(photos: list[np.ndarray]) -> list[_Batch]:
    """Group photos by size; pad each to a multiple of 4 by mirroring its bottom/right edge."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, photo in enumerate(photos):
        groups.setdefault(photo.shape[:2], []).append(i)
    batches = []
    for (height, width), positions in groups.items():
        pad = (-height % _MULTIPLE, -width % _MULTIPLE)
        pixels = np.stack([photos[i] / 255.0 for i in positions]).astype(np.float32)
        pixels = np.pad(pixels, ((0, 0), (0, pad[0]), (0, pad[1]), (0, 0)), mode="reflect")
        batches.append(_Batch(pixels, positions, height, width))
    return batches


def _transfer(batch: _Batch, vectors: np.ndarray, precision: str, batch_size: int):
    """Run the transfer network over ``batch`` in chunks; yield ``(position, uint8 image)``."""
    network = _compiled(precision)
    height, width = batch.pixels.shape[1:3]
    step = max(1, min(batch_size, _BATCH_PIXELS // (height * width)))
    for start in range(0, len(batch.positions), step):
        stop = start + step
        chunk = batch.positions[start:stop]
        styles = vectors[chunk].reshape(len(chunk), 1, 1, -1)
        out = np.asarray(network(tf.constant(batch.pixels[start:stop]), tf.constant(styles)))
        for position, image in zip(chunk, out, strict=True):
            yield position, to_uint8(image[: batch.height, : batch.width] * 255.0)


def fast_stylize(
    content,
    style,
    strength: float = 1.0,
    *,
    weights: Sequence[float] | None = None,
    size: int | None = DEFAULT_SIZE,
    precision: str = "fp16",
    batch_size: int = 4,
):
    """Repaint a photo (or several) in the style of a painting, in one pass of a network.

    Args:
        content: the photo: a path, PIL image or ``(H, W, 3)`` array (uint8, or float in
            ``[0, 255]`` as everywhere in `nst_utils`), or a list of them (a list in, a list out).
            A list is faster per image than one call per photo: the painting is read and its
            style vector predicted once, the photos' own style vectors (``strength < 1``) in one
            batch, and small photos of the same size run through the network together.
        style: a painting (same kinds), a style vector from `style_vector`, or a list of
            paintings / vectors to blend (see ``weights``).
        strength: how much of the painting's style, in ``[0, 1]``: the network gets
            ``strength * s_style + (1 - strength) * s_photo``, ``s_photo`` being the photo's own
            style vector (0 repaints the photo in its own style, 1 in the painting's).
        weights: with a list of styles, one weight each (normalised to sum 1; default equal).
        size: longer side of the result in pixels (aspect ratio kept); None keeps the photo's
            size. The network is fully convolutional: larger sizes give finer brush strokes
            relative to the picture, and time grows with the pixel count.
        precision: transfer network weights, ``"fp16"`` (default) or ``"int8"``.
        batch_size: at most this many photos per forward pass; fewer for large photos (at
            most about 131 000 pixels per pass, where batching stopped paying on a CPU).

    Returns:
        ``(H, W, 3)`` uint8 RGB with ``max(H, W) == size`` (or a list of them for a list in).

    Raises:
        FileNotFoundError: an image path does not exist.
        ValueError: not an image, a bad size, strength, weight, precision or style vector.
        workbook.WeightsUnavailableError: a network file is missing or corrupt (the message says
            how to get it: ``make data``).
    """
    strength = _check_strength(strength)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    single = not isinstance(content, (list, tuple))
    photos = [load_float_image(photo, size) for photo in ([content] if single else content)]
    if not photos:
        return []
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    if len(styles) > 1 or weights is not None:
        target = blend_styles(styles, weights)
    else:
        target = _as_vectors(styles)[0]
    vectors = np.repeat(target[None], len(photos), axis=0)
    if strength < 1:
        vectors = strength * vectors + (1 - strength) * _predict(photos)
    results: list = [None] * len(photos)
    for batch in _batches(photos):
        for position, image in _transfer(batch, vectors, precision, batch_size):
            results[position] = image
    return results[0] if single else results
