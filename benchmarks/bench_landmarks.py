"""Landmark speed: our NumPy port of dlib's shape predictors vs dlib itself, side by side.

    python benchmarks/bench_landmarks.py [--photos 40] [--reps 20]

For each predictor (68 and 5 points) it prints the median milliseconds per face of

* ours, one face per call (`ShapePredictor.predict`),
* ours, all faces of a batch of 8 boxes in one call (`ShapePredictor.predict_many`),
* dlib's ``shape_predictor`` (needs the ``dlib-bin`` wheel),

on the faces dlib's HOG detector finds in LFW photos, plus the time to load the model: the
first read of the ``.dat`` file (parse) and a later process (the ``.npz`` cache). Both run
single-threaded. Timings are wall-clock medians, inflated on a shared machine: the load
average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_ms(function, reps: int, *args) -> float:
    function(*args)  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def faces_with_dlib_boxes(n_photos: int):
    """``[(photo, dlib.rectangle)]`` for the first face dlib's HOG finds in LFW photos."""
    import dlib

    from fr_utils.images import load_image
    from workbook import data_path

    detector = dlib.get_frontal_face_detector()
    faces = []
    for path in sorted(data_path("faces/lfw").glob("*/*_0001.jpg"))[:: 5749 // n_photos]:
        photo = load_image(path)
        rects = detector(photo, 1)
        if len(rects):
            faces.append((photo, rects[0]))
    return faces[:n_photos]


def load_times(num_parts: int) -> tuple[float, float]:
    """Seconds to parse the .dat file, and to load the arrays from the .npz cache."""
    from fr_utils.models import shape_predictor as module
    from workbook.resources import weights_path

    name = module._WEIGHTS[num_parts]
    start = time.perf_counter()
    module.read_shape_predictor(weights_path(name))
    parsed = time.perf_counter() - start
    module._cached_model(name)  # make sure the cache exists
    start = time.perf_counter()
    module._cached_model(name)
    return parsed, time.perf_counter() - start


def bench(num_parts: int, faces, reps: int) -> None:
    import dlib

    from fr_utils.models.shape_predictor import load_shape_predictor
    from workbook.resources import weights_path

    ours = load_shape_predictor(num_parts)
    theirs = dlib.shape_predictor(str(weights_path(f"dlib_shape_predictor_{num_parts}")))
    single, batched, reference = [], [], []
    for photo, rect in faces:
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        single.append(median_ms(ours.predict, reps, photo, box))
        batched.append(median_ms(ours.predict_many, reps, photo, [box] * 8) / 8)
        reference.append(median_ms(theirs, reps, photo, rect))
    parsed, cached = load_times(num_parts)
    print(
        f"{num_parts:>2}-point | {np.median(single):7.2f} | {np.median(batched):9.2f} |"
        f" {np.median(reference):6.2f} | {parsed:6.1f} s | {cached:6.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    try:
        import dlib  # noqa: F401
    except ImportError:
        sys.exit("needs dlib: pip install dlib-bin (the `test` extra)")
    faces = faces_with_dlib_boxes(args.photos)
    print(f"{len(faces)} faces (LFW, dlib HOG boxes), median of {args.reps} runs each")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("points  | ours ms | ours x8 ms | dlib ms | parse    | npz cache")
    for num_parts in (68, 5):
        bench(num_parts, faces, args.reps)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
