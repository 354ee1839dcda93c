"""Face encoding speed and memory: our Keras port of dlib's ResNet vs dlib itself.

    python benchmarks/bench_encode.py [--dlib-python /path/to/python-with-dlib]

Prints faces/s for aligned 150x150 chips at batch 1 and 32, the cost of detection +
alignment per photo (MTCNN + similarity warp, reported separately), the peak RSS of a
fresh process that loads the encoder and encodes one batch of 32, and, when ``dlib``
is importable here or through ``--dlib-python``, dlib's own speed on the same chips.
Timings are wall-clock medians; on a shared machine they are inflated by other load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "dlib_parity"

_RSS_SCRIPT = """
import resource, sys, numpy as np
sys.path.insert(0, {root!r})
import fr_utils
enc = fr_utils.load_face_model()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
enc.encode(np.zeros((32, 150, 150, 3), np.uint8), batch_size=32)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, after / 1024)
"""

_DLIB_SCRIPT = """
import json, sys, time, numpy as np
import dlib
model = dlib.face_recognition_model_v1(sys.argv[1])
chips = list(np.load(sys.argv[2]))
model.compute_face_descriptor(chips[0])
out = {{}}
for batch, reps in ((1, {reps1}), (32, {reps32})):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        if batch == 1:
            model.compute_face_descriptor(chips[0])
        else:
            model.compute_face_descriptor(chips[:batch])
        times.append(time.perf_counter() - start)
    out[batch] = batch / float(np.median(times))
print(json.dumps(out))
"""


def chips32() -> np.ndarray:
    chips = np.stack([np.asarray(Image.open(p)) for p in sorted(FIXTURES.glob("chip_*.png"))])
    return np.concatenate([chips] * (32 // len(chips) + 1))[:32]


def time_ours(encoder, chips, reps1: int, reps32: int) -> dict:
    encoder.encode(chips[:1])
    encoder.encode(chips)  # warm-up: trace the tf.function for both shapes
    rates = {}
    for batch, reps in ((1, reps1), (32, reps32)):
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            encoder.encode(chips[:batch], batch_size=batch)
            times.append(time.perf_counter() - start)
        rates[batch] = batch / float(np.median(times))
    return rates


def time_dlib(python: str, chips, reps1: int, reps32: int) -> dict | None:
    from workbook import weights_path

    script = _DLIB_SCRIPT.format(reps1=reps1, reps32=reps32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chips.npy"
        np.save(path, chips)
        done = subprocess.run(
            [python, "-c", script, str(weights_path("dlib_resnet_v1")), str(path)],
            capture_output=True,
            text=True,
        )
    if done.returncode:
        print(f"(dlib reference failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return {int(k): v for k, v in json.loads(done.stdout).items()}


def time_detection(reps: int) -> list[tuple[str, tuple, float]]:
    import fr_utils
    from fr_utils.alignment import extract_chip
    from fr_utils.detection import detect_faces
    from workbook import data_path

    photos = [
        data_path("faces/lfw/George_W_Bush/George_W_Bush_0001.jpg"),
        data_path("faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg"),
        data_path("faces/public_domain/Barack_Obama/obama_blue_room_2010.jpg"),
    ]
    rows = []
    for path in photos:
        photo = fr_utils.load_image(path)
        detect_faces(photo)  # warm-up
        detect_t, align_t = [], []
        for _ in range(reps):
            start = time.perf_counter()
            face = detect_faces(photo)[0]
            middle = time.perf_counter()
            extract_chip(photo, face.landmarks)
            detect_t.append(middle - start)
            align_t.append(time.perf_counter() - middle)
        rows.append((path.name, photo.shape[:2], np.median(detect_t), np.median(align_t)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlib-python", help="a Python interpreter with dlib installed")
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    rss = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT.format(root=str(ROOT))], capture_output=True, text=True
    )
    loaded_mb, peak_mb = (float(v) for v in rss.stdout.split()[-2:])

    import fr_utils

    encoder = fr_utils.load_face_model()
    chips = chips32()
    ours = time_ours(encoder, chips, reps1=4 * args.reps, reps32=args.reps)
    dlib_python = args.dlib_python
    try:
        import dlib  # noqa: F401

        dlib_python = sys.executable
    except ImportError:
        pass
    reference = time_dlib(dlib_python, chips, 4 * args.reps, args.reps) if dlib_python else None

    print(f"CPU cores: {os.cpu_count()}  (shared machine: timings include other load)")
    print("\nEncoding aligned 150x150 chips (faces/s, median of repeats)")
    print(f"{'batch':>6} {'ours (Keras)':>14} {'dlib':>10} {'ours/dlib':>10}")
    for batch in (1, 32):
        theirs = reference.get(batch) if reference else None
        ratio = f"{ours[batch] / theirs:>9.2f}x" if theirs else f"{'-':>10}"
        theirs_text = f"{theirs:>10.1f}" if theirs else f"{'n/a':>10}"
        print(f"{batch:>6} {ours[batch]:>14.1f} {theirs_text} {ratio}")
    print(f"\nPeak RSS: {loaded_mb:.0f} MB after loading, {peak_mb:.0f} MB after a batch of 32")

    print("\nDetection + alignment per photo (ms, median), separate from encoding")
    print(f"{'photo':<36} {'size':>11} {'MTCNN':>8} {'align':>7}")
    for name, (h, w), detect_s, align_s in time_detection(max(3, args.reps // 2)):
        print(f"{name:<36} {f'{w}x{h}':>11} {1e3 * detect_s:>8.1f} {1e3 * align_s:>7.1f}")


if __name__ == "__main__":
    main()
