"""Map MTCNN's face boxes to the boxes dlib's shape predictors were trained on.

A shape predictor starts from its mean shape placed in the face box, so it expects boxes
like those it was trained on: dlib's HOG detector's (``dlib.get_frontal_face_detector``),
square, tighter than MTCNN's and centred lower, around eyes, nose and mouth. Our detector is
MTCNN, whose box and five landmarks follow another convention. This module turns an MTCNN
detection into a dlib-style box with a fitted similarity rule:

    frame  = centre c and scale s from the MTCNN detection (see `_frames`)
    centre = c + s * (dx, dy)        size = s * k
    box    = (centre - size / 2, centre + size / 2)   as (left, top, right, bottom)

The constants `BOX_MAPPING` were fitted by `fit_box_mapping` on LFW photos of people who
appear in none of the 5,400 official view-2 pairs (so the evaluation never sees them), with
the command that prints them and their quality on held-out photos of the evaluation folds:

    python -m fr_utils.models.box_mapping --fit-photos 1404 --heldout-photos 400

(needs ``dlib-bin``: it runs dlib's HOG detector and dlib's own predictor as the reference).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

__all__ = ["BOX_MAPPING", "dlib_box_from_mtcnn", "fit_box_mapping"]

#: Fitted by `fit_box_mapping` (see the module docstring): the frame used, the centre offset
#: (dx, dy) and the size factor k, in units of the frame's scale. Fit: 1,363 LFW photos of
#: people in no view-2 pair (the "landmarks" frame beat the "box" frame there: 0.81 vs 1.21 px).
#: Held out (386 photos of the evaluation folds), ours on the mapped MTCNN box vs dlib's
#: predictor on dlib's HOG box, mean over the points of a face, then over faces:
#: 68-point 0.84 px (median 0.62, 95th percentile 1.76, max 9.6; 2.1 % of the eye distance),
#: 5-point 0.49 px (max 2.6). dlib rounds its points to whole pixels, which alone accounts for
#: about 0.38 px; MTCNN's box made square without the mapping gives 1.21 and 0.51 px.
BOX_MAPPING = {"frame": "landmarks", "dx": -0.0753, "dy": -0.0668, "k": 2.4231}


def _frames(boxes: np.ndarray, landmarks: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(N, 2)`` and scale ``(N,)`` of MTCNN detections in one of two frames.

    ``"box"``: the box centre and ``sqrt(width * height)``. ``"landmarks"``: the mean of the
    five landmarks, and the geometric mean of the eye distance and the eyes-to-mouth distance
    (a face turned sideways shortens the first, one tilted forward the second; their product
    changes less). Landmarks barely move when MTCNN's box jitters.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(-1, 5, 2)
    if frame == "box":
        centre = boxes[:, :2] + boxes[:, 2:] / 2
        return centre, np.sqrt(boxes[:, 2] * boxes[:, 3])
    if frame == "landmarks":
        eyes, mouth = landmarks[:, :2].mean(axis=1), landmarks[:, 3:].mean(axis=1)
        eye_distance = np.linalg.norm(landmarks[:, 1] - landmarks[:, 0], axis=1)
        scale = np.sqrt(eye_distance * np.linalg.norm(mouth - eyes, axis=1))
        return landmarks.mean(axis=1), scale
    raise ValueError(f"frame must be 'box' or 'landmarks', got {frame!r}")


def dlib_box_from_mtcnn(box, landmarks, mapping: dict | None = None) -> np.ndarray:
    """The dlib-style box ``(left, top, right, bottom)`` for one or more MTCNN detections.

    Args:
        box: MTCNN's ``(x, y, width, height)`` (`fr_utils.detection.DetectedFace.box`), or
            ``(N, 4)`` of them.
        landmarks: the detection's ``(5, 2)`` landmarks, or ``(N, 5, 2)``.
        mapping: constants as in `BOX_MAPPING` (the default).

    Returns:
        ``(4,)`` float64, or ``(N, 4)`` for several detections, ready for
        `fr_utils.models.shape_predictor.ShapePredictor.predict`.
    """
    mapping = BOX_MAPPING if mapping is None else mapping
    many = np.ndim(box) == 2
    centre, scale = _frames(box, landmarks, mapping["frame"])
    centre = centre + scale[:, None] * (mapping["dx"], mapping["dy"])
    half = (mapping["k"] * scale / 2)[:, None]
    boxes = np.hstack([centre - half, centre + half])
    return boxes if many else boxes[0]


def fit_box_mapping(boxes, landmarks, dlib_boxes, frame: str) -> dict:
    """Fit `BOX_MAPPING`'s constants: least squares on offsets and sizes measured in frame units.

    Args:
        boxes: ``(N, 4)`` MTCNN boxes ``(x, y, width, height)``.
        landmarks: ``(N, 5, 2)`` MTCNN landmarks.
        dlib_boxes: ``(N, 4)`` dlib HOG boxes ``(left, top, right, bottom)`` of the same faces.
        frame: ``"box"`` or ``"landmarks"`` (see `_frames`).

    Returns:
        ``{"frame", "dx", "dy", "k"}`` (the mean offset and size ratio: the least-squares
        fit of a constant).
    """
    dlib_boxes = np.asarray(dlib_boxes, dtype=np.float64)
    centre, scale = _frames(boxes, landmarks, frame)
    target = (dlib_boxes[:, :2] + dlib_boxes[:, 2:]) / 2
    offset = (target - centre) / scale[:, None]
    size = (dlib_boxes[:, 2] - dlib_boxes[:, 0] + dlib_boxes[:, 3] - dlib_boxes[:, 1]) / 2
    return {
        "frame": frame,
        "dx": round(float(offset[:, 0].mean()), 4),
        "dy": round(float(offset[:, 1].mean()), 4),
        "k": round(float((size / scale).mean()), 4),
    }


# ---------------------------------------------------------- collecting the LFW detections
def _iou(box_xywh: np.ndarray, rect_ltrb: np.ndarray) -> float:
    ax0, ay0 = box_xywh[:2]
    ax1, ay1 = box_xywh[:2] + box_xywh[2:]
    bx0, by0, bx1, by1 = rect_ltrb + (0, 0, 1, 1)  # dlib corners are inclusive
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = w * h
    return inter / (box_xywh[2] * box_xywh[3] + (bx1 - bx0) * (by1 - by0) - inter)


def lfw_photo_split(lfw_root: Path, seed: int = 0) -> tuple[list[str], list[str]]:
    """LFW photos for fitting (people in no view-2 pair) and for testing (photos in view-2 pairs).

    Returns:
        ``(fit, heldout)``: relative paths ``Name/Name_0001.jpg``, each list shuffled with
        ``seed`` (take a prefix for a smaller sample).
    """
    evaluated_people, evaluated_photos = set(), set()
    with open(lfw_root / "pairs_available.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "view2":
                for path in (row["path_a"], row["path_b"]):
                    evaluated_people.add(path.split("/")[0])
                    evaluated_photos.add(path)
    fit = sorted(
        f"{p.parent.name}/{p.name}"
        for p in lfw_root.glob("*/*.jpg")
        if p.parent.name not in evaluated_people
    )
    rng = np.random.default_rng(seed)
    return list(rng.permutation(fit)), list(rng.permutation(sorted(evaluated_photos)))


def collect_detections(paths: list[str], lfw_root: Path) -> dict[str, np.ndarray]:
    """Run MTCNN and dlib's HOG detector on LFW photos and pair up their central face.

    The MTCNN face nearest the photo's centre (LFW centres its subject) is paired with the
    HOG box that overlaps it most (IoU >= 0.3); photos without such a pair are skipped.

    Returns:
        ``{"paths", "boxes" (N, 4), "landmarks" (N, 5, 2), "dlib_boxes" (N, 4)}``.
    """
    import dlib

    from fr_utils.detection import detect_faces
    from workbook.images import load_image

    hog = dlib.get_frontal_face_detector()
    kept = {"paths": [], "boxes": [], "landmarks": [], "dlib_boxes": []}
    for path in paths:
        photo = load_image(lfw_root / path)
        faces = detect_faces(photo)
        rects = np.array([(r.left(), r.top(), r.right(), r.bottom()) for r in hog(photo, 1)])
        if not faces or not len(rects):
            continue
        middle = np.array(photo.shape[1::-1]) / 2
        face = min(faces, key=lambda f: np.linalg.norm(np.add(f.box[:2], f.box[2:]) / 2 - middle))
        box = np.array(face.box)
        overlaps = [_iou(box, rect) for rect in rects]
        if max(overlaps) < 0.3:
            continue
        kept["paths"].append(path)
        kept["boxes"].append(box)
        kept["landmarks"].append(face.landmarks)
        kept["dlib_boxes"].append(rects[int(np.argmax(overlaps))].astype(np.float64))
    return {key: np.array(value) for key, value in kept.items()}


def landmark_errors(detections: dict, mapping: dict, lfw_root: Path, num_parts: int = 68):
    """Per-face mean landmark distance: ours on the mapped MTCNN box vs dlib on dlib's box.

    Returns:
        ``(errors_px (N,), inter_ocular_px (N,))``: the mean over the ``num_parts`` points of
        each face, and the face's distance between the eye centres (dlib's points).
    """
    import dlib

    from fr_utils.models.shape_predictor import load_shape_predictor
    from workbook.images import load_image
    from workbook.resources import weights_path

    ours = load_shape_predictor(num_parts)
    theirs = dlib.shape_predictor(str(weights_path(f"dlib_shape_predictor_{num_parts}")))
    mapped = dlib_box_from_mtcnn(detections["boxes"], detections["landmarks"], mapping)
    errors, eyes = [], []
    for path, box, rect in zip(detections["paths"], mapped, detections["dlib_boxes"], strict=True):
        photo = load_image(lfw_root / path)
        reference = theirs(photo, dlib.rectangle(*(int(v) for v in rect)))
        reference = np.array([(p.x, p.y) for p in reference.parts()], dtype=np.float64)
        errors.append(np.linalg.norm(ours.predict(photo, box) - reference, axis=1).mean())
        if num_parts == 68:
            eyes.append(np.linalg.norm(reference[36:42].mean(0) - reference[42:48].mean(0)))
        else:
            eyes.append(np.linalg.norm(reference[0:2].mean(0) - reference[2:4].mean(0)))
    return np.array(errors), np.array(eyes)


def _detections(paths, lfw_root: Path, cache: Path | None) -> dict:
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as archive:
            if list(archive["paths"]) == list(paths) or len(paths) == 0:
                return {key: archive[key] for key in archive.files}
    found = collect_detections(paths, lfw_root)
    if cache is not None:
        np.savez(cache, **found)
    return found


def _summary(name: str, errors: np.ndarray, eyes: np.ndarray) -> str:
    relative = errors / eyes
    return (
        f"{name}: {len(errors)} faces, mean landmark error {errors.mean():.2f} px"
        f" (median {np.median(errors):.2f}, 95th pct {np.percentile(errors, 95):.2f},"
        f" max {errors.max():.2f}); {100 * relative.mean():.1f} % of the inter-ocular distance"
    )


def main(argv: list[str] | None = None) -> None:
    """Fit the mapping on LFW people outside the evaluation, report it on evaluation photos."""
    from workbook import data_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-photos", type=int, default=1404)
    parser.add_argument("--heldout-photos", type=int, default=400)
    parser.add_argument("--cache", type=Path, help="folder to keep the detections in (reruns)")
    args = parser.parse_args(argv)
    root = data_path("faces/lfw")
    fit_paths, heldout_paths = lfw_photo_split(root)
    cache = args.cache
    fit = _detections(fit_paths[: args.fit_photos], root, cache and cache / "fit.npz")
    held = _detections(heldout_paths[: args.heldout_photos], root, cache and cache / "held.npz")
    print(f"fit: {len(fit['paths'])} of {args.fit_photos} photos paired (people in no view-2 pair)")
    best = None
    for frame in ("box", "landmarks"):
        mapping = fit_box_mapping(fit["boxes"], fit["landmarks"], fit["dlib_boxes"], frame)
        errors, eyes = landmark_errors(fit, mapping, root)
        print(f"  {mapping}: {_summary('fit set', errors, eyes)}")
        if best is None or errors.mean() < best[1]:
            best = (mapping, errors.mean())
    mapping = best[0]
    print(f"chosen (lowest landmark error on the fit set): BOX_MAPPING = {mapping}")
    unmapped = {"frame": "box", "dx": 0.0, "dy": 0.0, "k": 1.0}  # MTCNN's box, made square
    for num_parts in (68, 5):
        for name, rule in (("mapped", mapping), ("unmapped MTCNN box", unmapped)):
            errors, eyes = landmark_errors(held, rule, root, num_parts)
            print(_summary(f"held out, {num_parts}-point, {name}", errors, eyes))


if __name__ == "__main__":
    main()
