"""Evaluate a face encoder on LFW's official verification pairs (view 2), cross-validated.

    python -m fr_utils.lfw.evaluate [--model dlib_resnet_v1] [--out DIR] [--report FILE.md]

Protocol (Huang et al. 2007, "unrestricted, labeled outside data"): the pairs of
``pairs_available.csv`` with ``split == "view2"`` (9 of the 10 official folds are in the
course data: 2,700 same-person and 2,700 different-person pairs). For each fold, the
distance threshold that maximises accuracy on the *other* folds is applied to the held-out
fold; the report gives the mean and standard deviation of the held-out accuracies, the
ROC AUC over all pairs, and the threshold that maximises accuracy over all pairs (the
value `fr_utils.encoder.DLIB_THRESHOLD` stores).

Every image goes through the same pipeline as a user's photo: MTCNN detection, the
face closest to the image centre (LFW's subject; other people can appear in a news
photo), dlib-template alignment, encoding. Where MTCNN finds no face, the landmarks are
the median landmarks of all images where it did (the deep-funneled images are already
roughly aligned), and the report counts those images. Encodings are cached in the user
cache folder, keyed by the model's weights and this file's pipeline version, so a second
run only redoes the statistics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from workbook.atomic import atomic_open

__all__ = ["encode_images", "evaluate", "main"]

_PIPELINE_VERSION = 1


def _cache_path(encoder) -> Path:
    from workbook.resources import cache_dir

    weights = encoder.model.get_weights()
    digest = hashlib.sha256()
    for array in weights[:3] + weights[-1:]:
        digest.update(np.ascontiguousarray(array).tobytes())
    key = f"{encoder.name}-{digest.hexdigest()[:12]}-p{_PIPELINE_VERSION}"
    folder = cache_dir() / "fr_utils"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"lfw_encodings-{key}.npz"


def _save_npz(path: Path, **arrays) -> None:
    with atomic_open(path) as out:
        np.savez(out, **arrays)


def encode_images(
    lfw_root: Path,
    names: list[str],
    encoder,
    log=print,
    flush_every: int = 64,
    cached_only: bool = False,
) -> dict:
    """Detect, align and encode LFW images, with a resumable cache.

    Returns:
        dict with ``names``, ``encodings`` ``(n, 128)``, ``landmarks`` ``(n, 5, 2)`` and
        ``detected`` ``(n,)`` bool (False: fallback landmarks were used).
    """
    from fr_utils.alignment import extract_chip
    from fr_utils.detection import central_face, detect_faces
    from workbook.images import load_image

    cache = _cache_path(encoder)
    done: dict[str, tuple] = {}
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            for i, name in enumerate(data["names"]):
                done[str(name)] = (data["encodings"][i], data["landmarks"][i], data["detected"][i])
        log(f"cache {cache}: {len(done)} images already encoded")

    def flush():
        keys = list(done)
        _save_npz(
            cache,
            names=np.array(keys),
            encodings=np.stack([done[k][0] for k in keys]).astype(np.float32),
            landmarks=np.stack([done[k][1] for k in keys]),
            detected=np.array([done[k][2] for k in keys], dtype=bool),
        )

    if cached_only:
        names = [name for name in names if name in done]
    todo = [name for name in names if name not in done]
    missing, pending, started = [], [], time.time()

    def encode_pending():
        if not pending:
            return
        chips = np.stack([chip for _, chip, _ in pending])
        for (name, _, points), encoding in zip(pending, encoder.encode(chips), strict=True):
            done[name] = (encoding, points, True)
        pending.clear()

    for count, name in enumerate(todo, start=1):
        photo = load_image(lfw_root / name)
        face = central_face(detect_faces(photo), photo.shape)
        if face is None:
            missing.append(name)
            continue
        chip, _ = extract_chip(photo, face.landmarks, encoder.input_size, encoder.padding)
        pending.append((name, chip, face.landmarks))
        if len(pending) == 32:
            encode_pending()
        if count % flush_every == 0:
            encode_pending()
            flush()
            rate = count / (time.time() - started)
            log(f"  {count}/{len(todo)} images, {rate:.1f} images/s")
    encode_pending()
    detected_points = [v[1] for v in done.values() if v[2]]
    fallback = np.median(np.stack(detected_points), axis=0) if detected_points else None
    for name in missing:
        photo = load_image(lfw_root / name)
        chip, _ = extract_chip(photo, fallback, encoder.input_size, encoder.padding)
        done[name] = (encoder.encode(chip[None])[0], fallback, False)
    if todo:
        flush()
    return {
        "names": names,
        "encodings": np.stack([done[n][0] for n in names]),
        "landmarks": np.stack([done[n][1] for n in names]),
        "detected": np.array([bool(done[n][2]) for n in names]),
    }


def _roc_plot(distances, same, auc, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(same, -distances)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=72)
    ax.plot(fpr, tpr, label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], ls=":", c="gray")
    ax.set(xlabel="false accept rate", ylabel="true accept rate", title="LFW view 2 (9 folds)")
    ax.set_xscale("log")
    ax.set_xlim(1e-3, 1)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate(
    model: str = "dlib_resnet_v1", out_dir: Path | None = None, log=print, cached_only=False
) -> dict:
    """Run the evaluation and return its numbers (see the module docstring).

    Args:
        cached_only: use only the pairs whose two images are already in the encoding cache
            (a preview while a long run is under way); the result says how many pairs.
    """
    from sklearn.metrics import roc_auc_score

    from fr_utils.encoder import load_face_model
    from fr_utils.lfw.pairs import read_pairs
    from fr_utils.metrics import best_threshold, cross_validate, verification_accuracy
    from workbook.resources import cache_dir, data_path

    lfw_root = data_path("faces/lfw")
    encoder = load_face_model(model)
    folds, same, paths_a, paths_b = read_pairs("view2", lfw_root)
    names = sorted(set(paths_a) | set(paths_b))
    num_folds = len(np.unique(folds))
    log(f"{len(same)} pairs ({same.sum()} same), {num_folds} folds, {len(names)} images")
    encoded = encode_images(lfw_root, names, encoder, log=log, cached_only=cached_only)
    index = {name: i for i, name in enumerate(encoded["names"])}
    keep = np.array([a in index and b in index for a, b in zip(paths_a, paths_b, strict=True)])
    folds, same = folds[keep], same[keep]
    paths_a = [p for p, k in zip(paths_a, keep, strict=True) if k]
    paths_b = [p for p, k in zip(paths_b, keep, strict=True) if k]
    names = encoded["names"]
    enc = encoded["encodings"]
    a = enc[[index[p] for p in paths_a]]
    b = enc[[index[p] for p in paths_b]]
    distances = np.linalg.norm(a - b, axis=1)
    result = cross_validate(distances, same, folds)
    threshold = best_threshold(distances, same)
    train_accuracy = verification_accuracy(distances, same, threshold)
    auc = float(roc_auc_score(same, -distances))
    no_face = [n for n, d in zip(names, encoded["detected"], strict=True) if not d]
    out_dir = Path(out_dir) if out_dir else cache_dir() / "fr_utils"
    out_dir.mkdir(parents=True, exist_ok=True)
    roc_path = out_dir / f"lfw_roc_{model}.png"
    _roc_plot(distances, same, auc, roc_path)
    result.update(
        model=model,
        pairs=int(len(same)),
        pairs_listed=int(len(keep)),
        images=len(names),
        roc_auc=auc,
        threshold_all_pairs=threshold,
        accuracy_all_pairs_at_threshold=train_accuracy,
        no_face_images=no_face,
        roc_plot=str(roc_path),
        same_distance_mean=float(distances[same].mean()),
        different_distance_mean=float(distances[~same].mean()),
    )
    return result


def _markdown(result: dict) -> str:
    folds = ", ".join(str(f["fold"]) for f in result["folds"])
    lines = [
        f"# LFW evaluation of `{result['model']}`",
        "",
        "Produced by `python -m fr_utils.lfw.evaluate --report fr_utils/LFW_EVAL.md`.",
        "",
        f"- pairs: {result['pairs']} of {result['pairs_listed']} (view 2, folds {folds});"
        f" images: {result['images']}",
        f"- cross-validated accuracy: **{100 * result['mean_accuracy']:.2f}% ±"
        f" {100 * result['std_accuracy']:.2f}%** (mean ± std over the held-out folds)",
        f"- ROC AUC (all pairs): {result['roc_auc']:.4f}",
        f"- threshold maximising accuracy on all pairs: {result['threshold_all_pairs']:.4f}"
        f" (accuracy {100 * result['accuracy_all_pairs_at_threshold']:.2f}%)",
        f"- mean distance: same person {result['same_distance_mean']:.3f},"
        f" different people {result['different_distance_mean']:.3f}",
        f"- images where MTCNN found no face: {len(result['no_face_images'])}"
        " (aligned with the median landmarks of the detected images instead)"
        + (": " + ", ".join(result["no_face_images"]) if result["no_face_images"] else ""),
        "",
        "| held-out fold | threshold (from the other folds) | accuracy |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {f['fold']} | {f['threshold']:.4f} | {100 * f['accuracy']:.2f}% |"
        for f in result["folds"]
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fr_utils.lfw.evaluate", description=__doc__)
    parser.add_argument("--model", default="dlib_resnet_v1")
    parser.add_argument("--out", type=Path, help="folder for the ROC plot (default: cache)")
    parser.add_argument("--report", type=Path, help="also write a markdown report here")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="only the pairs whose images are already encoded (preview of a long run)",
    )
    args = parser.parse_args(argv)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    result = evaluate(args.model, args.out, log=log, cached_only=args.cached_only)
    text = _markdown(result)
    if args.report:
        args.report.write_text(text)
    print(json.dumps(result, indent=1) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
