"""Style transfer: `nst_utils.stylize` against a TF-tutorial-style reference loop, side by side.

The reference is what the TensorFlow style-transfer tutorial teaches: one extractor model that
returns the content activation and the style Gram matrices, a ``@tf.function`` train step with
``GradientTape``, Adam (learning rate 0.02, beta_1 0.99, epsilon 0.1 on a [0, 1] image) and the
image clipped to [0, 1] after every step. Both use the same backbone (HED VGG-16), layers,
weights (alpha 10, beta 40), image size and start image (the content photo), and the same cost
formulas (CONVENTIONS.md).

Printed, per image size:

* time to quality: wall time until the total cost falls to the reference's cost after
  ``--ref-steps`` Adam steps (300), for both, and their ratio (target: ours >= 2x faster);
* per step: ms per forward+backward pass for both (target: ours not slower);
* peak RSS of a separate process that stylises at ``--rss-size`` px (target: < 3 GB).

Timings on a shared machine include contention from other processes; run on an idle one.

    python benchmarks/bench_nst.py [--sizes 256 384] [--ref-steps 300] [--rss-size 512]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import nst_utils  # noqa: E402
from workbook import data_path  # noqa: E402

CONTENT = "photos/bern_from_north.jpg"
STYLE = "art/starry_night.jpg"
ALPHA, BETA = 10.0, 40.0


def reference_run(backbone, content, style, steps):
    """The tutorial-style loop. Returns (final cost, total seconds, seconds per step)."""
    names = [name for name, _ in nst_utils.DEFAULT_STYLE_LAYERS]
    weights = [weight for _, weight in nst_utils.DEFAULT_STYLE_LAYERS]
    layer = nst_utils.DEFAULT_CONTENT_LAYER
    features = nst_utils.feature_extractor(backbone, names, layer)

    def gram(a):  # the same normalised Gram matrix as CONVENTIONS.md's style cost
        n_H, n_W, n_C = a.shape[1], a.shape[2], a.shape[3]
        unrolled = tf.transpose(tf.reshape(a, (-1, n_C)))
        return tf.matmul(unrolled, unrolled, transpose_b=True) / (n_C * n_H * n_W)

    def extractor(image01):  # the tutorial's StyleContentModel: preprocessing inside
        outputs = features([backbone.preprocess(image01 * 255.0)])
        return outputs[layer], [gram(outputs[name]) for name in names]

    start = time.perf_counter()
    content_target, _ = extractor(tf.constant(content[None] / 255.0))
    _, style_targets = extractor(tf.constant(style[None] / 255.0))
    image = tf.Variable(content[None] / 255.0, dtype=tf.float32)
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            content_act, grams = extractor(image)
            J_content = nst_utils.compute_content_cost(content_target, content_act)
            J_style = tf.add_n(
                [
                    w * tf.reduce_sum(tf.square(t - g)) / 4.0
                    for w, t, g in zip(weights, style_targets, grams, strict=True)
                ]
            )
            J = ALPHA * J_content + BETA * J_style
        optimizer.apply_gradients([(tape.gradient(J, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return J

    train_step()  # first step: tracing
    first = time.perf_counter()
    for _ in range(steps - 1):
        train_step()
    end = time.perf_counter()
    final = float(_cost(backbone, content, style, image.numpy()[0] * 255.0))
    return final, end - start, (end - first) / max(steps - 1, 1)


def _cost(backbone, content, style, rgb):
    """Total cost of an RGB image with the public cost functions (the common yardstick)."""
    names = nst_utils.DEFAULT_STYLE_LAYERS
    layer = nst_utils.DEFAULT_CONTENT_LAYER
    features = nst_utils.feature_extractor(backbone, names, layer)
    out = [features([backbone.preprocess(x[None])]) for x in (content, style, rgb)]
    J_content = nst_utils.compute_content_cost(out[0][layer], out[2][layer])
    J_style = nst_utils.compute_style_cost(out[1], out[2], names)
    return nst_utils.total_cost(J_content, J_style, alpha=ALPHA, beta=BETA)


def ours_run(backbone, content, style, size, target, max_steps, optimizer="lbfgs"):
    """`stylize` until its cost reaches ``target``.

    Returns:
        (seconds to reach it or None, seconds per step, step reached or None, final cost).
    """
    times = []
    reached = {}
    start = time.perf_counter()

    def watch(info):
        times.append(time.perf_counter())
        if info.cost <= target and "at" not in reached:
            reached["at"], reached["step"] = time.perf_counter() - start, info.step
            return True
        return False

    image = nst_utils.stylize(
        content,
        style,
        size=size,
        steps=max_steps,
        alpha=ALPHA,
        beta=BETA,
        optimizer=optimizer,
        backbone=backbone,
        callback=watch,
        progress=False,
    )
    per_step = (times[-1] - times[0]) / max(len(times) - 1, 1)
    final = float(_cost(backbone, content, style, image.astype(np.float32)))
    return reached.get("at"), per_step, reached.get("step"), final


def peak_rss(size: int) -> float:
    """Peak resident memory (GB) of a fresh process that stylises at ``size`` px for 3 steps."""
    code = (
        "import resource, nst_utils; from workbook import data_path;"
        f"nst_utils.stylize(data_path({CONTENT!r}), data_path({STYLE!r}), size={size}, steps=3,"
        " progress=False);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return int(out.stdout.strip().splitlines()[-1]) * 1024 / 1e9  # ru_maxrss is in KiB on Linux


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 384])
    parser.add_argument("--ref-steps", type=int, default=300)
    parser.add_argument("--rss-size", type=int, default=512)
    args = parser.parse_args(argv)

    backbone = nst_utils.load_backbone("vgg16_hed")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores; backbone {backbone.name}")
    rows = []
    for size in args.sizes:
        content = nst_utils.load_float_image(data_path(CONTENT), size)
        style = nst_utils.load_float_image(data_path(STYLE), size)
        target, ref_seconds, ref_step = reference_run(backbone, content, style, args.ref_steps)
        ours_seconds, our_step, steps, _ = ours_run(
            backbone, content, style, size, target, max_steps=args.ref_steps
        )
        rows.append((size, target, ref_seconds, ours_seconds, steps, ref_step, our_step))
        print(
            f"{size} px: reference cost after {args.ref_steps} Adam steps {target:.4g} in"
            f" {ref_seconds:.1f} s; stylize (L-BFGS) reached it at step {steps} in"
            f" {ours_seconds if ours_seconds is None else round(ours_seconds, 1)} s",
            flush=True,
        )

    print("\nTime to quality (reference's cost after its last step)")
    print(f"{'size':>5}  {'reference s':>11}  {'ours s':>8}  {'ours steps':>10}  {'speed-up':>8}")
    for size, _, ref_s, our_s, steps, _, _ in rows:
        ratio = f"{ref_s / our_s:.1f}x" if our_s else "not reached"
        our = f"{our_s:.1f}" if our_s else "-"
        print(f"{size:>5}  {ref_s:>11.1f}  {our:>8}  {steps or '-':>10}  {ratio:>8}")
    print("\nPer step (one forward + backward pass)")
    print(f"{'size':>5}  {'reference ms':>12}  {'ours ms':>8}  {'ours/ref':>8}")
    for size, *_, ref_step, our_step in rows:
        print(
            f"{size:>5}  {ref_step * 1e3:>12.0f}  {our_step * 1e3:>8.0f}"
            f"  {our_step / ref_step:>8.2f}"
        )
    rss = peak_rss(args.rss_size)
    print(f"\nPeak RSS of stylize at {args.rss_size} px: {rss:.2f} GB (limit 3 GB)")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print(f"(this benchmark process peaked at {self_rss:.2f} GB)")


if __name__ == "__main__":
    main()
