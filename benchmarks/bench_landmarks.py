"""Landmark speed: our NumPy port of dlib's shape predictors vs dlib itself, side by side.

    python benchmarks/bench_landmarks.py [--photos 40] [--reps 20]

For each predictor (68 and 5 points) it prints the median milliseconds per face of

* ours, one face per call (`ShapePredictor.predict`),
* ours, all faces of a batch of 8 boxes in one call (`ShapePredictor.predict_many`),
* dlib's ``shape_predictor`` (needs the ``dlib-bin`` wheel),

on the faces dlib's HOG detector finds in LFW photos, plus the time to load the model: the
first read of the ``.dat`` file (parse) and a later process (the ``.npz`` cache). Both run
single-threaded. Timings are wall-clock medians (and minima) over all runs of all faces,
inflated on a shared machine: the load average is printed with them.
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


def times_ms(function, reps: int, *args) -> np.ndarray:
    function(*args)  # warm-up
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * np.array(times)


def faces_with_dlib_boxes(n_photos: int):
    """``[(photo, dlib.rectangle)]`` for the first face dlib's HOG finds in LFW photos."""
    import dlib

    from workbook import data_path
    from workbook.images import load_image

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
        single.append(times_ms(ours.predict, reps, photo, box))
        batched.append(times_ms(ours.predict_many, reps, photo, [box] * 8) / 8)
        reference.append(times_ms(theirs, reps, photo, rect))
    parsed, cached = load_times(num_parts)
    cells = [f"{np.median(t):6.2f} ({np.min(t):5.2f})" for t in (single, batched, reference)]
    print(f"{num_parts:>2}-point | " + " | ".join(cells) + f" | {parsed:5.1f} s | {cached:5.2f} s")


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
    print("ms per face, median (min) | parse: first read of the .dat | npz cache: later loads")
    print("points   | ours           | ours, 8 at once | dlib           | parse   | npz cache")
    for num_parts in (68, 5):
        bench(num_parts, faces, args.reps)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
