"""Fast style transfer: our Keras rebuild of Magenta's networks against LiteRT, side by side.

Printed, in ms per image (median and minimum over ``--repeats`` interleaved rounds after a
warm-up; 2 CPU threads for both):

* the transfer network on a 384x384 photo, batch 1 and batch 4 (per image), with and without
  XLA (``jit_compile``), and LiteRT's interpreter on the same file (fp16) and on the int8 file;
* the style prediction network on a 256x256 painting, ours and LiteRT;
* ``fast_stylize`` as a user calls it (uint8 out), 4 photos one call each vs one call with the
  list: 384x384 arrays with a style vector (only the transfer network runs), and JPEG paths of
  4 photos (384 px on the long side) and of a painting (decoding, resizing, both networks; a
  list computes the painting's style vector once).

Goal (issue 12): <= 1 s per 384 px image on 2 cores, batched faster per image than one at a time.
What was seen: the network's fixed cost per pass is small (~4 ms), so a batch of 4 pays for small
photos (128 px: ~9 vs ~15 ms per image) but not at 384 px, where its activations outgrow the
caches; `fast_stylize` therefore caps the pixels per pass, and a list of photos gains mostly by
reading the painting and predicting its style vector once (the last two rows).
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


def measure(cases, repeats: int) -> list[tuple[str, float, float]]:
    """``(label, median ms, min ms)`` per image of each ``(label, run, images per run)`` case.

    Each case runs once to warm up (tracing, allocation); then the cases take turns, ``repeats``
    rounds, so that a burst of load from other processes hits all of them alike. The minimum is
    the better estimate of the cost on an idle machine; the median shows the spread.
    """
    for _, run, _ in cases:
        run()
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(repeats):
        for (_, run, per), record in zip(cases, times, strict=True):
            start = time.perf_counter()
            run()
            record.append(1000 * (time.perf_counter() - start) / per)
    return [
        (label, statistics.median(t), min(t)) for (label, _, _), t in zip(cases, times, strict=True)
    ]


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


def transfer_cases(content, vector, threads):
    cases = []
    for jit in (False, True):
        network = compiled_transfer(jit)
        for batch in (1, 4):
            x = tf.constant(np.repeat(content[None], batch, 0))
            s = tf.constant(np.repeat(vector, batch, 0))
            label = f"transfer fp16, ours{' + XLA' if jit else ''}, batch {batch}"
            cases.append((label, lambda x=x, s=s, n=network: n(x, s).numpy(), batch))
    for label, entry in magenta.TRANSFER_WEIGHTS.items():
        for batch in (1, 4):
            run = litert(entry, threads, batch)
            x, s = np.repeat(content[None], batch, 0), np.repeat(vector, batch, 0)
            cases.append(
                (f"transfer {label}, LiteRT, batch {batch}", lambda r=run, x=x, s=s: r(x, s), batch)
            )
    return cases


def predictor_cases(style, threads):
    model = magenta.style_predictor()
    signature = [tf.TensorSpec([None, None, None, 3], tf.float32)]
    network = tf.function(lambda x: model(x, training=False), input_signature=signature)
    x = tf.constant(style[None])
    run = litert(magenta.PREDICTOR_WEIGHTS, threads)
    return [
        ("style predictor int8 (emulated), ours", lambda: network(x).numpy(), 1),
        ("style predictor int8, LiteRT", lambda: run(style[None]), 1),
    ]


def end_to_end_cases():
    """`fast_stylize` as a user calls it: photos one call each, or one call with a list."""
    paths = [data_path(f"photos/{name}.jpg") for name in PHOTOS]
    painting = data_path(STYLE)
    crops = [(255 * square(path, 384)).astype(np.uint8) for path in paths]  # one size: a batch
    vector = nst_utils.style_vector(painting)

    def each(images, style, size=None):
        return lambda: [nst_utils.fast_stylize(image, style, size=size) for image in images]

    def listed(images, style, size=None):
        return lambda: nst_utils.fast_stylize(images, style, size=size)

    return [
        ("fast_stylize 384x384 arrays + style vector, 4 calls", each(crops, vector), 4),
        ("fast_stylize 384x384 arrays + style vector, list of 4", listed(crops, vector), 4),
        ("fast_stylize JPEG photo + painting paths, 4 calls", each(paths, painting, 384), 4),
        ("fast_stylize JPEG photo + painting paths, list of 4", listed(paths, painting, 384), 4),
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
    cases = transfer_cases(content, vector, args.threads)
    cases += predictor_cases(style, args.threads) + end_to_end_cases()
    rows = measure(cases, args.repeats)
    width = max(len(label) for label, _, _ in rows)
    print(f"{'ms per image (384 px photo, 256 px style)':{width}}  median     min")
    for label, median, best in rows:
        print(f"{label:{width}}  {median:6.1f}  {best:6.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
