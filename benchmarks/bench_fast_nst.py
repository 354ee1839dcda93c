"""Fast style transfer: our Keras rebuild of Magenta's networks against LiteRT, side by side.

Printed, in ms per image (median over ``--repeats`` runs after a warm-up; 2 CPU threads for both):

* the transfer network on a 384x384 photo, batch 1 and batch 4 (per image), with and without
  XLA (``jit_compile``), and LiteRT's interpreter on the same file (fp16) and on the int8 file;
* the style prediction network on a 256x256 painting, ours and LiteRT;
* ``fast_stylize`` end to end (JPEG in, uint8 out, both networks and the resizing), one photo at a
  time and a list of 4 photos.

Goal (issue 12): <= 1 s per 384 px image on 2 cores, batched faster per image than one at a time.
The load average (``os.getloadavg``) is printed before and after: on a shared machine the
numbers include other processes' work.

    python benchmarks/bench_fast_nst.py [--repeats 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

import nst_utils  # noqa: E402
from nst_utils.models import magenta  # noqa: E402
from workbook import data_path, weights_path  # noqa: E402

PHOTOS = ["bern_from_north", "yosemite_bridalveil_fall", "chiffchaff_bird", "plaigne_countryside"]
STYLE = "art/starry_night.jpg"


def square(path, side: int) -> np.ndarray:
    """A centre-cropped ``side`` x ``side`` image in [0, 1]."""
    image = Image.open(path).convert("RGB")
    crop = min(image.size)
    left, top = (image.size[0] - crop) // 2, (image.size[1] - crop) // 2
    image = image.crop((left, top, left + crop, top + crop)).resize((side, side))
    return np.asarray(image, np.float32) / 255.0


def median_ms(run, repeats: int, per: int = 1) -> float:
    """Median wall time of ``run()`` in ms, divided by ``per`` images; one warm-up call first."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / per


def litert(entry: str, threads: int, batch: int = 1):
    """A LiteRT interpreter on manifest entry ``entry`` and a function running it on arrays."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(weights_path(entry)), num_threads=threads)
    inputs = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    if batch != 1:
        for detail in inputs:
            interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]

    def run(*arrays):
        for detail, array in zip(inputs, arrays, strict=True):
            interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        return interpreter.get_tensor(output)

    return run


def compiled_transfer(jit: bool):
    model = magenta.style_transformer()
    signature = [
        tf.TensorSpec([None, None, None, 3], tf.float32),
        tf.TensorSpec([None, 1, 1, magenta.STYLE_DIM], tf.float32),
    ]
    return tf.function(
        lambda x, s: model([x, s], training=False), input_signature=signature, jit_compile=jit
    )


def transfer_rows(content, vector, repeats, threads):
    rows = []
    for jit in (False, True):
        network = compiled_transfer(jit)
        for batch in (1, 4):
            x = tf.constant(np.repeat(content[None], batch, 0))
            s = tf.constant(np.repeat(vector, batch, 0))
            ms = median_ms(lambda x=x, s=s, n=network: n(x, s).numpy(), repeats, batch)
            rows.append((f"transfer fp16, ours{' + XLA' if jit else ''}, batch {batch}", ms))
    for label, entry in magenta.TRANSFER_WEIGHTS.items():
        for batch in (1, 4):
            try:
                run = litert(entry, threads, batch)
            except (RuntimeError, ValueError) as error:
                rows.append((f"transfer {label}, LiteRT, batch {batch}", f"n/a ({error})"))
                continue
            x, s = np.repeat(content[None], batch, 0), np.repeat(vector, batch, 0)
            ms = median_ms(lambda r=run, x=x, s=s: r(x, s), repeats, batch)
            rows.append((f"transfer {label}, LiteRT, batch {batch}", ms))
    return rows


def predictor_rows(style, repeats, threads):
    model = magenta.style_predictor()
    signature = [tf.TensorSpec([None, None, None, 3], tf.float32)]
    network = tf.function(lambda x: model(x, training=False), input_signature=signature)
    x = tf.constant(style[None])
    run = litert(magenta.PREDICTOR_WEIGHTS, threads)
    return [
        ("style predictor int8 (emulated), ours", median_ms(lambda: network(x).numpy(), repeats)),
        ("style predictor int8, LiteRT", median_ms(lambda: run(style[None]), repeats)),
    ]


def end_to_end_rows(repeats):
    photos = [nst_utils.load_image(data_path(f"photos/{name}.jpg"), 384) for name in PHOTOS]
    vector = nst_utils.style_vector(data_path(STYLE))
    same = [photos[0]] * 4  # 4 photos of one size: one batch of 4

    def one_by_one():
        for image in same:
            nst_utils.fast_stylize(image, vector, size=None)

    def from_files():
        nst_utils.fast_stylize(data_path("photos/bern_from_north.jpg"), data_path(STYLE))

    return [
        ("fast_stylize, style vector given, 1 at a time", median_ms(one_by_one, repeats, 4)),
        (
            "fast_stylize, style vector given, list of 4",
            median_ms(lambda: nst_utils.fast_stylize(same, vector, size=None), repeats, 4),
        ),
        ("fast_stylize, JPEG paths in (both networks)", median_ms(from_files, repeats)),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for TF and LiteRT")
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    content = square(data_path("photos/bern_from_north.jpg"), 384)
    style = square(data_path(STYLE), magenta.STYLE_SIZE)
    vector = litert(magenta.PREDICTOR_WEIGHTS, args.threads)(style[None])
    rows = transfer_rows(content, vector, args.repeats, args.threads)
    rows += predictor_rows(style, args.repeats, args.threads)
    rows += end_to_end_rows(args.repeats)
    width = max(len(label) for label, _ in rows)
    print(f"{'ms per image (384 px photo, 256 px style)':{width}}    ms")
    for label, ms in rows:
        print(f"{label:{width}}  {ms:6.1f}" if isinstance(ms, float) else f"{label:{width}}  {ms}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
