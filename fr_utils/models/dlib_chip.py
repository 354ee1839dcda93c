"""dlib's face chip (``dlib.get_face_chip``) from its 5-point landmarks, without dlib.

dlib's face encoder was trained on chips cut by ``get_face_chip_details`` and
``extract_image_chip`` (``dlib/image_transforms/interpolation.h``) from the landmarks of
dlib's 5-point shape predictor. Encodings interchangeable with dlib's need the very same
chip, and three details of dlib's cut differ from a plain similarity warp
(`fr_utils.alignment.extract_chip`):

1. The template: the five points are the two corners of each eye and the base of the nose
   (`DLIB_TEMPLATE_5`, in the order dlib's 5-point predictor returns them), padded as
   ``(padding + p) / (2 * padding + 1) * size``.
2. The geometry: dlib fits the similarity template -> landmarks (Umeyama), keeps only its
   rotation angle, its scale ``s`` and where it sends the chip centre ``(size/2, size/2)``,
   and builds a rectangle of side ``size * s - 1`` around that point. Chip pixels 0 and
   ``size - 1`` land on the rectangle's edges, so one chip pixel spans
   ``(size * s - 1) / (size - 1)`` photo pixels (not ``s``), and the chip's middle
   ``(size - 1) / 2`` (not ``size / 2``) sits on the centre.
3. The sampling: bilinear, truncated to integers (not rounded), black where the 2x2
   neighbourhood leaves the photo; when the chip's area in the photo is more than about four
   times the chip's, dlib first halves the photo (``pyramid_down<2>``) as often as needed,
   which `extract_dlib_chip` does not reproduce (its result then differs more).
"""

from __future__ import annotations

import numpy as np

from fr_utils.alignment import similarity_transform

__all__ = ["DLIB_TEMPLATE_5", "dlib_chip_transform", "extract_dlib_chip"]

#: dlib's 5-point chip template (x, y in [0, 1], from ``get_face_chip_details``), in the order
#: of dlib's 5-point predictor: outer and inner corner of the eye on the image's right, outer
#: and inner corner of the eye on the image's left, base of the nose.
DLIB_TEMPLATE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)


def dlib_chip_transform(landmarks5, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """The chip -> photo map of dlib's ``get_face_chip`` for one face.

    Args:
        landmarks5: ``(5, 2)`` (x, y) points of dlib's 5-point predictor (dlib rounds them to
            pixels; pass ``np.floor(p + 0.5)`` of ours to reproduce dlib exactly).
        size: chip side in pixels (150 for dlib's encoder).
        padding: template padding (0.25 for dlib's encoder).

    Returns:
        ``(2, 3)`` float64 ``M``: chip pixel ``(u, v)`` samples the photo at
        ``M[:, :2] @ (u, v) + M[:, 2]`` (a similarity: rotation, uniform scale, shift).
    """
    landmarks5 = np.asarray(landmarks5, dtype=np.float64)
    if landmarks5.shape != (5, 2) or not np.isfinite(landmarks5).all():
        raise ValueError(f"Need (5, 2) finite landmarks, got shape {landmarks5.shape}")
    if size < 2 or padding < 0:
        raise ValueError(f"Need size >= 2 and padding >= 0, got size={size}, padding={padding}")
    template = (padding + DLIB_TEMPLATE_5) / (2 * padding + 1) * size
    fit = similarity_transform(template, landmarks5)  # template -> photo
    scale = np.hypot(fit[0, 0], fit[1, 0])
    rotation = fit[:, :2] / scale
    centre = fit[:, :2] @ (size / 2, size / 2) + fit[:, 2]
    step = rotation * (size * scale - 1) / (size - 1)  # photo pixels per chip pixel
    return np.hstack([step, (centre - step @ ((size - 1) / 2, (size - 1) / 2))[:, None]])


def extract_dlib_chip(
    image: np.ndarray, landmarks5, size: int = 150, padding: float = 0.25
) -> np.ndarray:
    """Cut dlib's face chip: `dlib_chip_transform`, then dlib's bilinear sampling.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        landmarks5: ``(5, 2)`` points of dlib's 5-point predictor, see `dlib_chip_transform`.
        size, padding: as in `dlib_chip_transform`.

    Returns:
        ``(size, size, 3)`` uint8. Equal to dlib's chip up to float rounding when the face is
        small enough that dlib needs no image pyramid (see the module docstring).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"Need an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    transform = dlib_chip_transform(landmarks5, size, padding)
    v, u = np.mgrid[0:size, 0:size].astype(np.float64)
    x = transform[0, 0] * u + transform[0, 1] * v + transform[0, 2]
    y = transform[1, 0] * u + transform[1, 1] * v + transform[1, 2]
    left, top = np.floor(x), np.floor(y)
    inside = (left >= 0) & (top >= 0) & (left + 1 < image.shape[1]) & (top + 1 < image.shape[0])
    col = np.where(inside, left, 0).astype(np.intp)
    row = np.where(inside, top, 0).astype(np.intp)
    col1, row1 = np.minimum(col + 1, image.shape[1] - 1), np.minimum(row + 1, image.shape[0] - 1)
    fx, fy = (x - left)[..., None], (y - top)[..., None]
    pixel = image.astype(np.float64)
    upper = (1 - fx) * pixel[row, col] + fx * pixel[row, col1]
    lower = (1 - fx) * pixel[row1, col] + fx * pixel[row1, col1]
    chip = ((1 - fy) * upper + fy * lower).astype(np.uint8)  # truncation, as dlib
    chip[~inside] = 0
    return chip
