"""The measurement behind `fr_utils.faces`' rule for "which face does this photo mean".

    python -m fr_utils.lfw.face_rule [--report fr_utils/lfw/FACE_RULE.md]

A photo of a person often shows other people too (a news photo, a crowd behind a
speaker), and a face detector also fires, weakly, on things that are not faces (the
pattern of a suit). The library has to choose one face: the *subject*. This module
measures candidate rules on LFW photos that the evaluation never uses:

* **Photos.** Every LFW photo that is in none of the 5,400 view-2 pairs of
  ``pairs_available.csv`` (the pairs `fr_utils.lfw.evaluate` scores), of people with at
  least two such photos (3,766 photos of 359 people here; ``--per-person`` caps it). So
  no photo of the evaluation is looked at; some people of the evaluation are (through
  their *other* photos), which cannot leak anything: the rule learns no identity, only
  a few constants about size, position and confidence.
* **Ground truth.** MTCNN runs with its acceptance threshold lowered to 0.3, every face is
  aligned and encoded. A face is the labelled person when its encoding is close to the
  person's other photos: its distance to photo ``j`` is the smallest distance to any
  face of ``j``, and its score is the median over the person's other photos. The photo's
  subject is the face with the lowest score if that score is at most ``0.45`` and the
  runner-up's is at least ``0.1`` higher (else the photo is left out as unclear).
* **Rules.** Each candidate rule picks a face among those above a confidence floor; it is
  right when it picks the labelled face. The prominence family scores a face
  ``size * exp(-(offset / sigma)^2 / 2) * confidence^gamma`` (size: square root of the box
  area; offset: distance of the box centre from the photo centre, in half-diagonals),
  from "largest" (``sigma`` infinite) to "most central" (``sigma`` tiny).

The report also measures the confidence of real faces (the labelled subjects) against
the detections that are not the subject, how often the runner-up comes close to the
chosen face (the ambiguity ratio), and whether keeping MTCNN's landmarks at sub-pixel
precision (rather than the ``mtcnn`` package's rounded ones) changes verification among
these photos. Detection runs in batches (`fr_utils.detection.detect_faces_batch`): a
pixel here or there does not change which face is which. Results are cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["analyse", "collect", "main", "study_photos"]

_VERSION = 1
_STUDY_CONFIDENCE = 0.3  # MTCNN's O-Net threshold for the study (library: 0.8)
_MATCH = 0.45  # a face is the person when its median distance to their other photos is <= this
_MARGIN = 0.1  # ... and the runner-up's is at least this much larger


def study_photos(lfw_root: Path, per_person: int | None = None, seed: int = 0) -> list[str]:
    """LFW-relative paths of the study's photos (see the module docstring), sorted.

    Args:
        lfw_root: the ``faces/lfw`` folder with ``pairs_available.csv``.
        per_person: at most this many photos per person (a seeded random choice); None: all.
        seed: seed of that choice.
    """
    from fr_utils.lfw.pairs import read_pairs

    _, _, paths_a, paths_b = read_pairs("view2", lfw_root)
    evaluated = set(paths_a) | set(paths_b)
    rng = np.random.default_rng(seed)
    chosen = []
    for folder in sorted(p for p in Path(lfw_root).iterdir() if p.is_dir()):
        photos = [
            f"{folder.name}/{f.name}"
            for f in sorted(folder.glob("*.jpg"))
            if f"{folder.name}/{f.name}" not in evaluated
        ]
        if len(photos) >= 2:
            count = len(photos) if per_person is None else min(per_person, len(photos))
            keep = rng.choice(len(photos), count, replace=False)
            chosen += [photos[i] for i in sorted(keep)]
    return chosen


def collect(lfw_root: Path, paths: list[str], encoder, log=print, batch: int = 16) -> dict:
    """Detect every face of each photo (down to confidence 0.3), align and encode it.

    Each face is encoded twice: aligned at MTCNN's sub-pixel landmarks and at the same
    landmarks rounded to whole pixels (what the ``mtcnn`` package's dictionaries give).

    Returns:
        dict of arrays: ``paths`` ``(n,)``; per face ``photo`` ``(m,)`` (index into
        ``paths``), ``box`` ``(m, 4)``, ``confidence`` ``(m,)``, ``landmarks`` ``(m, 5, 2)``,
        ``encoding`` and ``encoding_rounded`` ``(m, 128)``; ``shape`` ``(n, 2)``.
    """
    from fr_utils.alignment import extract_chip
    from fr_utils.detection import detect_faces_batch
    from fr_utils.lfw import _cache
    from workbook.images import load_image
    from workbook.resources import cache_dir

    key = {
        "version": _VERSION,
        "weights": _cache.weights_digest(encoder),
        "paths": _cache.digest({"paths": np.array(paths)}),
        "confidence": _STUDY_CONFIDENCE,
    }
    path = cache_dir() / "fr_utils" / f"face_rule_study-{len(paths)}.npz"
    cached = _cache.load(path, key)
    if cached is not None:
        log(f"face-rule study: cached detections of {len(paths)} photos ({path})")
        return cached
    faces, shapes, started = [], [], time.time()
    for start in range(0, len(paths), batch):
        names = paths[start : start + batch]
        photos = [load_image(Path(lfw_root) / name) for name in names]
        groups = {}
        for i, photo in enumerate(photos):
            groups.setdefault(photo.shape, []).append(i)
        found = [None] * len(photos)
        for indices in groups.values():
            detections = detect_faces_batch(
                [photos[i] for i in indices], min_confidence=_STUDY_CONFIDENCE
            )
            for i, detected in zip(indices, detections, strict=True):
                found[i] = detected
        for i, (photo, detected) in enumerate(zip(photos, found, strict=True)):
            shapes.append(photo.shape[:2])
            for face in detected:
                chips = [
                    extract_chip(photo, points, encoder.input_size, encoder.padding)[0]
                    for points in (face.landmarks, np.round(face.landmarks))
                ]
                faces.append((start + i, face, chips))
        done = start + len(names)
        if done % 320 < batch or done == len(paths):
            log(f"  {done}/{len(paths)} photos, {done / (time.time() - started):.1f} photos/s")
    chips = np.stack([c for _, _, pair in faces for c in pair]) if faces else None
    encodings = encoder.encode(chips) if faces else np.zeros((0, 128), np.float32)
    result = {
        "paths": np.array(paths),
        "shape": np.array(shapes, dtype=np.int64),
        "photo": np.array([i for i, _, _ in faces], dtype=np.int64),
        "box": np.array([f.box for _, f, _ in faces], dtype=np.float64).reshape(-1, 4),
        "confidence": np.array([f.confidence for _, f, _ in faces], dtype=np.float64),
        "landmarks": np.array([f.landmarks for _, f, _ in faces]).reshape(-1, 5, 2),
        "encoding": encodings[0::2],
        "encoding_rounded": encodings[1::2],
    }
    _cache.save(path, key, **result)
    return result


def _min_distances(data: dict) -> np.ndarray:
    """``(m, n)``: for face ``f`` and photo ``j``, the distance to the closest face of ``j``
    with confidence >= 0.8 (inf where ``j`` has none)."""
    enc, photo = data["encoding"], data["photo"]
    confident = data["confidence"] >= 0.8
    out = np.full((len(enc), len(data["paths"])), np.inf)
    if not confident.any():
        return out
    # unit encodings: ||a - b||^2 = 2 - 2 a.b (one matrix product, no (m, m, 128) array)
    dist = np.sqrt(np.clip(2 - 2 * enc @ enc[confident].T, 0, None))
    cols = photo[confident]
    for col in np.unique(cols):
        out[:, col] = dist[:, cols == col].min(axis=1)
    return out


def label_subjects(data: dict) -> np.ndarray:
    """``(n,)`` index of each photo's labelled face (into the face arrays), -1 where unclear.

    See the module docstring: the face whose median distance to the person's other photos
    is lowest, if at most 0.45 and clearly (0.1) below the runner-up.
    """
    from fr_utils.lfw.pairs import identity_of

    people = np.array([identity_of(str(p)) for p in data["paths"]])
    nearest = _min_distances(data)
    labels = np.full(len(people), -1)
    for i in range(len(people)):
        faces = np.flatnonzero(data["photo"] == i)
        others = np.flatnonzero((people == people[i]) & (np.arange(len(people)) != i))
        if not len(faces) or not len(others):
            continue
        scores = []
        for f in faces:
            finite = nearest[f, others][np.isfinite(nearest[f, others])]
            scores.append(np.median(finite) if len(finite) else np.inf)
        order = np.argsort(scores)
        best = scores[order[0]]
        runner_up = scores[order[1]] if len(order) > 1 else np.inf
        if best <= _MATCH and runner_up >= best + _MARGIN:
            labels[i] = faces[order[0]]
    return labels


def _features(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per face: size (sqrt of the box area, pixels) and offset from the photo centre
    (in half-diagonals of the photo)."""
    box = data["box"]
    size = np.sqrt(box[:, 2] * box[:, 3])
    shape = data["shape"][data["photo"]]
    centre = box[:, :2] + box[:, 2:] / 2
    offset = np.linalg.norm(centre - shape[:, ::-1] / 2, axis=1) / (
        0.5 * np.hypot(shape[:, 0], shape[:, 1])
    )
    return size, offset


def rule_scores(data: dict, sigma: float, gamma: float) -> np.ndarray:
    """Prominence of every face: ``size * exp(-(offset / sigma)^2 / 2) * confidence^gamma``."""
    size, offset = _features(data)
    position = np.ones_like(offset) if np.isinf(sigma) else np.exp(-0.5 * (offset / sigma) ** 2)
    return size * position * data["confidence"] ** gamma


def picks(data: dict, scores: np.ndarray, floor: float) -> np.ndarray:
    """``(n,)`` the highest-scoring face above ``floor`` of each photo (-1 where none)."""
    chosen = np.full(len(data["paths"]), -1)
    best = np.full(len(data["paths"]), -np.inf)
    for f in np.flatnonzero(data["confidence"] >= floor):
        i = data["photo"][f]
        if scores[f] > best[i]:
            chosen[i], best[i] = f, scores[f]
    return chosen


def runner_up_ratio(data: dict, scores: np.ndarray, floor: float) -> np.ndarray:
    """``(n,)`` second-highest over highest score among a photo's faces above ``floor``
    (0 with fewer than two such faces)."""
    ratio = np.zeros(len(data["paths"]))
    confident = data["confidence"] >= floor
    for i in range(len(ratio)):
        s = np.sort(scores[(data["photo"] == i) & confident])[::-1]
        if len(s) > 1:
            ratio[i] = s[1] / s[0]
    return ratio


def _dev_pairs(data: dict, labels: np.ndarray, seed: int = 0):
    """Genuine pairs (all, among labelled subjects of a person, at most 10 per person) and
    as many random impostor pairs: ``(a, b, same)`` face indices."""
    from fr_utils.lfw.pairs import identity_of

    rng = np.random.default_rng(seed)
    people = {}
    for i, f in enumerate(labels):
        if f >= 0:
            people.setdefault(identity_of(str(data["paths"][i])), []).append(f)
    genuine = []
    for faces in people.values():
        pairs = [(a, b) for k, a in enumerate(faces) for b in faces[k + 1 :]]
        for k in rng.permutation(len(pairs))[:10]:
            genuine.append(pairs[k])
    names = sorted(people)
    impostor = []
    while len(impostor) < len(genuine):
        p, q = rng.choice(len(names), 2, replace=False)
        impostor.append((rng.choice(people[names[p]]), rng.choice(people[names[q]])))
    pairs = np.array(genuine + impostor)
    same = np.array([True] * len(genuine) + [False] * len(impostor))
    return pairs[:, 0], pairs[:, 1], same


_SIGMAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 0.85, 0.9, 1.0, 1.5, np.inf)
_GAMMAS = (0, 1, 4, 16)
_FLOORS = (0.8, 0.85, 0.9, 0.95, 0.97)
_RATIOS = (0.6, 0.7, 0.8, 0.9)


def analyse(data: dict, encoder=None, jitters: int = 10) -> dict:
    """Score the candidate rules on collected detections (see the module docstring).

    Args:
        data: from `collect`.
        encoder: if given, also measure the jitter gain on the study's verification pairs
            (``jitters`` copies per chip, `FaceEncoder.encode`).
        jitters: number of jitters for that measurement.

    Returns:
        A dict of counts and tables (what `_markdown` prints).
    """
    from fr_utils import faces

    labels = label_subjects(data)
    conf, n = data["confidence"], len(data["paths"])
    labelled = labels >= 0
    subject_conf = conf[labels[labelled]]
    in_labelled = labelled[data["photo"]] & ~np.isin(np.arange(len(conf)), labels[labelled])
    other_conf = conf[in_labelled]
    floor = faces.SUBJECT_MIN_CONFIDENCE
    multi = labelled & (np.bincount(data["photo"][conf >= floor], minlength=n) >= 2)
    size, offset = _features(data)

    def right(scores, at=floor):
        return int((picks(data, scores, at)[multi] == labels[multi]).sum())

    grid = {g: [right(rule_scores(data, s, g)) for s in _SIGMAS] for g in _GAMMAS}
    chosen = rule_scores(data, faces.POSITION_SIGMA, 0)
    chosen_picks = picks(data, chosen, floor)
    ratio = runner_up_ratio(data, chosen, floor)
    largest_ratio = runner_up_ratio(data, size, floor)
    largest_wrong = multi & (picks(data, size, floor) != labels)
    result = {
        "photos": n,
        "faces": len(conf),
        "faces_reported": int((conf >= 0.8).sum()),
        "labelled": int(labelled.sum()),
        "unclear": int((~labelled & (np.bincount(data["photo"], minlength=n) > 0)).sum()),
        "no_face": int((np.bincount(data["photo"], minlength=n) == 0).sum()),
        "multi": int(multi.sum()),
        "subject_quantiles": np.quantile(subject_conf, [0, 0.001, 0.01, 0.05, 0.5]).tolist(),
        "subjects_below": {t: int((subject_conf < t).sum()) for t in _FLOORS},
        "others_at_least": {t: int((other_conf >= t).sum()) for t in _FLOORS},
        "others": len(other_conf),
        "suit_confidence": _suit_confidence(),
        "simple_rules": {
            "largest": right(size),
            "most confident": right(conf),
            "most central": right(-offset),
        },
        "grid": grid,
        "floors": {
            t: int((picks(data, chosen, t)[labelled] == labels[labelled]).sum()) for t in _FLOORS
        },
        "chosen_right_all": int((chosen_picks[labelled] == labels[labelled]).sum()),
        "ratio_right_quantiles": np.quantile(ratio[multi], [0.5, 0.9, 0.99, 1]).tolist(),
        "ambiguous_photos": {t: int((ratio >= t).sum()) for t in _RATIOS},
        "largest_wrong_ratios": sorted(largest_ratio[largest_wrong].round(3).tolist()),
        "landmarks": _landmark_precision(data, labels),
    }
    if encoder is not None:
        result["jitter"] = _jitter_gain(data, labels, encoder, jitters)
    return result


def _suit_confidence() -> float | None:
    """MTCNN's confidence of its weakest detection on Obama's 2012 portrait (the suit)."""
    from fr_utils.detection import detect_faces
    from workbook.images import load_image
    from workbook.resources import DataNotFoundError, data_path

    try:
        path = data_path("faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg")
    except DataNotFoundError:
        return None
    found = detect_faces(load_image(path))
    return min(face.confidence for face in found) if found else None


def _verification(encodings: np.ndarray, a, b, same) -> dict:
    from fr_utils.lfw.evaluate import roc_auc
    from fr_utils.metrics import best_threshold, is_match

    distances = np.linalg.norm(encodings[a] - encodings[b], axis=1)
    tau = best_threshold(distances, same)
    return {
        "errors": int((is_match(distances, tau) != same).sum()),
        "threshold": tau,
        "auc": roc_auc(distances, same),
        "genuine_mean": float(distances[same].mean()),
    }


def _landmark_precision(data: dict, labels: np.ndarray) -> dict:
    a, b, same = _dev_pairs(data, labels)
    return {
        "pairs": len(same),
        "sub-pixel": _verification(data["encoding"], a, b, same),
        "rounded": _verification(data["encoding_rounded"], a, b, same),
    }


def _jitter_gain(data: dict, labels: np.ndarray, encoder, jitters: int) -> dict:
    """Verification among the study's labelled subjects, plain and jittered."""
    from fr_utils.alignment import extract_chip
    from workbook.images import load_image
    from workbook.resources import data_path

    a, b, same = _dev_pairs(data, labels)
    used = np.unique(np.concatenate([a, b]))
    root = data_path("faces/lfw")
    chips = np.stack(
        [
            extract_chip(
                load_image(root / str(data["paths"][data["photo"][f]])),
                data["landmarks"][f],
                encoder.input_size,
                encoder.padding,
            )[0]
            for f in used
        ]
    )
    row = {f: i for i, f in enumerate(used)}
    ra, rb = np.array([row[f] for f in a]), np.array([row[f] for f in b])
    return {
        "pairs": len(same),
        "jitters": jitters,
        "plain": _verification(encoder.encode(chips), ra, rb, same),
        "jittered": _verification(encoder.encode(chips, num_jitters=jitters), ra, rb, same),
    }


def _markdown(r: dict) -> str:
    from fr_utils import faces

    sig = ["inf" if np.isinf(s) else f"{s:g}" for s in _SIGMAS]
    lines = [
        "# Which face does a photo mean? The measurement behind `fr_utils.faces`",
        "",
        "Produced by `python -m fr_utils.lfw.face_rule --report fr_utils/lfw/FACE_RULE.md`"
        " (method: that module's docstring).",
        "",
        f"- photos: {r['photos']} LFW photos in none of the view-2 pairs (people with two or"
        f" more such photos); MTCNN detections down to confidence 0.3:"
        f" {r['faces']} ({r['faces_reported']} at 0.8 or more, what MTCNN normally reports)",
        f"- labelled (the person's face identified by its encoding): {r['labelled']} photos;"
        f" unclear: {r['unclear']}; no detection at all: {r['no_face']}",
        "",
        "## Confidence floor",
        "",
        "Confidence of the labelled subjects: minimum {:.3f}, 0.1 % quantile {:.3f}, 1 % {:.3f},"
        " 5 % {:.3f}, median {:.4f}.".format(*r["subject_quantiles"]),
        f"The false “face” on the suit of Obama's 2012 portrait: {r['suit_confidence']:.3f}.",
        "",
        "| floor | labelled subjects below it | other detections (in labelled photos) at or"
        " above it |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {t} | {r['subjects_below'][t]} of {r['labelled']} | {r['others_at_least'][t]} of"
        f" {r['others']} |"
        for t in _FLOORS
    ]
    lines += [
        "",
        f"Chosen: `SUBJECT_MIN_CONFIDENCE = {faces.SUBJECT_MIN_CONFIDENCE}`. Subjects picked"
        " right with the chosen rule, by floor: "
        + ", ".join(f"{t}: {v}" for t, v in r["floors"].items())
        + f" (of {r['labelled']}).",
        "",
        "## Size, position, confidence",
        "",
        f"Clear photos with two or more faces above the floor: **{r['multi']}**. Picked right by"
        " the simple rules: "
        + ", ".join(f"{k} {v}" for k, v in r["simple_rules"].items())
        + ". The prominence family (`size * exp(-(offset / sigma)^2 / 2) * confidence^gamma`):",
        "",
        "| gamma, sigma | " + " | ".join(sig) + " |",
        "| --- |" + " --- |" * len(sig),
    ]
    lines += [f"| {g} | " + " | ".join(map(str, row)) + " |" for g, row in r["grid"].items()]
    lines += [
        "",
        f"Chosen: `POSITION_SIGMA = {faces.POSITION_SIGMA}`, no confidence weight (gamma 0): the"
        " least weight on position that still picks every clear photo right, with a margin"
        " (LFW photos are centred on their subject by construction, so this data rewards"
        " position more than a user's photo would). With it, "
        f"{r['chosen_right_all']} of {r['labelled']} labelled photos are picked right.",
        "",
        "## Ambiguity",
        "",
        "Runner-up's prominence over the subject's, in the clear multi-face photos (all picked"
        " right): median {:.2f}, 90 % {:.2f}, 99 % {:.2f}, max {:.2f}.".format(
            *r["ratio_right_quantiles"]
        ),
        "Where “largest face” goes wrong, the runner-up's size ratio is "
        + ", ".join(f"{v:.2f}" for v in r["largest_wrong_ratios"])
        + ". Photos (of all) that would be called ambiguous: "
        + ", ".join(f"at {t}: {v}" for t, v in r["ambiguous_photos"].items())
        + f". Chosen: `AMBIGUITY_RATIO = {faces.AMBIGUITY_RATIO}`.",
        "",
        "## Sub-pixel landmarks",
        "",
    ]
    lm = r["landmarks"]
    lines += [
        f"Verification among the labelled subjects ({lm['pairs']} pairs, half genuine):",
        "",
        "| landmarks | errors at the best threshold | ROC AUC | mean genuine distance |",
        "| --- | --- | --- | --- |",
    ]
    for name in ("sub-pixel", "rounded"):
        v = lm[name]
        lines.append(f"| {name} | {v['errors']} | {v['auc']:.5f} | {v['genuine_mean']:.4f} |")
    if "jitter" in r:
        jit = r["jitter"]
        lines += [
            "",
            "## Jitter",
            "",
            f"The same pairs, plain and with {jit['jitters']} jitters (`num_jitters`):",
            "",
            "| encoding | errors at the best threshold | best threshold | ROC AUC |"
            " mean genuine distance |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name in ("plain", "jittered"):
            v = jit[name]
            lines.append(
                f"| {name} | {v['errors']} | {v['threshold']:.4f} | {v['auc']:.5f} |"
                f" {v['genuine_mean']:.4f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fr_utils.lfw.face_rule", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--report", type=Path, help="write the markdown report here")
    parser.add_argument("--per-person", type=int, help="at most N photos per person (all)")
    parser.add_argument("--jitters", type=int, default=10, help="jitter-gain check (0: skip)")
    args = parser.parse_args(argv)
    import fr_utils
    from workbook.resources import data_path

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    root = data_path("faces/lfw")
    encoder = fr_utils.load_face_model()
    data = collect(root, study_photos(root, args.per_person), encoder, log=log)
    result = analyse(data, encoder if args.jitters > 1 else None, args.jitters)
    text = _markdown(result)
    if args.report:
        from workbook.atomic import atomic_open

        with atomic_open(args.report, "w") as out:
            out.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
