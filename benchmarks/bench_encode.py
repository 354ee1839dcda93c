"""Face encoding speed and memory: our pipeline vs dlib's own, step by step.

    python benchmarks/bench_encode.py [--dlib-python /path/to/python-with-dlib] [--reps 10]

Prints faces/s of the network alone (one pass per chip, as dlib's) for aligned 150x150 chips
at batch 1 and 32, the peak RSS of a fresh
process that loads the encoder and encodes one batch of 32, and, when ``dlib`` is
importable here or through ``--dlib-python``, dlib's own speed on the same chips.

Then, per photo, the cost of each step of the two pipelines side by side (ms, median):
detection (ours: MTCNN with its five landmarks; dlib: the HOG detector, upsampled once
below 1024 pixels as ``face_recognition`` does), landmarks (``alignment="mtcnn"``: none
beyond MTCNN's, which come with the detection; ``alignment="dlib"``: the MTCNN box mapped
to dlib's convention and our NumPy 5-point shape predictor; dlib: its C++ 5-point
predictor), chip (our similarity warp, our ``get_face_chip`` and dlib's), encoding (one
chip, plain and with 10 jitters; ``alignment="mtcnn"`` also encodes the chip's mirror image,
``"dlib"`` and dlib do not: `fr_utils.faces.mirror_for`), and the whole
``img_to_encoding`` with each alignment. The load average is printed: timings are
wall-clock medians, inflated by other work on a shared machine.
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
    """Chips per second of the network alone (``mirror=False``: one pass, like dlib's)."""
    encoder.encode(chips[:1], mirror=False)
    encoder.encode(chips, mirror=False)  # warm-up: trace the tf.function for both shapes
    rates = {}
    for batch, reps in ((1, reps1), (32, reps32)):
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            encoder.encode(chips[:batch], batch_size=batch, mirror=False)
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


PHOTOS = (
    "faces/lfw/George_W_Bush/George_W_Bush_0001.jpg",
    "faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg",
    "faces/public_domain/Barack_Obama/obama_blue_room_2010.jpg",
)
JITTERS = 10


def median_ms(step, reps: int) -> float:
    """Median wall-clock milliseconds of ``step()`` over ``reps`` calls (after one warm-up)."""
    step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def time_our_pipeline(photo: np.ndarray, encoder, reps: int) -> dict[str, dict]:
    """Per-step milliseconds of our pipeline on one photo, for each alignment.

    Returns:
        ``{alignment: {step: ms or None}}``; detection and encoding are timed once (they do
        not depend on the alignment) and shown for both.
    """
    import fr_utils
    from fr_utils.alignment import extract_chip
    from fr_utils.detection import detect_faces
    from fr_utils.faces import dlib_points, mirror_for, select_subject
    from fr_utils.models.dlib_chip import extract_dlib_chip

    face = select_subject(detect_faces(photo), photo.shape, ambiguous="ignore")
    chip, _ = extract_chip(photo, face.landmarks)
    points = dlib_points(photo, face)
    shared = {"detection": median_ms(lambda: detect_faces(photo), reps)}
    steps = {
        "mtcnn": {
            "landmarks": None,  # MTCNN's five points come with the detection
            "chip": median_ms(lambda: extract_chip(photo, face.landmarks), reps),
        },
        "dlib": {
            "landmarks": median_ms(lambda: dlib_points(photo, face), reps),
            "chip": median_ms(lambda: extract_dlib_chip(photo, points), reps),
        },
    }
    for alignment, own in steps.items():  # 'mtcnn' encodes the chip and its mirror image
        mirror = mirror_for(alignment, encoder)
        own["encoding"] = median_ms(lambda m=mirror: encoder.encode(chip[None], mirror=m), reps)
        own[f"encoding, {JITTERS} jitters"] = median_ms(
            lambda m=mirror: encoder.encode(chip[None], num_jitters=JITTERS, mirror=m),
            max(2, reps // 3),
        )
    order = ("detection", "landmarks", "chip", "encoding", f"encoding, {JITTERS} jitters")
    result = {}
    for alignment, own in steps.items():
        row = {**shared, **own}
        result[alignment] = {step: row[step] for step in order}
        result[alignment]["img_to_encoding"] = median_ms(
            lambda a=alignment: fr_utils.img_to_encoding(
                photo, encoder, alignment=a, ambiguous="ignore"
            ),
            reps,
        )
    return result


def time_dlib_pipeline(photo: np.ndarray, reps: int) -> dict | None:
    """Per-step milliseconds of dlib's own pipeline on one photo (None without dlib)."""
    from fr_utils.lfw.evaluate import _dlib_models, dlib_available

    if not dlib_available():
        return None
    import dlib

    detector, predictor, model = _dlib_models()
    upsample = 1 if max(photo.shape[:2]) < 1024 else 0
    boxes = detector(photo, upsample)
    if not boxes:
        return None
    shape = predictor(photo, boxes[0])
    chip = dlib.get_face_chip(photo, shape, 150, 0.25)

    def whole():
        found = detector(photo, upsample)
        points = predictor(photo, found[0])
        model.compute_face_descriptor(dlib.get_face_chip(photo, points, 150, 0.25))

    return {
        "detection": median_ms(lambda: detector(photo, upsample), reps),
        "landmarks": median_ms(lambda: predictor(photo, boxes[0]), reps),
        "chip": median_ms(lambda: dlib.get_face_chip(photo, shape, 150, 0.25), reps),
        "encoding": median_ms(lambda: model.compute_face_descriptor(chip), reps),
        f"encoding, {JITTERS} jitters": median_ms(
            lambda: model.compute_face_descriptor(chip, JITTERS), max(2, reps // 3)
        ),
        "img_to_encoding": median_ms(whole, reps),
        "upsample": upsample,
    }


def print_pipelines(encoder, reps: int) -> None:
    import fr_utils
    from workbook import data_path

    print("\nPer photo, step by step (ms, median): ours vs dlib's own pipeline")
    for name in PHOTOS:
        photo = fr_utils.load_image(data_path(name))
        ours = time_our_pipeline(photo, encoder, reps)
        theirs = time_dlib_pipeline(photo, reps)
        note = f", dlib HOG upsample {theirs['upsample']}" if theirs else ", dlib n/a"
        print(f"\n{Path(name).name} ({photo.shape[1]}x{photo.shape[0]}{note})")
        print(f"  {'step':<24} {'ours, mtcnn':>12} {'ours, dlib':>12} {'dlib':>9}")
        for step in ours["mtcnn"]:
            mine = [ours[a][step] for a in ("mtcnn", "dlib")]
            mine = ["in det.*" if v is None else f"{v:.1f}" for v in mine]
            other = theirs.get(step) if theirs else None
            other = "n/a" if other is None else f"{other:.1f}"
            print(f"  {step:<24} {mine[0]:>12} {mine[1]:>12} {other:>9}")
    print("\nours, mtcnn / dlib: img_to_encoding(..., alignment='mtcnn' / 'dlib'); landmarks of")
    print("alignment='dlib': box mapping + our 5-point shape predictor (NumPy); chip: our")
    print("get_face_chip; encoding of alignment='mtcnn': the chip and its mirror image (two")
    print("passes), of 'dlib' and dlib: the chip alone. * MTCNN's landmarks come with the")
    print("detection.")


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

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"CPU cores: {os.cpu_count()}, load average {load} (timings include other load)")
    print("\nEncoding aligned 150x150 chips (faces/s, median of repeats)")
    print(f"{'batch':>6} {'ours (Keras)':>14} {'dlib':>10} {'ours/dlib':>10}")
    for batch in (1, 32):
        theirs = reference.get(batch) if reference else None
        ratio = f"{ours[batch] / theirs:>9.2f}x" if theirs else f"{'-':>10}"
        theirs_text = f"{theirs:>10.1f}" if theirs else f"{'n/a':>10}"
        print(f"{batch:>6} {ours[batch]:>14.1f} {theirs_text} {ratio}")
    print(f"\nPeak RSS: {loaded_mb:.0f} MB after loading, {peak_mb:.0f} MB after a batch of 32")

    print_pipelines(encoder, max(3, args.reps // 2))


if __name__ == "__main__":
    main()
