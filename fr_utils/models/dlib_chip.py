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
   which `extract_dlib_chip` reproduces too (`_pyramid_source`, `_pyramid_down`).

`fr_utils.faces` cuts this chip for ``alignment="dlib"``, from the points of our 5-point
shape predictor (`fr_utils.models.shape_predictor`) on the MTCNN box.
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


def _chip_rect(landmarks5, size: int, padding: float) -> tuple[np.ndarray, float]:
    """dlib's ``chip_details`` of a face: its rectangle ``(l, t, r, b)`` and rotation angle.

    The similarity template -> photo gives a scale ``s``, an angle and the photo point of the
    chip centre; dlib's rectangle is centred there with width ``size * s`` counted dlib's way
    (``r - l + 1``), i.e. ``r - l = size * s - 1``.
    """
    landmarks5 = np.asarray(landmarks5, dtype=np.float64)
    if landmarks5.shape != (5, 2) or not np.isfinite(landmarks5).all():
        raise ValueError(f"Need (5, 2) finite landmarks, got shape {landmarks5.shape}")
    if size < 2 or padding < 0:
        raise ValueError(f"Need size >= 2 and padding >= 0, got size={size}, padding={padding}")
    template = (padding + DLIB_TEMPLATE_5) / (2 * padding + 1) * size
    fit = similarity_transform(template, landmarks5)  # template -> photo
    centre = fit[:, :2] @ (size / 2, size / 2) + fit[:, 2]
    half = (size * np.hypot(fit[0, 0], fit[1, 0]) - 1) / 2
    return np.concatenate([centre - half, centre + half]), float(np.arctan2(fit[1, 0], fit[0, 0]))


def _rect_to_chip_map(rect: np.ndarray, angle: float, size: int) -> np.ndarray:
    """The chip -> image affine map sending chip corners onto the turned rectangle's corners."""
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = (rect[:2] + rect[2:]) / 2
    step = turn * ((rect[2:] - rect[:2]) / (size - 1))  # column j: photo step per chip step
    return np.hstack([step, (centre - step @ ((size - 1) / 2, (size - 1) / 2))[:, None]])


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
    rect, angle = _chip_rect(landmarks5, size, padding)
    return _rect_to_chip_map(rect, angle, size)


# ------------------------------------------------------------------------ dlib's sampling
def _rect_down(rect: np.ndarray) -> np.ndarray:
    """Where ``pyramid_down<2>`` says a rectangle lands one level down: ``p / 2 - (1.25, 0.75)``."""
    return rect / 2 - (1.25, 0.75, 1.25, 0.75)


def _area(rect: np.ndarray) -> float:
    return float((rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1))  # dlib counts r - l + 1


def _pyramid_down(image: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_down<2>``: a 5x5 binomial blur ([1 4 6 4 1] / 16 each way), every 2nd pixel.

    Output pixel ``(i, j)`` averages input rows ``2i .. 2i+4`` and columns ``2j .. 2j+4``;
    integer sums, one division by 256 (truncating) at the end.
    """
    height, width = image.shape[:2]
    if height <= 8 or width <= 8:  # dlib returns an empty image
        return np.zeros((0, 0) + image.shape[2:], np.uint8)
    wide = image.astype(np.uint32)
    taps = (1, 4, 6, 4, 1)
    cols = 2 * np.arange((width - 3) // 2)
    rows = 2 * np.arange((height - 3) // 2)
    across = sum(weight * wide[:, cols + k] for k, weight in enumerate(taps))
    down = sum(weight * across[rows + k] for k, weight in enumerate(taps))
    return (down // 256).astype(np.uint8)


def _sample_bilinear(image: np.ndarray, transform: np.ndarray, size: int) -> np.ndarray:
    """dlib's ``interpolate_bilinear`` at every chip pixel: truncated, black off the photo."""
    if image.size == 0:
        return np.zeros((size, size) + image.shape[2:], np.uint8)
    v, u = np.mgrid[0:size, 0:size].astype(np.float64)
    x = transform[0, 0] * u + transform[0, 1] * v + transform[0, 2]
    y = transform[1, 0] * u + transform[1, 1] * v + transform[1, 2]
    left, top = np.floor(x), np.floor(y)
    height, width = image.shape[:2]
    inside = (left >= 0) & (top >= 0) & (left + 1 < width) & (top + 1 < height)
    col = np.where(inside, left, 0).astype(np.intp)
    row = np.where(inside, top, 0).astype(np.intp)
    col1, row1 = np.minimum(col + 1, width - 1), np.minimum(row + 1, height - 1)
    fx, fy = (x - left)[..., None], (y - top)[..., None]
    pixel = image.astype(np.float64)
    upper = (1 - fx) * pixel[row, col] + fx * pixel[row, col1]
    lower = (1 - fx) * pixel[row1, col] + fx * pixel[row1, col1]
    chip = ((1 - fy) * upper + fy * lower).astype(np.uint8)  # truncation, as dlib
    chip[~inside] = 0
    return chip


def _pyramid_source(image, rect, angle, size) -> tuple[np.ndarray, np.ndarray]:
    """The image dlib samples a chip from, and the chip's rectangle in it.

    When the rectangle's area one pyramid level down still exceeds the chip's, dlib crops the
    photo around the (turned) rectangle with a margin, halves the crop ``levels`` times with
    `_pyramid_down`, and samples the smallest level whose rectangle still exceeds the chip.
    """
    levels, margin, down = 0, 2.0, _rect_down(rect)
    while _area(down) > size * size:
        down, levels, margin = _rect_down(down), levels + 1, 2 * margin + 2
    if levels == 0:
        return image, rect
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = (rect[:2] + rect[2:]) / 2
    corners = rect[[[0, 1], [2, 1], [0, 3], [2, 3]]] - centre
    turned = corners @ turn.T + centre
    height, width = image.shape[:2]
    crop = np.concatenate([turned.min(axis=0) - margin, turned.max(axis=0) + margin])
    crop = np.clip(crop, 0, (width - 1, height - 1, width - 1, height - 1))
    crop = np.where(crop < 0, -np.floor(-crop + 0.5), np.floor(crop + 0.5)).astype(int)  # lround
    source = image[crop[1] : crop[3] + 1, crop[0] : crop[2] + 1]
    rect = rect - (crop[0], crop[1], crop[0], crop[1])
    for _ in range(levels):
        source, rect = _pyramid_down(source), _rect_down(rect)
    return source, rect


def extract_dlib_chip(
    image: np.ndarray, landmarks5, size: int = 150, padding: float = 0.25
) -> np.ndarray:
    """Cut dlib's face chip (``dlib.get_face_chip``): its geometry, pyramid and sampling.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        landmarks5: ``(5, 2)`` points of dlib's 5-point predictor, see `dlib_chip_transform`.
        size, padding: as in `dlib_chip_transform`.

    Returns:
        ``(size, size, 3)`` uint8.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"Need an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    rect, angle = _chip_rect(landmarks5, size, padding)
    source, rect = _pyramid_source(image, rect, angle, size)
    return _sample_bilinear(source, _rect_to_chip_map(rect, angle, size), size)
