"""Face alignment: map five landmarks onto a fixed template and cut out a square chip.

A face encoder is trained on faces that all sit at the same place in the chip: eyes
on one line, at fixed positions, the mouth below. Alignment finds the similarity
transform (rotation, uniform scale, translation)

    image_point = s * R @ chip_point + t

that best maps the template's five points onto the detected landmarks (least squares,
Umeyama 1991), then samples the photo at ``image_point`` for every chip pixel
(bilinear; the photo is first box-downscaled when the face is much larger than the chip).

The template follows dlib's ``get_face_chip_details`` (``dlib/image_transforms/
interpolation.h``): a normalised mean face in [0, 1], padded as
``(padding + p) / (2 * padding + 1)`` and scaled by the chip size. dlib's encoder was
trained with size 150 and padding 0.25. MTCNN's five points (eye centres, nose tip,
mouth corners) are taken from dlib's 68-point mean face: eye centres = means of points
36-41 and 42-47, nose tip = point 30, mouth corners = points 48 and 54.

`jitter_chips` makes slightly moved, turned, zoomed and mirrored copies of a chip, as
dlib's ``jitter_image`` does (test-time augmentation: `FaceEncoder.encode` averages the
encodings of the copies when asked for ``num_jitters``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = [
    "MEAN_FACE_5",
    "chip_landmarks",
    "extract_chip",
    "jitter_chips",
    "jitter_transforms",
    "similarity_transform",
]

# dlib's mean face shape (x, y), points 17-67 of the 68-point iBUG layout, in [0, 1].
_MEAN_FACE_X = (
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689,
)  # fmt: skip
_MEAN_FACE_Y = (
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182,
)  # fmt: skip


def _mean_face_5() -> np.ndarray:
    points = np.stack([_MEAN_FACE_X, _MEAN_FACE_Y], axis=1)  # row i is iBUG point i + 17

    def point(i: int) -> np.ndarray:
        return points[i - 17]

    return np.stack(
        [
            np.mean([point(i) for i in range(36, 42)], axis=0),  # eye on the image's left
            np.mean([point(i) for i in range(42, 48)], axis=0),  # eye on the image's right
            point(30),  # nose tip
            point(48),  # mouth corner on the image's left
            point(54),  # mouth corner on the image's right
        ]
    )


#: ``(5, 2)`` (x, y) in [0, 1]: left eye, right eye, nose tip, left and right mouth corner
#: (left/right as seen in the image), the same order as MTCNN's keypoints.
MEAN_FACE_5 = _mean_face_5()


def chip_landmarks(size: int = 150, padding: float = 0.25) -> np.ndarray:
    """Return where the five landmarks sit in an aligned chip, in pixels.

    Args:
        size: chip side in pixels.
        padding: margin around the mean face, as a fraction of its size (dlib's meaning:
            0 crops at the face's outer landmarks; 0.25 adds a quarter of that on each side).

    Returns:
        ``(5, 2)`` float64 (x, y) pixel coordinates (pixel centres are at integers).
    """
    if size <= 0 or padding < 0:
        raise ValueError(f"Need size > 0 and padding >= 0, got size={size}, padding={padding}")
    return (padding + MEAN_FACE_5) / (2 * padding + 1) * size


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform mapping ``source`` points onto ``target`` points.

    Solves ``min sum_i ||s R source_i + t - target_i||^2`` over rotations ``R``, scales
    ``s > 0`` and translations ``t`` (Umeyama's closed form, no reflections).

    Args:
        source: ``(n, 2)`` points, ``n >= 2``.
        target: ``(n, 2)`` points.

    Returns:
        ``(2, 3)`` float64 matrix ``[s R | t]``: ``target ~ M[:, :2] @ p + M[:, 2]``.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2:
        raise ValueError(f"Need two (n, 2) point arrays, got {source.shape} and {target.shape}")
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - mean_s, target - mean_t
    var_s = (src**2).sum() / len(src)
    if var_s == 0:
        raise ValueError("The source points all coincide; cannot fit a similarity transform")
    covariance = dst.T @ src / len(src)
    u, d, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(d) @ sign) / var_s
    translation = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, translation[:, None]])


def _downscaled(image: np.ndarray, transform: np.ndarray, factor: float):
    """Box-downscale ``image`` by ``factor`` and return it with the adjusted chip->image map."""
    height, width = image.shape[:2]
    new_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = np.asarray(Image.fromarray(image).resize(new_size, Image.Resampling.BOX))
    rx, ry = width / new_size[0], height / new_size[1]
    # A pixel centre x of the original sits at (x + 0.5) / rx - 0.5 in the small image.
    scale = np.diag([1 / rx, 1 / ry])
    offset = np.array([0.5 / rx - 0.5, 0.5 / ry - 0.5])
    adjusted = np.hstack([scale @ transform[:, :2], (scale @ transform[:, 2] + offset)[:, None]])
    return small, adjusted


def extract_chip(
    image: np.ndarray, landmarks: np.ndarray, size: int = 150, padding: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the aligned square chip of one face out of a photo.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        landmarks: ``(5, 2)`` (x, y) pixel positions in ``image``, in `MEAN_FACE_5` order.
        size: chip side in pixels (150 for dlib's encoder).
        padding: template padding (0.25 for dlib's encoder), see `chip_landmarks`.

    Returns:
        ``(chip, transform)``: the ``(size, size, 3)`` uint8 chip, and the ``(2, 3)``
        chip->image similarity transform (image pixels outside the photo are black).
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (5, 2) or not np.isfinite(landmarks).all():
        raise ValueError(f"Need (5, 2) finite landmarks, got shape {landmarks.shape}")
    transform = similarity_transform(chip_landmarks(size, padding), landmarks)
    source, sampling = image, transform
    scale = float(np.sqrt(abs(np.linalg.det(transform[:, :2]))))  # photo pixels per chip pixel
    if scale > 1.5:  # bilinear sampling alone would alias: average the photo down first
        x0, y0, x1, y1 = _footprint(transform, size, image.shape)
        source, sampling = _downscaled(image[y0:y1, x0:x1], _shifted(transform, x0, y0), scale)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    coords_x = sampling[0, 0] * xs + sampling[0, 1] * ys + sampling[0, 2]
    coords_y = sampling[1, 0] * xs + sampling[1, 1] * ys + sampling[1, 2]
    chip = np.empty((size, size, 3), dtype=np.uint8)
    for channel in range(3):
        sampled = ndimage.map_coordinates(
            source[..., channel].astype(np.float32), [coords_y, coords_x], order=1, cval=0.0
        )
        chip[..., channel] = np.clip(sampled + 0.5, 0, 255).astype(np.uint8)
    return chip, transform


def _footprint(transform: np.ndarray, size: int, shape) -> tuple[int, int, int, int]:
    """Integer box (x0, y0, x1, y1) around the chip's area in the photo, with a margin, clipped."""
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], float)
    mapped = corners @ transform[:, :2].T + transform[:, 2]
    margin = 2 + np.sqrt(abs(np.linalg.det(transform[:, :2])))
    x0, y0 = np.floor(mapped.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(mapped.max(axis=0) + margin).astype(int)
    height, width = shape[:2]
    x0, y0 = min(max(x0, 0), width - 1), min(max(y0, 0), height - 1)
    x1, y1 = max(min(x1, width), x0 + 1), max(min(y1, height), y0 + 1)
    return int(x0), int(y0), int(x1), int(y1)


def _shifted(transform: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """The chip->image map expressed in the coordinates of a crop starting at (x0, y0)."""
    shifted = transform.copy()
    shifted[:, 2] -= (x0, y0)
    return shifted


# dlib's jitter_image (dlib/image_transforms/interpolation.h): the chip minus a 3-pixel
# border is moved by up to 2% of its side (whole pixels), zoomed in by a factor drawn
# from [0.97, 0.99999] (the crop is the inner square divided by it, rounded down), turned
# by up to 3 degrees about its centre, and mirrored left-right with probability 1/2.
_JITTER_BORDER = 3
_JITTER_SHIFT = 0.02
_JITTER_ZOOM = (0.97, 0.99999)
_JITTER_DEGREES = 3.0


def jitter_transforms(num_jitters: int, size: int = 150, seed: int = 0) -> np.ndarray:
    """Random small similarity maps (with mirroring), drawn as dlib's ``jitter_image`` draws them.

    Each map sends a pixel ``(x, y)`` of a jittered copy to the point of the original chip
    it shows: ``original = M[:, :2] @ (x, y) + M[:, 2]``. The same ``seed`` always gives the
    same maps, so every chip of a batch (and every call) gets the same jitters.

    Args:
        num_jitters: how many maps.
        size: chip side in pixels.
        seed: seed of `numpy.random.default_rng`.

    Returns:
        ``(num_jitters, 2, 3)`` float64.
    """
    if num_jitters < 0 or size <= 2 * _JITTER_BORDER + 1:
        raise ValueError(f"Need num_jitters >= 0 and size > 7, got {num_jitters}, {size}")
    rng = np.random.default_rng(seed)
    inner = size - 2 * _JITTER_BORDER
    centre = (2 * _JITTER_BORDER + inner) // 2  # dlib's integer centre of the inner square
    half = (size - 1) / 2
    maps = []
    for _ in range(num_jitters):
        shift = np.floor(rng.uniform(-_JITTER_SHIFT, _JITTER_SHIFT, 2) * inner + 0.5)
        box = int(inner / rng.uniform(*_JITTER_ZOOM))
        angle = np.deg2rad(rng.uniform(-_JITTER_DEGREES, _JITTER_DEGREES))
        mirrored = rng.random() > 0.5
        middle = centre + shift - box // 2 + (box - 1) / 2  # centre of the crop square
        cos, sin = np.cos(angle), np.sin(angle)
        linear = (box - 1) / (size - 1) * np.array([[cos, -sin], [sin, cos]])
        if mirrored:  # x of the copy -> size - 1 - x before the map
            linear[:, 0] *= -1
        maps.append(np.hstack([linear, (middle - linear @ (half, half))[:, None]]))
    return np.array(maps).reshape(num_jitters, 2, 3)


def jitter_chips(chips, num_jitters: int, seed: int = 0) -> np.ndarray:
    """Jittered copies of aligned chips (see `jitter_transforms`), sampled bilinearly.

    Pixels that come from outside the chip are black, as in dlib.

    Args:
        chips: ``(n, size, size, 3)`` or one ``(size, size, 3)`` chip, uint8 or float RGB.
        num_jitters: copies per chip.
        seed: seed of the jitters (the same ``num_jitters`` maps for every chip).

    Returns:
        ``(n, num_jitters, size, size, 3)`` float32 in [0, 255].
    """
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.ndim != 4 or chips.shape[1] != chips.shape[2] or chips.shape[3] != 3:
        raise ValueError(f"Need square RGB chips (n, size, size, 3), got {chips.shape}")
    size = chips.shape[1]
    maps = jitter_transforms(num_jitters, size, seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.empty((len(chips), num_jitters, size, size, 3), np.float32)
    for j, m in enumerate(maps):
        coords_x = m[0, 0] * xs + m[0, 1] * ys + m[0, 2]
        coords_y = m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
        for i, chip in enumerate(chips):
            for channel in range(3):
                out[i, j, ..., channel] = ndimage.map_coordinates(
                    chip[..., channel].astype(np.float32),
                    [coords_y, coords_x],
                    order=1,
                    cval=0.0,
                )
    return out
