"""A synthetic dataset of 3D shapes (sphere, cube, torus) in random poses, with noise.

Two real MRI volumes are not a training set, but a 3D CNN can be trained honestly on volumes
we generate: each example is a ``size^3`` grid in which one solid shape is drawn with a random
centre, size and rotation, anti-aliased edges, a random brightness and Gaussian noise. The
shapes are drawn with similar volumes, so a network cannot tell them apart by counting bright
voxels; it has to see the shape (corners and flat faces of a cube, the hole of a torus).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHAPE_CLASSES", "make_shapes_dataset", "random_rotation"]

SHAPE_CLASSES = ("sphere", "cube", "torus")


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Return a ``(3, 3)`` rotation matrix drawn uniformly over all 3D rotations.

    The QR decomposition of a Gaussian matrix gives a uniformly random orthogonal ``Q`` once
    the signs of ``R``'s diagonal are moved into ``Q``; flipping one column if ``det(Q) = -1``
    turns a reflection into a rotation.
    """
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _signed_distance(kind: str, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Approximate signed distance (negative inside) of a shape in its own frame ``u``."""
    if kind == "sphere":
        return np.linalg.norm(u, axis=-1) - rng.uniform(0.5, 0.68)
    if kind == "cube":
        return np.abs(u).max(axis=-1) - rng.uniform(0.38, 0.5)
    if kind == "torus":
        ring = np.hypot(u[..., 0], u[..., 1]) - rng.uniform(0.48, 0.62)
        return np.hypot(ring, u[..., 2]) - rng.uniform(0.2, 0.28)
    raise ValueError(f"Unknown shape {kind!r}; choose from {SHAPE_CLASSES}.")


def make_shapes_dataset(
    n_per_class: int, size: int = 24, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generate noisy volumes of spheres, cubes and tori in random poses.

    Args:
        n_per_class: number of volumes of each class.
        size: side of the cubic grid in voxels; the grid spans ``[-1, 1]^3``.
        noise: standard deviation of the Gaussian noise added to every voxel (the shape is
            about 0.7-1.0 bright on a 0 background).
        seed: seed of the NumPy generator; the same seed gives the same dataset.

    Returns:
        ``(volumes, labels)``: ``(3 * n_per_class, size, size, size, 1)`` float32 and
        ``(3 * n_per_class,)`` int64 indices into `SHAPE_CLASSES`, in a shuffled order.

    Raises:
        ValueError: for a non-positive ``n_per_class``, a ``size`` below 8 or negative noise.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1; got {n_per_class}.")
    if size < 8:
        raise ValueError(f"size must be at least 8 voxels to draw a shape; got {size}.")
    if noise < 0:
        raise ValueError(f"noise must be non-negative; got {noise}.")
    rng = np.random.default_rng(seed)
    axis = (np.arange(size) + 0.5) / size * 2 - 1  # voxel centres in [-1, 1]
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)  # (s, s, s, 3)
    edge = 2.0 / size  # one voxel: the width of the soft edge
    labels = np.repeat(np.arange(len(SHAPE_CLASSES)), n_per_class)
    rng.shuffle(labels)
    volumes = np.empty((len(labels), size, size, size, 1), dtype=np.float32)
    for i, label in enumerate(labels):
        centre = rng.uniform(-0.1, 0.1, size=3)
        local = (grid - centre) @ random_rotation(rng)  # coordinates in the shape's frame
        distance = _signed_distance(SHAPE_CLASSES[label], local, rng)
        occupancy = 1.0 / (1.0 + np.exp(np.clip(distance / (0.5 * edge), -30, 30)))
        brightness = rng.uniform(0.7, 1.0)
        volume = brightness * occupancy + noise * rng.standard_normal(occupancy.shape)
        volumes[i, ..., 0] = volume
    return volumes, labels.astype(np.int64)
