"""A verified, atomic ``.npz`` cache for expensive LFW computations (no pickle).

A cache file stores its arrays, the *key* it was computed for (model weights, pipeline
options, code version: whatever would change the numbers) and a SHA-256 of the arrays.
`load` returns nothing unless both match, so a stale or damaged file is recomputed rather
than trusted; `save` writes through `workbook.atomic`, so a killed run leaves the previous
file intact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from workbook.atomic import atomic_open

__all__ = ["digest", "load", "save", "weights_digest"]


def digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (sorted by name)."""
    hasher = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        hasher.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


def save(path: Path, key: dict, **arrays) -> None:
    """Write ``arrays`` with ``key`` (a JSON-able dict) and their checksum, atomically."""
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    meta = json.dumps({"key": key, "sha256": digest(arrays)}, sort_keys=True)
    with atomic_open(path) as out:
        np.savez(out, _meta=np.array(meta), **arrays)


def load(path: Path, key: dict) -> dict[str, np.ndarray] | None:
    """The arrays of ``path`` if it was saved for ``key`` and is intact, else None."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["_meta"]))
            arrays = {name: data[name] for name in data.files if name != "_meta"}
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("key") != json.loads(json.dumps(key, sort_keys=True)):
        return None
    if meta.get("sha256") != digest(arrays):
        return None
    return arrays


def weights_digest(encoder) -> str:
    """First 16 hex digits of a SHA-256 over every weight of ``encoder``'s network."""
    return digest({f"w{i:03d}": w for i, w in enumerate(encoder.model.get_weights())})[:16]
