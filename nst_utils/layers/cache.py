"""Channel maxima computed once, kept on disk: re-running notebook 06 takes seconds.

One pass of a network over 1000 photos and their mirror images takes a minute or two on a
laptop CPU; its result, each channel's maximum per photo (`nst_utils.layers.top_patches`),
is a few megabytes. `cached_channel_maxima` stores it in ``cache_dir()/top_patches/`` as a
plain ``.npz`` (no pickle), written atomically (`workbook.atomic`) and sealed with its
SHA-256 (`workbook.resources.seal_cache`). A cache is used only when its seal matches its
bytes and the key stored inside matches the request exactly: the network, the layers,
whether mirror images were probed, a format version, and the SHA-256 of the photos' pixels
(so other photos, another size or another resizing library mean a new computation). Anything
else, a missing, damaged, replaced or foreign file, is recomputed and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nst_utils.layers.top_patches import ChannelMaxima, _check_layers, channel_maxima
from workbook.atomic import atomic_open
from workbook.resources import cache_dir, is_sealed, seal_cache

__all__ = ["CACHE_VERSION", "cache_key", "cache_path", "cached_channel_maxima"]

#: Bump when the stored arrays or their meaning change: older caches are then ignored.
CACHE_VERSION = 1


def cache_key(backbone, images, layers: Sequence[str], mirror: bool) -> str:
    """The text that identifies one computation (stored in the cache and compared on load)."""
    images = np.ascontiguousarray(images)
    return json.dumps(
        {
            "version": CACHE_VERSION,
            "backbone": backbone.name,
            "layers": list(layers),
            "mirror": bool(mirror),
            "shape": list(images.shape),
            "dtype": str(images.dtype),
            "pixels_sha256": hashlib.sha256(images.data).hexdigest(),
        },
        sort_keys=True,
    )


def cache_path(key: str) -> Path:
    """Where computation ``key`` is cached: ``cache_dir()/top_patches/<backbone>_<digest>.npz``."""
    name = json.loads(key)["backbone"]
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "top_patches" / f"{name}_{digest}.npz"


def _save(path: Path, key: str, maxima: dict[str, ChannelMaxima]) -> None:
    arrays = {"key": np.array(key)}
    for i, layer in enumerate(maxima.values()):
        arrays[f"values_{i}"] = layer.values.astype(np.float32)
        arrays[f"rows_{i}"] = layer.rows.astype(np.int32)
        arrays[f"cols_{i}"] = layer.cols.astype(np.int32)
        if layer.mirrored is not None:
            arrays[f"mirrored_{i}"] = layer.mirrored.astype(bool)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as stream:
        np.savez(stream, **arrays)
    seal_cache(path)


def _load(path: Path, key: str, fields, layers, n_images: int, mirror: bool):
    """The cached maxima, or None when the file is not exactly the requested computation."""
    if not is_sealed(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            result = {}
            for i, name in enumerate(layers):
                values = stored[f"values_{i}"]
                rows, cols = stored[f"rows_{i}"], stored[f"cols_{i}"]
                flipped = stored[f"mirrored_{i}"] if mirror else None
                if values.ndim != 2 or len(values) != n_images:
                    return None
                if any(a.shape != values.shape for a in (rows, cols, *([flipped] * mirror))):
                    return None
                result[name] = ChannelMaxima(name, values, rows, cols, fields[name], flipped)
            return result
    except (OSError, ValueError, KeyError):
        return None


def cached_channel_maxima(
    backbone,
    images,
    layers: Sequence[str],
    batch_size: int = 16,
    mirror: bool = True,
    progress: bool = True,
    use_cache: bool = True,
    report: bool = False,
) -> dict[str, ChannelMaxima]:
    """`channel_maxima`, read from the cache when it holds this very computation.

    Args:
        backbone: a `nst_utils.backbone.Backbone`.
        images: ``(N, H, W, 3)`` uint8 RGB photos.
        layers: the layers to probe.
        batch_size: photos per forward pass (when computing).
        mirror: also probe the mirror images (see `channel_maxima`).
        progress: show a progress bar while computing.
        use_cache: False computes and leaves the cache alone.
        report: print one line saying whether the result was read or computed, and how long
            that took.

    Returns:
        ``{layer: ChannelMaxima}``, as `channel_maxima` returns it.

    Raises:
        ValueError: as `channel_maxima` (bad images, unknown layers...).
    """
    start = time.perf_counter()
    images = np.asarray(images)
    layers = list(layers)
    fields = _check_layers(backbone, layers)
    key = cache_key(backbone, images, layers, mirror)
    path = cache_path(key)
    cached = _load(path, key, fields, layers, len(images), mirror) if use_cache else None
    if cached is None:
        cached = channel_maxima(backbone, images, layers, batch_size, mirror, progress)
        if use_cache:
            _save(path, key, cached)
        how = f"computed over {len(images)} photos" + (" and cached" if use_cache else "")
    else:
        how = "read from the cache"
    if report:
        print(f"{backbone.name}: {how} in {time.perf_counter() - start:.1f} s ({path.name})")
    return cached
